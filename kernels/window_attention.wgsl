// Windowed multi-head attention, fused (src/ops/window_attention.ts). q, k, v, o are
// [Bw, heads, T, dh] contiguous; "bh" is the flat (window, head) index, b = bh / heads the window
// (mask row b % nw), h = bh % heads. Needs subgroups of exactly 8 lanes, consecutive in
// local_invocation_index (the TS side refuses other devices).
//
// Work split: one 8-lane subgroup owns 8 consecutive rows (query rows for forward and
// backward_rows, key rows for backward_cols) of one (window, head); lane l owns row base + l,
// clamped to T - 1 past the end (computed, not stored, so that subgroup operations stay in
// uniform control flow). Each lane keeps its own row of 32 * NC values in private memory
// (`mine`) and its accumulators (`acc`). The rows it meets in the inner loop (k_j, v_j, q_i, dO_i)
// are loaded once per subgroup: lane l loads columns 4l..4l+3 of each 32-column chunk and the
// others receive them by subgroupBroadcast from a constant lane. Loads are the bottleneck on
// lavapipe; this shares each loaded value among 8 lanes. NC = ceil(dh / 32) (an override, so
// that the chunk loops unroll); columns past dh read as 0.
//
//   forward        S_i = q_i K^T * scale + bias[h] + mask[b % nw]; P_i = softmax(S_i) (row maximum
//                  subtracted); o_i = P_i V. With SAVE_P, P goes to `probs` for the backward.
//   backward_rows  dP_ij = dO_i . v_j, dS_ij = P_ij (dP_ij - dO_i . o_i) (stored to `dscore`),
//                  dq_i = scale * sum_j dS_ij k_j
//   backward_cols  dk_j = scale * sum_i dS_ij q_i, dv_j = sum_i P_ij dO_i
// The bias gradient is the sum of dS over windows, done by the TS side with a fixed-order sum.

enable subgroups;

override WG: u32 = 64u;
override NC: u32 = 1u;
override HAS_BIAS: bool = false;
override HAS_MASK: bool = false;
override SAVE_P: bool = true;
// VEC4: dh % 4 == 0, so rows start on 16-byte boundaries and the broadcast operands are read as
// vec4 through the `*4` bindings (the same buffers as their scalar twins): one load instead of 4
override VEC4: bool = false;

/** largest T: a lane keeps its row of scores in private memory */
const MAX_T: u32 = 64u;
/** 32-column chunks of a row at most (dh <= 64) */
const MAX_NC: u32 = 2u;

struct Params {
  tasks: u32, // bh count * row blocks
  blocks: u32, // row blocks per (window, head): ceil(t / 8)
  heads: u32,
  t: u32,
  dh: u32,
  nw: u32,
  scale: f32,
}

var<private> mine: array<vec4<f32>, 16>;
var<private> acc: array<vec4<f32>, 16>;
var<private> sc: array<f32, MAX_T>;

// ---- forward ----------------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
@group(0) @binding(7) var<storage, read_write> probs: array<f32>;
@group(0) @binding(8) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> v4: array<vec4<f32>>;

/** Columns col..col+3 of the row at `base` of q, k or v (0 past dh). */
fn fq(base: u32, col: u32) -> vec4<f32> {
  let last = base + p.dh - 1u;
  return vec4<f32>(
    select(0.0, q[min(base + col, last)], col < p.dh),
    select(0.0, q[min(base + col + 1u, last)], col + 1u < p.dh),
    select(0.0, q[min(base + col + 2u, last)], col + 2u < p.dh),
    select(0.0, q[min(base + col + 3u, last)], col + 3u < p.dh));
}

fn fk(base: u32, col: u32) -> vec4<f32> {
  if (VEC4) {
    return select(vec4<f32>(0.0), k4[(base + min(col, p.dh - 4u)) / 4u], col < p.dh);
  }
  let last = base + p.dh - 1u;
  return vec4<f32>(
    select(0.0, k[min(base + col, last)], col < p.dh),
    select(0.0, k[min(base + col + 1u, last)], col + 1u < p.dh),
    select(0.0, k[min(base + col + 2u, last)], col + 2u < p.dh),
    select(0.0, k[min(base + col + 3u, last)], col + 3u < p.dh));
}

