// The AUNCE contrastive loss, fused (../shared/AUNCE_SPEC.md §3-§5): one forward kernel (per AU
// the Gram matrix, the positive selection, the log-sum-exp of the beta-weighted negatives and the
// per-anchor loss), a finalize kernel (per-AU means and the scalar, in a fixed order) and one
// backward kernel (G + Gᵀ from the saved statistics, then dL/dZ = (G + Gᵀ) Z, spec §5.1).
//
// Layout: features z [N, K, D] (N = 2B, D contiguous), row (a, k) at (a*K + k)*D. info holds the
// labels [B, K] then the positive type of every anchor [N, K]; scal holds beta [K, 2] (index
// 2k + y), the AU coefficients coef [K] (ω_k/K or ω_k) and, in the backward, the upstream
// gradient. Saved between the passes (spec §5.8): C [K, N, N] and per (a, k) five numbers:
// log P, log Q (−inf without negatives), ℓ, aux (log S0 of R2) and the selected positive index.
//
// Workgroups are (block of 16 anchors, AU). The two products use the subgroup-sharing tile of
// kernels/matmul_subgroup.wgsl: each 8-lane group owns 16 rows x 32 columns, lane l loads rows
// 2l and 2l+1 of the left operand and receives the other rows from their owners. With SHUFFLE
// (subgroups wider than 8) the values travel by subgroupShuffle inside aligned groups of 8 lanes;
// otherwise (subgroups of exactly 8, as on lavapipe) by subgroupBroadcast from constant lanes.
// The groups of one workgroup walk different column chunks, so their loop counts differ: the
// subgroup_uniformity diagnostic is off because every subgroup op is uniform within its group.
//
// Deterministic: every output element has one writer and every sum runs in a fixed order.
diagnostic(off, subgroup_uniformity);
enable subgroups;

override WG: u32 = 64u;
// D % 4 == 0: features are read as vec4 through `z4` (the same buffer as `z`)
override VEC4: bool = true;
override SHUFFLE: bool = false;

const ROWS: u32 = 16u;
const STAT: u32 = 5u;

struct Params {
  n: u32,
  nb: u32,
  k: u32,
  d: u32,
  // row stride of the backward scratch, N rounded up to a multiple of 4
  np: u32,
  inv_tau: f32,
  log_n: f32,
  eps: f32,
  official: u32,
  r2: u32,
  excl_partner: u32,
  normalize: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> z4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> info: array<u32>;
@group(0) @binding(4) var<storage, read> scal: array<f32>;
@group(0) @binding(5) var<storage, read_write> norms: array<f32>;
@group(0) @binding(6) var<storage, read_write> cmat: array<f32>;
@group(0) @binding(7) var<storage, read_write> stats: array<f32>;
@group(0) @binding(8) var<storage, read_write> hbuf: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> dz: array<f32>;
@group(0) @binding(10) var<storage, read_write> loss: array<f32>;
@group(0) @binding(11) var<storage, read_write> perau: array<f32>;
@group(0) @binding(12) var<storage, read_write> status: array<u32>;

// −inf made at run time (WGSL rejects infinite constants)
fn neg_inf(v: f32) -> f32 {
  return bitcast<f32>(0xff800000u | (bitcast<u32>(v) & 0u));
}

fn finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// log(1 + x) for x in [0, 1], accurate for small x
fn log1p_(x: f32) -> f32 {
  if (x < 1e-4) {
    return x * (1.0 - x * (0.5 - x / 3.0));
  }
  return log(1.0 + x);
}

fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log1p_(exp(-abs(x)));
}

fn row_of(a: u32, au: u32) -> u32 {
  return (a * p.k + au) * p.d;
}

fn label(a: u32, au: u32) -> u32 {
  return info[(a % p.nb) * p.k + au];
}

fn pos_type(a: u32, au: u32) -> u32 {
  return info[p.nb * p.k + a * p.k + au];
}

fn partner(a: u32) -> u32 {
  return select(a - p.nb, a + p.nb, a < p.nb);
}

