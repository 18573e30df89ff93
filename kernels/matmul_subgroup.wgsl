// Batched matmul out[t] = op(A[t]) @ op(B[t]) tuned for lavapipe: subgroups of exactly 8 lanes,
// consecutive in local_invocation_index (the variant refuses other devices).
//
// Each 8-lane subgroup owns a tile of R = 8 * RL rows and 32 columns of the output (RL, rows per
// lane, is 2 or, with TALL, 4): lane l keeps columns 4l..4l+3 of all R rows (R vec4 accumulators,
// plain locals, named c<lane><j> after the lane that loads the row), loads rows RL*l .. RL*l+RL-1
// of the A tile (4 values along k each) and receives the other rows from their owners by
// subgroupBroadcast. Loads, not arithmetic, limit kernels on lavapipe, and this shares every
// loaded A value among 8 lanes; the 32-row tile (TALL) feeds each loaded B value to twice the
// rows (the 'subgroup32' variant): in interleaved runs here 1.2-1.26x faster than 16-row tiles
// at 1024^3, 2048^3 and [25088x96]x[96x288], about even on other Swin-T Linear shapes, which
// groups of 8 tile rows (below) then made 1.07-1.3x faster.
//
// Transposed operands come in as strides: A(row, k) = lhs[a_bs * t + row * a_rs + k * a_ks],
// B(k, col) = rhs[b_bs * t + k * b_ks + col * b_cs]. Rows and columns past the edge are clamped
// on load and masked on store; the k tail (K mod 4) is read with bounds checks.
//
// GROUP_M (an override): tiles are taken in groups of that many tile rows, column by column
// within a group (1.5x at 2048^3 here: panels of A and B stay in the CPU caches). The TS side
// keeps a group at 256 rows of A: 16 tiles of 16 rows, 8 of 32 (TALL).
//
// A_VEC and B_VEC (overrides) read A and B as vec4 where the operands allow it: one load per 4
// values instead of 4, measured 1.5-2x faster here. `lhs4` and `rhs4` are then the same buffers as
// `lhs` and `rhs` (read-only bindings may alias). A_VEC 1: A untransposed, k a multiple of 4 (a
// row's next 4 values along k); 2: A transposed, m a multiple of 4 (4 rows at one k). B_VEC 1: B
// untransposed, n a multiple of 4 (a lane's 4 columns at one k); 2: B transposed, k a multiple of
// 4 (one column's next 4 values along k). Batch strides must be multiples of 4 too.
//
// C_VEC (an override; n a multiple of 4): each lane stores its 4 columns of a row as one vec4
// through `dst4` and `pre4` (then bound to the output and the pre-activations, and `dst` and `pre`
// to dummies; the other way round otherwise). lavapipe pays a per-lane cost for each store
// statement, so this pays it once per 4 values: the stores were a third of a K = 32 Linear's time
// here, and vec4 stores made the Linear shapes 1.13-1.8x faster (docs/lavapipe-kernels.md).
//
// EPILOGUE (an override, so the unused branches compile away): 0 stores the product; 1 stores
// product + bias[col]; 2 adds relu; 3 adds gelu (erf form). With SAVE_PRE the pre-activation
// z = product + bias also goes to `pre` (the backward of gelu needs it). `bias` and `pre` are
// bound to a small dummy buffer when unused.
enable subgroups;
// the early return of subgroups without a tile is uniform per subgroup, which the analysis cannot see
diagnostic(off, subgroup_uniformity);

override WG: u32 = 64u; // 8 subgroups of 8 lanes
override EPILOGUE: u32 = 0u;
override A_VEC: u32 = 0u;
override B_VEC: u32 = 0u;
override GROUP_M: u32 = 16u;
override SAVE_PRE: bool = false;
/** 32-row tiles (4 rows of A per lane) instead of 16 */
override TALL: bool = false;
/** split-K (p.splits > 1): the slice index carries the chunk of K */
override SPLIT: bool = false;
override C_VEC: bool = false;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  tiles_n: u32,
  tiles: u32,
  a_rs: u32,
  a_ks: u32,
  b_ks: u32,
  b_cs: u32,
  a_bs: u32,
  b_bs: u32,
  c_bs: u32,
  batches: u32,
  // split-K: K in `splits` chunks of `kchunk` (a multiple of 4), each chunk's product to its own
  // [m, n] slice of dst (batch-major), summed by reduce.wgsl's sum_axis; 1 and k when K is not split
  splits: u32,
  kchunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;