fn fv(base: u32, col: u32) -> vec4<f32> {
  if (VEC4) {
    return select(vec4<f32>(0.0), v4[(base + min(col, p.dh - 4u)) / 4u], col < p.dh);
  }
  let last = base + p.dh - 1u;
  return vec4<f32>(
    select(0.0, v[min(base + col, last)], col < p.dh),
    select(0.0, v[min(base + col + 1u, last)], col + 1u < p.dh),
    select(0.0, v[min(base + col + 2u, last)], col + 2u < p.dh),
    select(0.0, v[min(base + col + 3u, last)], col + 3u < p.dh));
}

/** mine[chunk] . (the chunk whose 8 parts lanes 0..7 hold in `part`) */
fn bdot(c: u32, part: vec4<f32>) -> f32 {
  let b = c * 8u;
  return dot(mine[b], subgroupBroadcast(part, 0u)) + dot(mine[b + 1u], subgroupBroadcast(part, 1u))
    + dot(mine[b + 2u], subgroupBroadcast(part, 2u)) + dot(mine[b + 3u], subgroupBroadcast(part, 3u))
    + dot(mine[b + 4u], subgroupBroadcast(part, 4u)) + dot(mine[b + 5u], subgroupBroadcast(part, 5u))
    + dot(mine[b + 6u], subgroupBroadcast(part, 6u)) + dot(mine[b + 7u], subgroupBroadcast(part, 7u));
}

/** acc[chunk] += s * (the chunk whose 8 parts lanes 0..7 hold in `part`) */
fn baxpy(c: u32, s: f32, part: vec4<f32>) {
  let b = c * 8u;
  acc[b] += s * subgroupBroadcast(part, 0u);
  acc[b + 1u] += s * subgroupBroadcast(part, 1u);
  acc[b + 2u] += s * subgroupBroadcast(part, 2u);
  acc[b + 3u] += s * subgroupBroadcast(part, 3u);
  acc[b + 4u] += s * subgroupBroadcast(part, 4u);
  acc[b + 5u] += s * subgroupBroadcast(part, 5u);
  acc[b + 6u] += s * subgroupBroadcast(part, 6u);
  acc[b + 7u] += s * subgroupBroadcast(part, 7u);
}

/**
 * Entry e (columns 4e..4e+3) of the row held in `acc` (or `mine` when from_mine), times s. Called
 * with constant e only (the loops over NC and 8 unroll), so that the private arrays are never
 * indexed at run time and stay in registers: one run-time index (an earlier version stored the
 * output column by column) put the whole array in scratch memory, several times slower here.
 */
fn held(from_mine: bool, e: u32, s: f32) -> vec4<f32> {
  if (from_mine) {
    return mine[e] * s;
  }
  return acc[e] * s;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let want = (wid.x + wid.y * nwg.x) * (WG / 8u) + li / 8u;
  let task = min(want, p.tasks - 1u);
  let bh = task / p.blocks;
  let row0 = (task % p.blocks) * 8u;
  let i = min(row0 + lane, p.t - 1u);
  let mat = bh * p.t * p.dh;
  let my_row = mat + i * p.dh;
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      mine[c * 8u + e] = fq(my_row, c * 32u + e * 4u);
      acc[c * 8u + e] = vec4<f32>(0.0);
    }
  }
  let bias_row = ((bh % p.heads) * p.t + i) * p.t;
  let mask_row = (((bh / p.heads) % p.nw) * p.t + i) * p.t;
  var m = 0.0;
  for (var j = 0u; j < p.t; j++) {
    var s = 0.0;
    for (var c = 0u; c < NC; c++) {
      s += bdot(c, fk(mat + j * p.dh, c * 32u + lane * 4u));
    }
    s *= p.scale;
    if (HAS_BIAS) {
      s += bias[bias_row + j];
    }
    if (HAS_MASK) {
      s += mask[mask_row + j];
    }
    sc[j] = s;
    m = select(max(m, s), s, j == 0u);
  }
  var total = 0.0;
  for (var j = 0u; j < p.t; j++) {
    let e = exp(sc[j] - m);
    sc[j] = e;
    total += e;
  }
  let inv = 1.0 / total;
  let live = want < p.tasks && row0 + lane < p.t;
  let prow = (bh * p.t + i) * p.t;
  for (var j = 0u; j < p.t; j++) {
    let pj = sc[j] * inv;
    if (SAVE_P && live) {
      probs[prow + j] = pj;
    }
    for (var c = 0u; c < NC; c++) {
      baxpy(c, pj, fv(mat + j * p.dh, c * 32u + lane * 4u));
    }
  }
  if (!live) {
    return;
  }
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let w = held(false, c * 8u + e, 1.0);
      let col = c * 32u + e * 4u;
      for (var x = 0u; x < 4u; x++) {
        if (col + x < p.dh) {
          o[my_row + col + x] = w[x];
        }
      }
    }
  }
}

