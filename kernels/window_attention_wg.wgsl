// Windowed multi-head attention, fused, for devices without 8-lane subgroups (GPUs): the
// 'workgroup' kernels of src/ops/window_attention.ts. The same computation, inputs, outputs and
// saved layouts as kernels/window_attention.wgsl (read its header for the formulas), organised
// the way GPUs like it: one workgroup of WG >= T invocations per (window, head); the rows every
// invocation meets (k and v; q and dO in backward_cols) are copied into workgroup memory once,
// then each invocation owns one row (query row i in forward and backward_rows, key row j in
// backward_cols) and loops over the others there. Needs dh % 4 == 0 (rows read as vec4) and
// 2 * T * dh * 4 + 256 bytes of workgroup memory (KV4 = T * dh / 4 sizes the blocks).
//
// On lavapipe these are about 3x slower than the subgroup kernels (forward + backward of Swin-T
// stage 1, 2 images: 85-96 against 31-34 ms; a loop over workgroup memory reads lane by lane there,
// docs/lavapipe-kernels.md); they run there in the tests, for correctness.

override WG: u32 = 64u;
/** vec4s in one [T, dh] block */
override KV4: u32 = 1u;
override HAS_BIAS: bool = false;
override HAS_MASK: bool = false;
override SAVE_P: bool = true;
/** backward_cols: dk and dv are parts of one packed buffer, written through dk4 */
override PACKED: bool = false;

// the Params of kernels/window_attention.wgsl, with its row layout (tasks = (window, head) pairs
// here, blocks = 1); every offset and stride is a multiple of 4 here
struct Params {
  tasks: u32,
  blocks: u32,
  heads: u32,
  t: u32,
  dh: u32,
  nw: u32,
  scale: f32,
  tp: u32,
  k_off: u32,
  v_off: u32,
  q_sb: u32,
  q_sh: u32,
  q_st: u32,
  o_sb: u32,
  o_sh: u32,
  o_st: u32,
}

/** Where row 0 of pair bh starts in q, k and v (before k_off, v_off) and their gradients. */
fn qBase(x: Params, bh: u32) -> u32 {
  return (bh / x.heads) * x.q_sb + (bh % x.heads) * x.q_sh;
}

/** Where row 0 of pair bh starts in o and dO. */
fn oBase(x: Params, bh: u32) -> u32 {
  return (bh / x.heads) * x.o_sb + (bh % x.heads) * x.o_sh;
}

/** The vec4 index of value 4 * e of row r, for a pair whose row 0 starts at `base`, rows `stride` apart. */
fn at4(base: u32, r: u32, stride: u32, e: u32) -> u32 {
  return (base + r * stride) / 4u + e;
}

/** at most 64 rows (T <= WINDOW_ATTENTION_MAX_T), 16 vec4s per row (dh <= 64) */
const MAX_D4 = 16u;

var<workgroup> wa: array<vec4<f32>, KV4>;
var<workgroup> wb: array<vec4<f32>, KV4>;
var<workgroup> wl: array<f32, 64>;

/** The (window, head) of a workgroup (clamped) and whether it is a real one. */
fn pairOf(wid: vec3<u32>, nwg: vec3<u32>, tasks: u32) -> vec2<u32> {
  let raw = wid.x + wid.y * nwg.x;
  return vec2<u32>(min(raw, tasks - 1u), select(0u, 1u, raw < tasks));
}

// ---- forward ----------------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> o4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> saved: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let pair = pairOf(wid, nwg, p.tasks);
  let bh = pair.x;
  let t = p.t;
  let d4 = p.dh / 4u;
  let qb = qBase(p, bh);
  let ob = oBase(p, bh);
  for (var x = li; x < t * d4; x += WG) {
    wa[x] = k4[at4(p.k_off + qb, x / d4, p.q_st, x % d4)];
    wb[x] = v4[at4(p.v_off + qb, x / d4, p.q_st, x % d4)];
  }
  workgroupBarrier();
  let live = pair.y == 1u && li < t;
  let i = min(li, t - 1u);
  var qr: array<vec4<f32>, MAX_D4>;
  var acc: array<vec4<f32>, MAX_D4>;
  for (var e = 0u; e < d4; e++) {
    qr[e] = q4[at4(qb, i, p.q_st, e)] * p.scale;
    acc[e] = vec4<f32>(0.0);
  }
  let brow = ((bh % p.heads) * t + i) * t;
  let mrow = (((bh / p.heads) % p.nw) * t + i) * t;
  let srow = (bh * t + i) * p.tp;
  // one pass over the keys: running maximum m, running sum of exp(s - m), accumulator rescaled
  var m = 0.0;
  var total = 0.0;
  for (var j = 0u; j < t; j++) {
    var s = 0.0;
    for (var e = 0u; e < d4; e++) {
      s += dot(qr[e], wa[j * d4 + e]);
    }
    if (HAS_BIAS) {
      s += bias[brow + j];
    }
    if (HAS_MASK) {
      s += mask[mrow + j];
    }
    if (SAVE_P && live) {
      saved[srow + j] = s;
    }
    let first = j == 0u;
    let mn = select(max(m, s), s, first);
    let corr = select(exp(m - mn), 0.0, first);
    let w = exp(s - mn);
    total = total * corr + w;
    m = mn;
    for (var e = 0u; e < d4; e++) {
      acc[e] = acc[e] * corr + w * wb[j * d4 + e];
    }
  }
  if (live) {
    let inv = 1.0 / total;
    for (var e = 0u; e < d4; e++) {
      o4[at4(ob, i, p.o_st, e)] = acc[e] * inv;
    }
    if (SAVE_P) {
      saved[p.tasks * t * p.tp + bh * t + i] = m + log(total);
    }
  }
}