// views (of N) whose label for this AU is 1
fn ones_of(au: u32) -> u32 {
  var c = 0u;
  for (var i = 0u; i < p.nb; i++) {
    c += info[i * p.k + au];
  }
  return 2u * c;
}

// views (of N) whose label is y, given the count of ones
fn same_of(y: u32, ones: u32) -> u32 {
  return select(p.n - ones, ones, y == 1u);
}

// paper mode: the pool Pos(a) is empty once the partner is excluded, so it falls back to {π(a)}
fn falls_back(same: u32) -> bool {
  return p.official == 0u && p.excl_partner == 1u && same <= 2u;
}

// b in the positive pool of a (same label assumed): official Same(a) includes a; paper Pos(a) not
fn in_pool(a: u32, b: u32, fallback: bool) -> bool {
  if (p.official == 1u) {
    return true;
  }
  if (fallback) {
    return b == partner(a);
  }
  return b != a && (p.excl_partner == 0u || b != partner(a));
}

fn pool_size(same: u32, fallback: bool) -> u32 {
  if (p.official == 1u) {
    return same;
  }
  if (fallback) {
    return 1u;
  }
  return same - 1u - p.excl_partner;
}

// four consecutive features of the row at `base`, from feature i (zeros past D)
fn load4(base: u32, i: u32) -> vec4<f32> {
  if (VEC4) {
    return z4[(base + i) / 4u];
  }
  let last = base + p.d - 1u;
  return vec4<f32>(
    select(0.0, z[min(base + i, last)], i < p.d),
    select(0.0, z[min(base + i + 1u, last)], i + 1u < p.d),
    select(0.0, z[min(base + i + 2u, last)], i + 2u < p.d),
    select(0.0, z[min(base + i + 3u, last)], i + 3u < p.d),
  );
}

struct Tile {
  r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>,
  r4: vec4<f32>, r5: vec4<f32>, r6: vec4<f32>, r7: vec4<f32>,
  r8: vec4<f32>, r9: vec4<f32>, r10: vec4<f32>, r11: vec4<f32>,
  r12: vec4<f32>, r13: vec4<f32>, r14: vec4<f32>, r15: vec4<f32>,
}

fn mac(acc: vec4<f32>, av: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return acc + av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
}