// ---- backward over query rows: dS and dq --------------------------------------------------------

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> rk: array<f32>;
@group(0) @binding(2) var<storage, read> rv: array<f32>;
@group(0) @binding(3) var<storage, read> ro: array<f32>;
@group(0) @binding(4) var<storage, read> rdo: array<f32>;
@group(0) @binding(5) var<storage, read> rp: array<f32>;
@group(0) @binding(6) var<storage, read_write> dscore: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read> rk4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> rv4: array<vec4<f32>>;

fn rget(which: u32, idx: u32) -> f32 {
  switch which {
    case 0u: { return rk[idx]; }
    case 1u: { return rv[idx]; }
    case 2u: { return ro[idx]; }
    default: { return rdo[idx]; }
  }
}

/** Columns col..col+3 of the row at `base` of rk (0), rv (1), ro (2) or rdo (3); 0 past dh. */
fn rload(which: u32, base: u32, col: u32) -> vec4<f32> {
  if (VEC4 && which < 2u) {
    let idx = (base + min(col, bp.dh - 4u)) / 4u;
    if (which == 0u) {
      return select(vec4<f32>(0.0), rk4[idx], col < bp.dh);
    }
    return select(vec4<f32>(0.0), rv4[idx], col < bp.dh);
  }
  let last = base + bp.dh - 1u;
  return vec4<f32>(
    select(0.0, rget(which, min(base + col, last)), col < bp.dh),
    select(0.0, rget(which, min(base + col + 1u, last)), col + 1u < bp.dh),
    select(0.0, rget(which, min(base + col + 2u, last)), col + 2u < bp.dh),
    select(0.0, rget(which, min(base + col + 3u, last)), col + 3u < bp.dh));
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let want = (wid.x + wid.y * nwg.x) * (WG / 8u) + li / 8u;
  let task = min(want, bp.tasks - 1u);
  let bh = task / bp.blocks;
  let row0 = (task % bp.blocks) * 8u;
  let i = min(row0 + lane, bp.t - 1u);
  let mat = bh * bp.t * bp.dh;
  let my_row = mat + i * bp.dh;
  var dot_o = 0.0;
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let g = rload(3u, my_row, c * 32u + e * 4u);
      mine[c * 8u + e] = g;
      acc[c * 8u + e] = vec4<f32>(0.0);
      dot_o += dot(g, rload(2u, my_row, c * 32u + e * 4u));
    }
  }
  let live = want < bp.tasks && row0 + lane < bp.t;
  let prow = (bh * bp.t + i) * bp.t;
  for (var j = 0u; j < bp.t; j++) {
    var dp = 0.0;
    for (var c = 0u; c < NC; c++) {
      dp += bdot(c, rload(1u, mat + j * bp.dh, c * 32u + lane * 4u));
    }
    let ds = rp[prow + j] * (dp - dot_o);
    if (live) {
      dscore[prow + j] = ds;
    }
    for (var c = 0u; c < NC; c++) {
      baxpy(c, ds, rload(0u, mat + j * bp.dh, c * 32u + lane * 4u));
    }
  }
  if (!live) {
    return;
  }
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let w = held(false, c * 8u + e, bp.scale);
      let col = c * 32u + e * 4u;
      for (var x = 0u; x < 4u; x++) {
        if (col + x < bp.dh) {
          dq[my_row + col + x] = w[x];
        }
      }
    }
  }
}