@group(0) @binding(6) var<storage, read> lhs4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> rhs4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dst4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> pre4: array<vec4<f32>>;

fn mac(acc: vec4<f32>, av: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return acc + av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
}

fn load_a(base: u32, kk: u32) -> vec4<f32> {
  return vec4<f32>(lhs[base + kk * p.a_ks], lhs[base + (kk + 1u) * p.a_ks], lhs[base + (kk + 2u) * p.a_ks], lhs[base + (kk + 3u) * p.a_ks]);
}

fn load_b(base: u32, cols: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(rhs[base + cols.x], rhs[base + cols.y], rhs[base + cols.z], rhs[base + cols.w]);
}

fn a_at(base: u32, kk: u32) -> f32 {
  return select(0.0, lhs[base + min(kk, p.k - 1u) * p.a_ks], kk < p.k);
}

fn b_row(base: u32, cols: vec4<u32>, kk: u32) -> vec4<f32> {
  let v = load_b(base + min(kk, p.k - 1u) * p.b_ks, cols);
  return select(vec4<f32>(0.0), v, kk < p.k);
}

const SQRT1_2: f32 = 0.7071067811865476;

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26), as in unary.wgsl.
fn erf_approx(v: f32) -> f32 {
  let s = sign(v);
  let x = abs(v);
  let q = 1.0 / (1.0 + 0.3275911 * x);
  let poly = q * (0.254829592 + q * (-0.284496736 + q * (1.421413741 + q * (-1.453152027 + q * 1.061405429))));
  return s * (1.0 - poly * exp(-x * x));
}

/** The activation of a pre-activation z = product + bias (EPILOGUE 1: none). */
fn act(z: f32) -> f32 {
  switch EPILOGUE {
    case 2u: { return max(z, 0.0); }
    case 3u: { return 0.5 * z * (1.0 + erf_approx(z * SQRT1_2)); }
    default: { return z; }
  }
}

fn finish(o: u32, b: f32, v: f32) {
  if (EPILOGUE == 0u) {
    dst[o] = v;
    return;
  }
  let z = v + b;
  if (SAVE_PRE) {
    pre[o] = z;
  }
  dst[o] = act(z);
}