// One step of 4 along the inner dimension: row r of the tile += A(r, 0..3) · B(0..3, columns).
// Lane j of the 8-lane group holds A rows 2j (a0) and 2j + 1 (a1); lane `g0` is the group's first.
fn tile_step(t: Tile, a0: vec4<f32>, a1: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>, g0: u32) -> Tile {
  var o = t;
  if (SHUFFLE) {
    o.r0 = mac(o.r0, subgroupShuffle(a0, g0), b0, b1, b2, b3);
    o.r1 = mac(o.r1, subgroupShuffle(a1, g0), b0, b1, b2, b3);
    o.r2 = mac(o.r2, subgroupShuffle(a0, g0 + 1u), b0, b1, b2, b3);
    o.r3 = mac(o.r3, subgroupShuffle(a1, g0 + 1u), b0, b1, b2, b3);
    o.r4 = mac(o.r4, subgroupShuffle(a0, g0 + 2u), b0, b1, b2, b3);
    o.r5 = mac(o.r5, subgroupShuffle(a1, g0 + 2u), b0, b1, b2, b3);
    o.r6 = mac(o.r6, subgroupShuffle(a0, g0 + 3u), b0, b1, b2, b3);
    o.r7 = mac(o.r7, subgroupShuffle(a1, g0 + 3u), b0, b1, b2, b3);
    o.r8 = mac(o.r8, subgroupShuffle(a0, g0 + 4u), b0, b1, b2, b3);
    o.r9 = mac(o.r9, subgroupShuffle(a1, g0 + 4u), b0, b1, b2, b3);
    o.r10 = mac(o.r10, subgroupShuffle(a0, g0 + 5u), b0, b1, b2, b3);
    o.r11 = mac(o.r11, subgroupShuffle(a1, g0 + 5u), b0, b1, b2, b3);
    o.r12 = mac(o.r12, subgroupShuffle(a0, g0 + 6u), b0, b1, b2, b3);
    o.r13 = mac(o.r13, subgroupShuffle(a1, g0 + 6u), b0, b1, b2, b3);
    o.r14 = mac(o.r14, subgroupShuffle(a0, g0 + 7u), b0, b1, b2, b3);
    o.r15 = mac(o.r15, subgroupShuffle(a1, g0 + 7u), b0, b1, b2, b3);
  } else {
    o.r0 = mac(o.r0, subgroupBroadcast(a0, 0u), b0, b1, b2, b3);
    o.r1 = mac(o.r1, subgroupBroadcast(a1, 0u), b0, b1, b2, b3);
    o.r2 = mac(o.r2, subgroupBroadcast(a0, 1u), b0, b1, b2, b3);
    o.r3 = mac(o.r3, subgroupBroadcast(a1, 1u), b0, b1, b2, b3);
    o.r4 = mac(o.r4, subgroupBroadcast(a0, 2u), b0, b1, b2, b3);
    o.r5 = mac(o.r5, subgroupBroadcast(a1, 2u), b0, b1, b2, b3);
    o.r6 = mac(o.r6, subgroupBroadcast(a0, 3u), b0, b1, b2, b3);
    o.r7 = mac(o.r7, subgroupBroadcast(a1, 3u), b0, b1, b2, b3);
    o.r8 = mac(o.r8, subgroupBroadcast(a0, 4u), b0, b1, b2, b3);
    o.r9 = mac(o.r9, subgroupBroadcast(a1, 4u), b0, b1, b2, b3);
    o.r10 = mac(o.r10, subgroupBroadcast(a0, 5u), b0, b1, b2, b3);
    o.r11 = mac(o.r11, subgroupBroadcast(a1, 5u), b0, b1, b2, b3);
    o.r12 = mac(o.r12, subgroupBroadcast(a0, 6u), b0, b1, b2, b3);
    o.r13 = mac(o.r13, subgroupBroadcast(a1, 6u), b0, b1, b2, b3);
    o.r14 = mac(o.r14, subgroupBroadcast(a0, 7u), b0, b1, b2, b3);
    o.r15 = mac(o.r15, subgroupBroadcast(a1, 7u), b0, b1, b2, b3);
  }
  return o;
}

fn tile_row(t: Tile, r: u32) -> vec4<f32> {
  switch r {
    case 0u: { return t.r0; }
    case 1u: { return t.r1; }
    case 2u: { return t.r2; }
    case 3u: { return t.r3; }
    case 4u: { return t.r4; }
    case 5u: { return t.r5; }
    case 6u: { return t.r6; }
    case 7u: { return t.r7; }
    case 8u: { return t.r8; }
    case 9u: { return t.r9; }
    case 10u: { return t.r10; }
    case 11u: { return t.r11; }
    case 12u: { return t.r12; }
    case 13u: { return t.r13; }
    case 14u: { return t.r14; }
    default: { return t.r15; }
  }
}

fn zero_tile() -> Tile {
  let v = vec4<f32>(0.0);
  return Tile(v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v);
}

// the norm of a feature row clamped below by eps (F.normalize), or 1 without normalisation
fn scale_of(a: u32, au: u32) -> f32 {
  if (p.normalize == 0u) {
    return 1.0;
  }
  return max(norms[a * p.k + au], p.eps);
}

// ‖f_{a,k}‖ for every row (normalize only)
@compute @workgroup_size(WG)
fn row_norms(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n * p.k) {
    return;
  }
  let base = i * p.d;
  var s = 0.0;
  for (var j = 0u; j < p.d; j += 4u) {
    let v = load4(base, j);
    s += dot(v, v);
  }
  norms[i] = sqrt(s);
}