// ---- backward over key rows: dk and dv ---------------------------------------------------------

@group(0) @binding(0) var<uniform> cp: Params;
@group(0) @binding(1) var<storage, read> cq: array<f32>;
@group(0) @binding(2) var<storage, read> cdo: array<f32>;
@group(0) @binding(3) var<storage, read> cprobs: array<f32>;
@group(0) @binding(4) var<storage, read> cds: array<f32>;
@group(0) @binding(5) var<storage, read_write> dk: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv: array<f32>;
@group(0) @binding(7) var<storage, read> cq4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> cdo4: array<vec4<f32>>;

/** Columns col..col+3 of the row at `base` of cq (use_q) or cdo; 0 past dh. */
fn cload(use_q: bool, base: u32, col: u32) -> vec4<f32> {
  if (VEC4) {
    let idx = (base + min(col, cp.dh - 4u)) / 4u;
    if (use_q) {
      return select(vec4<f32>(0.0), cq4[idx], col < cp.dh);
    }
    return select(vec4<f32>(0.0), cdo4[idx], col < cp.dh);
  }
  let last = base + cp.dh - 1u;
  var out = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let idx = min(base + col + e, last);
    if (use_q) {
      out[e] = select(0.0, cq[idx], col + e < cp.dh);
    } else {
      out[e] = select(0.0, cdo[idx], col + e < cp.dh);
    }
  }
  return out;
}

@compute @workgroup_size(WG)
fn backward_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let want = (wid.x + wid.y * nwg.x) * (WG / 8u) + li / 8u;
  let task = min(want, cp.tasks - 1u);
  let bh = task / cp.blocks;
  let col0 = (task % cp.blocks) * 8u;
  let j = min(col0 + lane, cp.t - 1u);
  let mat = bh * cp.t * cp.dh;
  // mine accumulates dv (dO rows weighted by P), acc accumulates dk (q rows weighted by dS)
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      mine[c * 8u + e] = vec4<f32>(0.0);
      acc[c * 8u + e] = vec4<f32>(0.0);
    }
  }
  let pmat = bh * cp.t * cp.t;
  for (var i = 0u; i < cp.t; i++) {
    let pij = cprobs[pmat + i * cp.t + j];
    let dsij = cds[pmat + i * cp.t + j];
    for (var c = 0u; c < NC; c++) {
      baxpy(c, dsij, cload(true, mat + i * cp.dh, c * 32u + lane * 4u));
      let part = cload(false, mat + i * cp.dh, c * 32u + lane * 4u);
      let b = c * 8u;
      mine[b] += pij * subgroupBroadcast(part, 0u);
      mine[b + 1u] += pij * subgroupBroadcast(part, 1u);
      mine[b + 2u] += pij * subgroupBroadcast(part, 2u);
      mine[b + 3u] += pij * subgroupBroadcast(part, 3u);
      mine[b + 4u] += pij * subgroupBroadcast(part, 4u);
      mine[b + 5u] += pij * subgroupBroadcast(part, 5u);
      mine[b + 6u] += pij * subgroupBroadcast(part, 6u);
      mine[b + 7u] += pij * subgroupBroadcast(part, 7u);
    }
  }
  if (want >= cp.tasks || col0 + lane >= cp.t) {
    return;
  }
  let my_row = mat + j * cp.dh;
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let wk = held(false, c * 8u + e, cp.scale);
      let wv = held(true, c * 8u + e, 1.0);
      let col = c * 32u + e * 4u;
      for (var x = 0u; x < 4u; x++) {
        if (col + x < cp.dh) {
          dk[my_row + col + x] = wk[x];
          dv[my_row + col + x] = wv[x];
        }
      }
    }
  }
}