// b: the bias of the 4 columns (read once per tile: a load per stored value made the epilogue
// of a K = 32 Linear cost about a third of its k loop here)
fn store(cbase: u32, row: u32, col: u32, b: vec4<f32>, v: vec4<f32>) {
  if (row >= p.m) {
    return;
  }
  let o = cbase + row * p.n + col;
  if (C_VEC) {
    // n is a multiple of 4, so a lane's 4 columns are all in or all out
    if (col < p.n) {
      if (EPILOGUE == 0u) {
        dst4[o / 4u] = v;
      } else {
        let z = v + b;
        if (SAVE_PRE) {
          pre4[o / 4u] = z;
        }
        dst4[o / 4u] = vec4<f32>(act(z.x), act(z.y), act(z.z), act(z.w));
      }
    }
    return;
  }
  if (col < p.n) { finish(o, b.x, v.x); }
  if (col + 1u < p.n) { finish(o + 1u, b.y, v.y); }
  if (col + 2u < p.n) { finish(o + 2u, b.z, v.z); }
  if (col + 3u < p.n) { finish(o + 3u, b.w, v.w); }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  // tile and slice (batch and K chunk) of this subgroup; slices are spread over y and z when
  // there are more than y allows
  let tile = wid.x * (WG / 8u) + li / 8u;
  let slice = wid.y + wid.z * nwg.y;
  let valid = tile < p.tiles && slice < p.batches * p.splits;
  // Subgroups past the last tile leave at once (all lanes together, so the subgroup operations of
  // the others stay in uniform control flow); with few tiles they used to compute clamped copies.
  if (!valid) {
    return;
  }
  var batch = slice;
  var k0 = 0u;
  var k1 = p.k;
  if (SPLIT) {
    batch = slice / p.splits;
    k0 = (slice % p.splits) * p.kchunk;
    k1 = min(p.k, k0 + p.kchunk);
  }
  // tiles are visited in groups of GROUP_M rows, column by column within a group, so that tiles
  // running close in time share panels of A and B in the CPU caches
  let tiles_m = p.tiles / p.tiles_n;
  let group = tile / (GROUP_M * p.tiles_n);
  let first = group * GROUP_M;
  let rows_in_group = min(GROUP_M, tiles_m - first);
  let within = tile - group * GROUP_M * p.tiles_n;
  let rl = select(2u, 4u, TALL);
  let row0 = (first + within % rows_in_group) * 8u * rl;
  let col = (within / rows_in_group) * 32u + lane * 4u;
  let abase0 = batch * p.a_bs + min(row0 + rl * lane + 0u, p.m - 1u) * p.a_rs;
  let abase1 = batch * p.a_bs + min(row0 + rl * lane + 1u, p.m - 1u) * p.a_rs;
  let abase2 = batch * p.a_bs + min(row0 + rl * lane + 2u, p.m - 1u) * p.a_rs;
  let abase3 = batch * p.a_bs + min(row0 + rl * lane + 3u, p.m - 1u) * p.a_rs;
  let bbase = batch * p.b_bs;
  // offsets of this lane's 4 columns, clamped so that loads stay in range (the store masks them)
  let nl = p.n - 1u;
  let cols = vec4<u32>(min(col, nl), min(col + 1u, nl), min(col + 2u, nl), min(col + 3u, nl)) * p.b_cs;
  // B_VEC 1 (n a multiple of 4, contiguous rows): the vec4 index of the same columns
  let col4 = bbase / 4u + min(col, p.n - 4u) / 4u;
  let bstep = p.b_ks / 4u;
  // A_VEC 2 (A transposed, m a multiple of 4): the first of the 4 rows whose vec4 holds this
  // lane's rows (all 4 of them with TALL, 2 of them at `odd` otherwise), kept inside the matrix
  let odd = !TALL && (lane & 1u) == 1u;
  let arow4 = batch * p.a_bs + min(row0 + select(4u * (lane / 2u), 4u * lane, TALL), p.m - 4u);
  var c00 = vec4<f32>(0.0);
  var c01 = vec4<f32>(0.0);
  var c02 = vec4<f32>(0.0);
  var c03 = vec4<f32>(0.0);
  var c10 = vec4<f32>(0.0);
  var c11 = vec4<f32>(0.0);
  var c12 = vec4<f32>(0.0);
  var c13 = vec4<f32>(0.0);
  var c20 = vec4<f32>(0.0);
  var c21 = vec4<f32>(0.0);
  var c22 = vec4<f32>(0.0);
  var c23 = vec4<f32>(0.0);
  var c30 = vec4<f32>(0.0);
  var c31 = vec4<f32>(0.0);
  var c32 = vec4<f32>(0.0);
  var c33 = vec4<f32>(0.0);
  var c40 = vec4<f32>(0.0);
  var c41 = vec4<f32>(0.0);
  var c42 = vec4<f32>(0.0);
  var c43 = vec4<f32>(0.0);
  var c50 = vec4<f32>(0.0);
  var c51 = vec4<f32>(0.0);
  var c52 = vec4<f32>(0.0);
  var c53 = vec4<f32>(0.0);
  var c60 = vec4<f32>(0.0);
  var c61 = vec4<f32>(0.0);
  var c62 = vec4<f32>(0.0);
  var c63 = vec4<f32>(0.0);
  var c70 = vec4<f32>(0.0);
  var c71 = vec4<f32>(0.0);
  var c72 = vec4<f32>(0.0);
  var c73 = vec4<f32>(0.0);
  for (var kk = k0; kk < k1; kk += 4u) {
    var a0: vec4<f32>;
    var a1: vec4<f32>;
    var a2: vec4<f32>;
    var a3: vec4<f32>;
    var b0: vec4<f32>;
    var b1: vec4<f32>;
    var b2: vec4<f32>;
    var b3: vec4<f32>;
    // (k is a multiple of 4 with A_VEC 1 or B_VEC 2: no tail, and the test folds away)
    if (A_VEC == 1u || B_VEC == 2u || kk + 4u <= k1) {
      if (A_VEC == 1u) {
        a0 = lhs4[(abase0 + kk) / 4u];
        a1 = lhs4[(abase1 + kk) / 4u];
        if (TALL) {
          a2 = lhs4[(abase2 + kk) / 4u];
          a3 = lhs4[(abase3 + kk) / 4u];
        }
      } else if (A_VEC == 2u) {
        // A transposed: 4 consecutive rows at each of k .. k+3, one vec4 each; the block's
        // transpose (its rows along k) is free here, where vector components are separate registers
        let rows = transpose(mat4x4<f32>(
          lhs4[(arow4 + kk * p.a_ks) / 4u],
          lhs4[(arow4 + (kk + 1u) * p.a_ks) / 4u],
          lhs4[(arow4 + (kk + 2u) * p.a_ks) / 4u],
          lhs4[(arow4 + (kk + 3u) * p.a_ks) / 4u]));
        if (TALL) {
          a0 = rows[0];
          a1 = rows[1];
          a2 = rows[2];
          a3 = rows[3];
        } else {
          // 2 rows per lane: odd lanes take the upper half of the block
          a0 = select(rows[0], rows[2], odd);
          a1 = select(rows[1], rows[3], odd);
        }
      } else {
        a0 = load_a(abase0, kk);
        a1 = load_a(abase1, kk);
        if (TALL) {
          a2 = load_a(abase2, kk);
          a3 = load_a(abase3, kk);
        }
      }
      if (B_VEC == 1u) {
        let bi = col4 + kk * bstep;
        b0 = rhs4[bi];
        b1 = rhs4[bi + bstep];
        b2 = rhs4[bi + 2u * bstep];
        b3 = rhs4[bi + 3u * bstep];
      } else if (B_VEC == 2u) {
        // B transposed: each of this lane's 4 columns at k .. k+3, one vec4 each
        let ks = transpose(mat4x4<f32>(
          rhs4[(bbase + cols.x + kk) / 4u],
          rhs4[(bbase + cols.y + kk) / 4u],
          rhs4[(bbase + cols.z + kk) / 4u],
          rhs4[(bbase + cols.w + kk) / 4u]));
        b0 = ks[0];
        b1 = ks[1];
        b2 = ks[2];
        b3 = ks[3];
      } else {
        b0 = load_b(bbase + kk * p.b_ks, cols);
        b1 = load_b(bbase + (kk + 1u) * p.b_ks, cols);
        b2 = load_b(bbase + (kk + 2u) * p.b_ks, cols);
        b3 = load_b(bbase + (kk + 3u) * p.b_ks, cols);
      }
    } else {
      // the k tail (k mod 4 values), read with bounds checks
      a0 = vec4<f32>(a_at(abase0, kk), a_at(abase0, kk + 1u), a_at(abase0, kk + 2u), a_at(abase0, kk + 3u));
      a1 = vec4<f32>(a_at(abase1, kk), a_at(abase1, kk + 1u), a_at(abase1, kk + 2u), a_at(abase1, kk + 3u));
      if (TALL) {
        a2 = vec4<f32>(a_at(abase2, kk), a_at(abase2, kk + 1u), a_at(abase2, kk + 2u), a_at(abase2, kk + 3u));
        a3 = vec4<f32>(a_at(abase3, kk), a_at(abase3, kk + 1u), a_at(abase3, kk + 2u), a_at(abase3, kk + 3u));
      }
      b0 = b_row(bbase, cols, kk);
      b1 = b_row(bbase, cols, kk + 1u);
      b2 = b_row(bbase, cols, kk + 2u);
      b3 = b_row(bbase, cols, kk + 3u);
    }
    c00 = mac(c00, subgroupBroadcast(a0, 0u), b0, b1, b2, b3);
    c01 = mac(c01, subgroupBroadcast(a1, 0u), b0, b1, b2, b3);
    c10 = mac(c10, subgroupBroadcast(a0, 1u), b0, b1, b2, b3);
    c11 = mac(c11, subgroupBroadcast(a1, 1u), b0, b1, b2, b3);
    c20 = mac(c20, subgroupBroadcast(a0, 2u), b0, b1, b2, b3);
    c21 = mac(c21, subgroupBroadcast(a1, 2u), b0, b1, b2, b3);
    c30 = mac(c30, subgroupBroadcast(a0, 3u), b0, b1, b2, b3);
    c31 = mac(c31, subgroupBroadcast(a1, 3u), b0, b1, b2, b3);
    c40 = mac(c40, subgroupBroadcast(a0, 4u), b0, b1, b2, b3);
    c41 = mac(c41, subgroupBroadcast(a1, 4u), b0, b1, b2, b3);
    c50 = mac(c50, subgroupBroadcast(a0, 5u), b0, b1, b2, b3);
    c51 = mac(c51, subgroupBroadcast(a1, 5u), b0, b1, b2, b3);
    c60 = mac(c60, subgroupBroadcast(a0, 6u), b0, b1, b2, b3);
    c61 = mac(c61, subgroupBroadcast(a1, 6u), b0, b1, b2, b3);
    c70 = mac(c70, subgroupBroadcast(a0, 7u), b0, b1, b2, b3);
    c71 = mac(c71, subgroupBroadcast(a1, 7u), b0, b1, b2, b3);
    if (TALL) {
      c02 = mac(c02, subgroupBroadcast(a2, 0u), b0, b1, b2, b3);
      c03 = mac(c03, subgroupBroadcast(a3, 0u), b0, b1, b2, b3);
      c12 = mac(c12, subgroupBroadcast(a2, 1u), b0, b1, b2, b3);
      c13 = mac(c13, subgroupBroadcast(a3, 1u), b0, b1, b2, b3);
      c22 = mac(c22, subgroupBroadcast(a2, 2u), b0, b1, b2, b3);
      c23 = mac(c23, subgroupBroadcast(a3, 2u), b0, b1, b2, b3);
      c32 = mac(c32, subgroupBroadcast(a2, 3u), b0, b1, b2, b3);
      c33 = mac(c33, subgroupBroadcast(a3, 3u), b0, b1, b2, b3);
      c42 = mac(c42, subgroupBroadcast(a2, 4u), b0, b1, b2, b3);
      c43 = mac(c43, subgroupBroadcast(a3, 4u), b0, b1, b2, b3);
      c52 = mac(c52, subgroupBroadcast(a2, 5u), b0, b1, b2, b3);
      c53 = mac(c53, subgroupBroadcast(a3, 5u), b0, b1, b2, b3);
      c62 = mac(c62, subgroupBroadcast(a2, 6u), b0, b1, b2, b3);
      c63 = mac(c63, subgroupBroadcast(a3, 6u), b0, b1, b2, b3);
      c72 = mac(c72, subgroupBroadcast(a2, 7u), b0, b1, b2, b3);
      c73 = mac(c73, subgroupBroadcast(a3, 7u), b0, b1, b2, b3);
    }
  }
  let cbase = slice * p.c_bs;
  var bv = vec4<f32>(0.0);
  if (EPILOGUE != 0u) {
    bv = vec4<f32>(bias[min(col, nl)], bias[min(col + 1u, nl)], bias[min(col + 2u, nl)], bias[min(col + 3u, nl)]);
  }
  store(cbase, row0 + rl * 0u, col, bv, c00);
  store(cbase, row0 + rl * 0u + 1u, col, bv, c01);
  store(cbase, row0 + rl * 1u, col, bv, c10);
  store(cbase, row0 + rl * 1u + 1u, col, bv, c11);
  store(cbase, row0 + rl * 2u, col, bv, c20);
  store(cbase, row0 + rl * 2u + 1u, col, bv, c21);
  store(cbase, row0 + rl * 3u, col, bv, c30);
  store(cbase, row0 + rl * 3u + 1u, col, bv, c31);
  store(cbase, row0 + rl * 4u, col, bv, c40);
  store(cbase, row0 + rl * 4u + 1u, col, bv, c41);
  store(cbase, row0 + rl * 5u, col, bv, c50);
  store(cbase, row0 + rl * 5u + 1u, col, bv, c51);
  store(cbase, row0 + rl * 6u, col, bv, c60);
  store(cbase, row0 + rl * 6u + 1u, col, bv, c61);
  store(cbase, row0 + rl * 7u, col, bv, c70);
  store(cbase, row0 + rl * 7u + 1u, col, bv, c71);
  if (TALL) {
    store(cbase, row0 + 2u, col, bv, c02);
    store(cbase, row0 + 3u, col, bv, c03);
    store(cbase, row0 + 6u, col, bv, c12);
    store(cbase, row0 + 7u, col, bv, c13);
    store(cbase, row0 + 10u, col, bv, c22);
    store(cbase, row0 + 11u, col, bv, c23);
    store(cbase, row0 + 14u, col, bv, c32);
    store(cbase, row0 + 15u, col, bv, c33);
    store(cbase, row0 + 18u, col, bv, c42);
    store(cbase, row0 + 19u, col, bv, c43);
    store(cbase, row0 + 22u, col, bv, c52);
    store(cbase, row0 + 23u, col, bv, c53);
    store(cbase, row0 + 26u, col, bv, c62);
    store(cbase, row0 + 27u, col, bv, c63);
    store(cbase, row0 + 30u, col, bv, c72);
    store(cbase, row0 + 31u, col, bv, c73);
  }
}