// Per anchor: log P, log Q, ℓ, aux, selected index, from row a of C (spec §3.8, §4.2, §5.7).
fn anchor_stats(a: u32, au: u32) {
  let ya = label(a, au);
  let t = pos_type(a, au);
  let beta = scal[2u * au + ya];
  let it = p.inv_tau;
  let fb = falls_back(same_of(ya, ones_of(au)));
  let row = (au * p.n + a) * p.n;
  var nneg = 0u;
  var cmax = 0.0;
  var cmin = 0.0;
  var best = -1;
  var bestc = 0.0;
  var psum = 0.0;
  var pcount = 0u;
  for (var b = 0u; b < p.n; b++) {
    let c = cmat[row + b];
    if (label(b, au) != ya) {
      cmax = select(c, max(cmax, c), nneg > 0u);
      cmin = select(c, min(cmin, c), nneg > 0u);
      nneg += 1u;
    } else if (in_pool(a, b, fb)) {
      psum += c;
      pcount += 1u;
      // max (and official mean's shift) or min; strict comparisons keep the lowest index on ties
      if (best < 0 || select(c > bestc, c < bestc, t == 3u)) {
        best = i32(b);
        bestc = c;
      }
    }
  }
  var logp = 0.0;
  var idx = -1;
  switch t {
    case 1u: {
      idx = i32(partner(a));
      logp = cmat[row + partner(a)] * it;
    }
    case 2u: {
      logp = psum / f32(pcount) * it;
    }
    case 4u: {
      let m = bestc * it;
      var s = 0.0;
      for (var b = 0u; b < p.n; b++) {
        if (label(b, au) == ya) {
          s += exp(cmat[row + b] * it - m);
        }
      }
      logp = m + log(s) - p.log_n;
    }
    default: {
      idx = best;
      logp = bestc * it;
    }
  }
  var logq = neg_inf(logp);
  var aux = 0.0;
  var ell = 0.0;
  if (nneg > 0u) {
    let sh0 = max(beta * cmax, beta * cmin) * it;
    let sh1 = max((1.0 + beta) * cmax, (1.0 + beta) * cmin) * it;
    var s0 = 0.0;
    var s1 = 0.0;
    for (var b = 0u; b < p.n; b++) {
      if (label(b, au) != ya) {
        let c = cmat[row + b] * it;
        s0 += exp(beta * c - sh0);
        if (p.r2 == 1u) {
          s1 += exp((1.0 + beta) * c - sh1);
        }
      }
    }
    if (p.r2 == 1u) {
      aux = sh0 + log(s0);
      logq = log(f32(nneg)) + sh1 + log(s1) - aux;
    } else {
      logq = sh0 + log(s0);
    }
    ell = softplus(logq - logp);
  }
  let o = (a * p.k + au) * STAT;
  stats[o] = logp;
  stats[o + 1u] = logq;
  stats[o + 2u] = ell;
  stats[o + 3u] = aux;
  stats[o + 4u] = f32(idx);
}

// Forward: C rows of 16 anchors of one AU (saved), then their statistics.
@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sl: u32) {
  let au = wid.y;
  let a0 = wid.x * ROWS;
  let lane = li % 8u;
  let group = li / 8u;
  let g0 = sl - sl % 8u;
  let last = p.n - 1u;
  let ra = row_of(min(a0 + 2u * lane, last), au);
  let rb = row_of(min(a0 + 2u * lane + 1u, last), au);
  let chunks = (p.n + 31u) / 32u;
  for (var j = group; j < chunks; j += WG / 8u) {
    let col = j * 32u + lane * 4u;
    let c0 = row_of(min(col, last), au);
    let c1 = row_of(min(col + 1u, last), au);
    let c2 = row_of(min(col + 2u, last), au);
    let c3 = row_of(min(col + 3u, last), au);
    var t = zero_tile();
    for (var i = 0u; i < p.d; i += 4u) {
      let x0 = load4(c0, i);
      let x1 = load4(c1, i);
      let x2 = load4(c2, i);
      let x3 = load4(c3, i);
      // columns are rows of Z: transpose the 4x4 block so that the update is a vec4 multiply-add
      let b0 = vec4<f32>(x0.x, x1.x, x2.x, x3.x);
      let b1 = vec4<f32>(x0.y, x1.y, x2.y, x3.y);
      let b2 = vec4<f32>(x0.z, x1.z, x2.z, x3.z);
      let b3 = vec4<f32>(x0.w, x1.w, x2.w, x3.w);
      t = tile_step(t, load4(ra, i), load4(rb, i), b0, b1, b2, b3, g0);
    }
    var inv = vec4<f32>(1.0);
    if (p.normalize == 1u) {
      inv = 1.0 / vec4<f32>(scale_of(min(col, last), au), scale_of(min(col + 1u, last), au), scale_of(min(col + 2u, last), au), scale_of(min(col + 3u, last), au));
    }
    for (var r = 0u; r < ROWS; r++) {
      let a = a0 + r;
      if (a < p.n) {
        let v = tile_row(t, r) * inv / scale_of(a, au);
        let o = (au * p.n + a) * p.n + col;
        if (col < p.n) { cmat[o] = v.x; }
        if (col + 1u < p.n) { cmat[o + 1u] = v.y; }
        if (col + 2u < p.n) { cmat[o + 2u] = v.z; }
        if (col + 3u < p.n) { cmat[o + 3u] = v.w; }
      }
    }
  }
  storageBarrier();
  if (li < ROWS && a0 + li < p.n) {
    anchor_stats(a0 + li, au);
  }
}