// ---- backward over query rows: dS and dq --------------------------------------------------------

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> rk4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> rv4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> ro4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> rdo4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> rs: array<f32>;
@group(0) @binding(6) var<storage, read_write> dscore: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let pair = pairOf(wid, nwg, bp.tasks);
  let bh = pair.x;
  let t = bp.t;
  let d4 = bp.dh / 4u;
  let qb = qBase(bp, bh);
  let ob = oBase(bp, bh);
  for (var x = li; x < t * d4; x += WG) {
    wa[x] = rk4[at4(bp.k_off + qb, x / d4, bp.q_st, x % d4)];
    wb[x] = rv4[at4(bp.v_off + qb, x / d4, bp.q_st, x % d4)];
  }
  workgroupBarrier();
  let live = pair.y == 1u && li < t;
  let i = min(li, t - 1u);
  var g: array<vec4<f32>, MAX_D4>;
  var acc: array<vec4<f32>, MAX_D4>;
  var dot_o = 0.0;
  for (var e = 0u; e < d4; e++) {
    g[e] = rdo4[at4(ob, i, bp.o_st, e)];
    dot_o += dot(g[e], ro4[at4(ob, i, bp.o_st, e)]);
    acc[e] = vec4<f32>(0.0);
  }
  let prow = (bh * t + i) * bp.tp;
  let lse = rs[bp.tasks * t * bp.tp + bh * t + i];
  for (var j = 0u; j < t; j++) {
    var dp = 0.0;
    for (var e = 0u; e < d4; e++) {
      dp += dot(g[e], wb[j * d4 + e]);
    }
    let ds = exp(rs[prow + j] - lse) * (dp - dot_o);
    if (live) {
      dscore[prow + j] = ds;
    }
    for (var e = 0u; e < d4; e++) {
      acc[e] += ds * wa[j * d4 + e];
    }
  }
  if (live) {
    for (var e = 0u; e < d4; e++) {
      dq4[at4(qb, i, bp.q_st, e)] = acc[e] * bp.scale;
    }
  }
}

// ---- backward over key rows: dk and dv ---------------------------------------------------------

@group(0) @binding(0) var<uniform> cp: Params;
@group(0) @binding(1) var<storage, read> cq4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> cdo4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> cs: array<f32>;
@group(0) @binding(4) var<storage, read> cds: array<f32>;
@group(0) @binding(5) var<storage, read_write> dk4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dv4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let pair = pairOf(wid, nwg, cp.tasks);
  let bh = pair.x;
  let t = cp.t;
  let d4 = cp.dh / 4u;
  let qb = qBase(cp, bh);
  let ob = oBase(cp, bh);
  for (var x = li; x < t * d4; x += WG) {
    wa[x] = cq4[at4(qb, x / d4, cp.q_st, x % d4)];
    wb[x] = cdo4[at4(ob, x / d4, cp.o_st, x % d4)];
  }
  for (var x = li; x < t; x += WG) {
    wl[x] = cs[cp.tasks * t * cp.tp + bh * t + x];
  }
  workgroupBarrier();
  let live = pair.y == 1u && li < t;
  let j = min(li, t - 1u);
  var dk: array<vec4<f32>, MAX_D4>;
  var dv: array<vec4<f32>, MAX_D4>;
  for (var e = 0u; e < d4; e++) {
    dk[e] = vec4<f32>(0.0);
    dv[e] = vec4<f32>(0.0);
  }
  let pmat = bh * t * cp.tp;
  for (var i = 0u; i < t; i++) {
    let at = pmat + i * cp.tp + j;
    let pij = exp(cs[at] - wl[i]);
    let dsij = cds[at];
    for (var e = 0u; e < d4; e++) {
      dk[e] += dsij * wa[i * d4 + e];
      dv[e] += pij * wb[i * d4 + e];
    }
  }
  if (live) {
    for (var e = 0u; e < d4; e++) {
      dk4[at4(cp.k_off + qb, j, cp.q_st, e)] = dk[e] * cp.scale;
      if (PACKED) {
        dk4[at4(cp.v_off + qb, j, cp.q_st, e)] = dv[e];
      } else {
        dv4[at4(cp.v_off + qb, j, cp.q_st, e)] = dv[e];
      }
    }
  }
}