// Per-AU means over the anchors, the scalar loss, and the first anchor whose feature is not
// finite (C_aa carries it), in fixed order.
@compute @workgroup_size(WG)
fn finalize(@builtin(local_invocation_index) li: u32) {
  for (var au = li; au < p.k; au += WG) {
    var s = 0.0;
    var bad = p.n;
    for (var a = 0u; a < p.n; a++) {
      s += stats[(a * p.k + au) * STAT + 2u];
      if (bad == p.n && !finite(cmat[(au * p.n + a) * p.n + a])) {
        bad = a;
      }
    }
    perau[au] = s / f32(p.n);
    status[au] = bad;
  }
  storageBarrier();
  if (li == 0u) {
    var total = 0.0;
    for (var au = 0u; au < p.k; au++) {
      total += scal[2u * p.k + au] * perau[au];
    }
    loss[0] = total;
  }
}

struct Anchor {
  y: u32,
  t: u32,
  beta: f32,
  logp: f32,
  logq: f32,
  logd: f32,
  aux: f32,
  idx: i32,
  fb: bool,
  m: u32,
  nneg: u32,
  g: f32,
  q: f32,
}

fn anchor_of(a: u32, au: u32, g: f32, ones: u32) -> Anchor {
  let o = (a * p.k + au) * STAT;
  var an: Anchor;
  an.y = label(a, au);
  an.t = pos_type(a, au);
  an.beta = scal[2u * au + an.y];
  an.logp = stats[o];
  an.logq = stats[o + 1u];
  an.logd = an.logp + stats[o + 2u];
  an.aux = stats[o + 3u];
  an.idx = i32(stats[o + 4u]);
  let same = same_of(an.y, ones);
  an.fb = falls_back(same);
  an.m = pool_size(same, an.fb);
  an.nneg = p.n - same;
  an.g = g;
  an.q = select(0.0, exp(an.logq - an.logd), an.nneg > 0u);
  return an;
}

// G_ab = ∂L/∂c_ab for anchor a (spec §5.1 box; R2 §5.5), c = C_ab
fn g_entry(an: Anchor, a: u32, b: u32, yb: u32, c: f32) -> f32 {
  let it = p.inv_tau;
  if (yb != an.y) {
    if (p.r2 == 0u) {
      return an.g * an.beta * it * exp(an.beta * c * it - an.logd);
    }
    let logs1 = an.logq - log(f32(an.nneg)) + an.aux;
    let b1 = 1.0 + an.beta;
    return an.g * an.q * it * (b1 * exp(b1 * c * it - logs1) - an.beta * exp(an.beta * c * it - an.aux));
  }
  var w = 0.0;
  switch an.t {
    case 2u: {
      w = select(0.0, 1.0 / f32(an.m), in_pool(a, b, an.fb));
    }
    case 4u: {
      w = exp(c * it - an.logp - p.log_n);
    }
    default: {
      w = select(0.0, 1.0, i32(b) == an.idx);
    }
  }
  return -an.g * an.q * it * w;
}

// H_ab = G_ab + G_ba for one b (zero past N), with the normalisation backward folded in
fn h_entry(an: Anchor, a: u32, b: u32, au: u32, g: f32, sa: f32, ones: u32) -> vec2<f32> {
  if (b >= p.n) {
    return vec2<f32>(0.0);
  }
  let c = cmat[(au * p.n + a) * p.n + b];
  let bn = anchor_of(b, au, g, ones);
  let h = g_entry(an, a, b, bn.y, c) + g_entry(bn, b, a, an.y, c);
  // (coefficient on f_b, contribution to Σ_b H_ab C_ab)
  return vec2<f32>(h / (sa * scale_of(b, au)), h * c);
}

// Backward: rows of H = G + Gᵀ for 16 anchors of one AU, then dL/dZ for those rows = H Z.
// With normalisation the inputs are f and z = f / max(‖f‖, eps) (spec §5.6):
// dL/df_a = Σ_b H_ab f_b / (n_a n_b) − (Σ_b H_ab C_ab) f_a / n_a², the last term only if ‖f_a‖ > eps.
@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sl: u32) {
  let au = wid.y;
  let a0 = wid.x * ROWS;
  let np4 = p.np / 4u;
  let g = scal[3u * p.k] * scal[2u * p.k + au] / f32(p.n);
  if (li < ROWS && a0 + li < p.n) {
    let a = a0 + li;
    let ones = ones_of(au);
    let an = anchor_of(a, au, g, ones);
    let sa = scale_of(a, au);
    let hrow = (au * p.n + a) * np4;
    var rowdot = 0.0;
    for (var j = 0u; j < np4; j++) {
      let e0 = h_entry(an, a, 4u * j, au, g, sa, ones);
      let e1 = h_entry(an, a, 4u * j + 1u, au, g, sa, ones);
      let e2 = h_entry(an, a, 4u * j + 2u, au, g, sa, ones);
      let e3 = h_entry(an, a, 4u * j + 3u, au, g, sa, ones);
      rowdot += e0.y + e1.y + e2.y + e3.y;
      hbuf[hrow + j] = vec4<f32>(e0.x, e1.x, e2.x, e3.x);
    }
    if (p.normalize == 1u && norms[a * p.k + au] > p.eps) {
      var v = hbuf[hrow + a / 4u];
      v[a % 4u] -= rowdot / (sa * sa);
      hbuf[hrow + a / 4u] = v;
    }
  }
  storageBarrier();
  let lane = li % 8u;
  let group = li / 8u;
  let g0 = sl - sl % 8u;
  let last = p.n - 1u;
  let ha = (au * p.n + min(a0 + 2u * lane, last)) * np4;
  let hb = (au * p.n + min(a0 + 2u * lane + 1u, last)) * np4;
  let chunks = (p.d + 31u) / 32u;
  for (var j = group; j < chunks; j += WG / 8u) {
    let col = j * 32u + lane * 4u;
    // VEC4: the last chunk's lanes past D read a valid vec4 and store nothing
    let cl = select(col, min(col, p.d - 4u), VEC4);
    var t = zero_tile();
    for (var b = 0u; b < p.np; b += 4u) {
      let x0 = load4(row_of(min(b, last), au), cl);
      let x1 = load4(row_of(min(b + 1u, last), au), cl);
      let x2 = load4(row_of(min(b + 2u, last), au), cl);
      let x3 = load4(row_of(min(b + 3u, last), au), cl);
      t = tile_step(t, hbuf[ha + b / 4u], hbuf[hb + b / 4u], x0, x1, x2, x3, g0);
    }
    for (var r = 0u; r < ROWS; r++) {
      let a = a0 + r;
      if (a < p.n) {
        let v = tile_row(t, r);
        let o = row_of(a, au) + col;
        if (col < p.d) { dz[o] = v.x; }
        if (col + 1u < p.d) { dz[o + 1u] = v.y; }
        if (col + 2u < p.d) { dz[o + 2u] = v.z; }
        if (col + 3u < p.d) { dz[o + 3u] = v.w; }
      }
    }
  }
}
