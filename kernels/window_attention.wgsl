// Windowed multi-head attention, fused (src/ops/window_attention.ts). "bh" is the flat
// (window, head) index, b = bh / heads the window (mask row b % nw), h = bh % heads. Row i of
// (b, h) starts at b * q_sb + h * q_sh + i * q_st in q, k and v (and their gradients), k and v
// from p.k_off and p.v_off in their buffers, and at b * o_sb + h * o_sh + i * o_st in o and dO;
// each row's dh values are contiguous. So q, k, v can be [Bw, heads, T, dh] tensors, the parts of
// a packed [3, Bw, heads, T, dh] qkv, or of Swin's [Bw, T, 3, heads, dh] qkv Linear output read in
// place, with o [Bw, heads, T, dh] or [Bw, T, heads, dh]. Needs subgroups of exactly 8 lanes,
// consecutive in local_invocation_index (the TS side refuses other devices).
//
// Work split: one 8-lane subgroup owns 8 * ROWS consecutive rows (query rows for forward and
// backward_rows, key rows for backward_cols) of one (window, head); lane l owns rows base + l
// (A) and, with ROWS = 2, base + 8 + l (B), clamped to T - 1 past the end (computed, not stored,
// so that subgroup operations stay in uniform control flow). Per-row scalars are vec2 (x: row A,
// y: row B). Each lane keeps its rows of 32 * NC values in private memory (`mine`, `mine2`) and
// its accumulators (`acc`, `acc2`). The rows it meets in the inner loop (k_j, v_j, q_i, dO_i) are
// loaded once per subgroup: lane l loads columns 4l..4l+3 of each 32-column chunk and the others
// receive them by subgroupBroadcast from a constant lane. Loads are the bottleneck on lavapipe;
// this shares each loaded value among 8 lanes, and with ROWS = 2 each broadcast value feeds two
// rows. NC = ceil(dh / 32) (an override, so that the chunk loops unroll); columns past dh read as 0.
//
//   forward        S_i = q_i K^T * scale + bias[h] + mask[b % nw]; o_i = softmax(S_i) V in one pass
//                  over the keys (running maximum m_i and sum, the accumulator rescaled as m_i
//                  grows). With SAVE_P, S and lse_i = m_i + log(sum_j exp(S_ij - m_i)) go to
//                  `saved` ([Bw, heads, T, tp] scores, tp = T rounded up to a multiple of 4, then [Bw, heads, T]
//                  lse) for the backward,
//                  which recomputes P_ij = exp(S_ij - lse_i).
//   backward_rows  dP_ij = dO_i . v_j, dS_ij = P_ij (dP_ij - dO_i . o_i) (stored to `dscore`),
//                  dq_i = scale * sum_j dS_ij k_j
//   backward_cols  dk_j = scale * sum_i dS_ij q_i, dv_j = sum_i P_ij dO_i
// The bias gradient is the sum of dS over windows, done by the TS side with a fixed-order sum.

enable subgroups;

override WG: u32 = 64u;
override NC: u32 = 1u;
/** rows per lane: 1 or 2 */
override ROWS: u32 = 1u;
override HAS_BIAS: bool = false;
override HAS_MASK: bool = false;
override SAVE_P: bool = true;
// VEC4: dh % 4 == 0, so rows start on 16-byte boundaries and the broadcast operands are read as
// vec4 through the `*4` bindings (the same buffers as their scalar twins): one load instead of 4
override VEC4: bool = false;
/** backward_cols: dk and dv are parts of one packed buffer, written through `dk` */
override PACKED: bool = false;

struct Params {
  tasks: u32, // bh count * row blocks
  blocks: u32, // row blocks per (window, head): ceil(t / (8 * ROWS))
  heads: u32,
  t: u32,
  dh: u32,
  nw: u32,
  scale: f32,
  // row stride of the saved scores and of dscore: t rounded up to a multiple of 4, so that the sum
  // of dscore over windows (the bias gradient) reads 4 values at a time
  tp: u32,
  // where k and v start in their buffers (and dk, dv in backward_cols'): 0 for separate tensors;
  // N and 2 N for a packed [3, Bw, heads, T, dh] qkv (q at 0), so that one buffer serves all three
  k_off: u32,
  v_off: u32,
  // strides (in values) of window, head and row in q, k, v and their gradients, and in o and dO
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

/** Where the row log-sum-exps start in the saved buffer: after the [Bw, heads, T, tp] scores. */
fn lseAt(x: Params) -> u32 {
  return (x.tasks / x.blocks) * x.t * x.tp;
}

/** The rows (A, B) of lane `lane` in the block starting at row0, clamped to t - 1. */
fn rowsOf(row0: u32, lane: u32, t: u32) -> vec2<u32> {
  return min(vec2<u32>(row0 + lane, row0 + 8u + lane), vec2<u32>(t - 1u));
}

var<private> mine: array<vec4<f32>, 16>;
var<private> acc: array<vec4<f32>, 16>;
var<private> mine2: array<vec4<f32>, 16>;
var<private> acc2: array<vec4<f32>, 16>;

/** (mine[e], mine2[e]) . b */
fn dot2(e: u32, b: vec4<f32>) -> vec2<f32> {
  if (ROWS == 2u) {
    return vec2<f32>(dot(mine[e], b), dot(mine2[e], b));
  }
  return vec2<f32>(dot(mine[e], b), 0.0);
}

/** (mine, mine2)[chunk] . (the chunk whose 8 parts lanes 0..7 hold in `part`) */
fn bdot(c: u32, part: vec4<f32>) -> vec2<f32> {
  let b = c * 8u;
  return dot2(b, subgroupBroadcast(part, 0u)) + dot2(b + 1u, subgroupBroadcast(part, 1u))
    + dot2(b + 2u, subgroupBroadcast(part, 2u)) + dot2(b + 3u, subgroupBroadcast(part, 3u))
    + dot2(b + 4u, subgroupBroadcast(part, 4u)) + dot2(b + 5u, subgroupBroadcast(part, 5u))
    + dot2(b + 6u, subgroupBroadcast(part, 6u)) + dot2(b + 7u, subgroupBroadcast(part, 7u));
}

/** acc[e] += s.x * b, acc2[e] += s.y * b (to_mine: mine, mine2) */
fn axpy2(to_mine: bool, e: u32, s: vec2<f32>, b: vec4<f32>) {
  if (to_mine) {
    mine[e] += s.x * b;
    if (ROWS == 2u) {
      mine2[e] += s.y * b;
    }
  } else {
    acc[e] += s.x * b;
    if (ROWS == 2u) {
      acc2[e] += s.y * b;
    }
  }
}

/** (acc, acc2)[chunk] (to_mine: mine, mine2) += (s.x, s.y) * (the chunk whose 8 parts lanes 0..7 hold in `part`) */
fn baxpy(to_mine: bool, c: u32, s: vec2<f32>, part: vec4<f32>) {
  let b = c * 8u;
  axpy2(to_mine, b, s, subgroupBroadcast(part, 0u));
  axpy2(to_mine, b + 1u, s, subgroupBroadcast(part, 1u));
  axpy2(to_mine, b + 2u, s, subgroupBroadcast(part, 2u));
  axpy2(to_mine, b + 3u, s, subgroupBroadcast(part, 3u));
  axpy2(to_mine, b + 4u, s, subgroupBroadcast(part, 4u));
  axpy2(to_mine, b + 5u, s, subgroupBroadcast(part, 5u));
  axpy2(to_mine, b + 6u, s, subgroupBroadcast(part, 6u));
  axpy2(to_mine, b + 7u, s, subgroupBroadcast(part, 7u));
}

/**
 * Entry e (columns 4e..4e+3) of the row held in acc (0), mine (1), acc2 (2) or mine2 (3), times s.
 * Called with constant arguments only (the loops over NC and 8 unroll), so that the private
 * arrays are never indexed at run time and stay in registers: one run-time index (an earlier
 * version stored the output column by column) put the whole array in scratch memory, several
 * times slower here.
 */
fn held(which: u32, e: u32, s: f32) -> vec4<f32> {
  switch which {
    case 0u: { return acc[e] * s; }
    case 1u: { return mine[e] * s; }
    case 2u: { return acc2[e] * s; }
    default: { return mine2[e] * s; }
  }
}

// ---- forward ----------------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
@group(0) @binding(7) var<storage, read_write> saved: array<f32>;
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

/** Stores row `which` (0: acc, 2: acc2) times s to `out` at `row` (the live columns only). */
fn storeO(which: u32, row: u32, s: f32) {
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let w = held(which, c * 8u + e, s);
      let col = c * 32u + e * 4u;
      for (var x = 0u; x < 4u; x++) {
        if (col + x < p.dh) {
          o[row + col + x] = w[x];
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let want = (wid.x + wid.y * nwg.x) * (WG / 8u) + li / 8u;
  let task = min(want, p.tasks - 1u);
  let bh = task / p.blocks;
  let row0 = (task % p.blocks) * 8u * ROWS;
  let i = rowsOf(row0, lane, p.t);
  let mat = qBase(p, bh);
  let my_row = mat + i * p.q_st;
  let out_row = oBase(p, bh) + i * p.o_st;
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      mine[c * 8u + e] = fq(my_row.x, c * 32u + e * 4u);
      acc[c * 8u + e] = vec4<f32>(0.0);
      if (ROWS == 2u) {
        mine2[c * 8u + e] = fq(my_row.y, c * 32u + e * 4u);
        acc2[c * 8u + e] = vec4<f32>(0.0);
      }
    }
  }
  let bias_row = ((bh % p.heads) * p.t + i) * p.t;
  let mask_row = (((bh / p.heads) % p.nw) * p.t + i) * p.t;
  let srow = (bh * p.t + i) * p.tp;
  let live = vec2<bool>(want < p.tasks && row0 + lane < p.t, want < p.tasks && row0 + 8u + lane < p.t);
  // one pass over the keys: m is the running maximum, total the running sum of exp(s - m), and
  // acc the running sum of exp(s - m) v_j, rescaled by exp(m_old - m) as m grows
  var m = vec2<f32>(0.0);
  var total = vec2<f32>(0.0);
  for (var j = 0u; j < p.t; j++) {
    var s = vec2<f32>(0.0);
    for (var c = 0u; c < NC; c++) {
      s += bdot(c, fk(p.k_off + mat + j * p.q_st, c * 32u + lane * 4u));
    }
    s *= p.scale;
    if (HAS_BIAS) {
      s.x += bias[bias_row.x + j];
      if (ROWS == 2u) {
        s.y += bias[bias_row.y + j];
      }
    }
    if (HAS_MASK) {
      s.x += mask[mask_row.x + j];
      if (ROWS == 2u) {
        s.y += mask[mask_row.y + j];
      }
    }
    if (SAVE_P) {
      if (live.x) {
        saved[srow.x + j] = s.x;
      }
      if (ROWS == 2u && live.y) {
        saved[srow.y + j] = s.y;
      }
    }
    let first = j == 0u;
    let mn = select(max(m, s), s, first);
    let corr = select(exp(m - mn), vec2<f32>(0.0), first);
    total *= corr;
    m = mn;
    for (var c = 0u; c < NC; c++) {
      for (var x = 0u; x < 8u; x++) {
        acc[c * 8u + x] *= corr.x;
        if (ROWS == 2u) {
          acc2[c * 8u + x] *= corr.y;
        }
      }
    }
    let e = exp(s - m);
    total += e;
    for (var c = 0u; c < NC; c++) {
      baxpy(false, c, e, fv(p.v_off + mat + j * p.q_st, c * 32u + lane * 4u));
    }
  }
  let inv = 1.0 / total;
  let lse = m + log(total);
  if (live.x) {
    if (SAVE_P) {
      saved[lseAt(p) + bh * p.t + i.x] = lse.x;
    }
    storeO(0u, out_row.x, inv.x);
  }
  if (ROWS == 2u && live.y) {
    if (SAVE_P) {
      saved[lseAt(p) + bh * p.t + i.y] = lse.y;
    }
    storeO(2u, out_row.y, inv.y);
  }
}

// ---- backward over query rows: dS and dq --------------------------------------------------------

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> rk: array<f32>;
@group(0) @binding(2) var<storage, read> rv: array<f32>;
@group(0) @binding(3) var<storage, read> ro: array<f32>;
@group(0) @binding(4) var<storage, read> rdo: array<f32>;
@group(0) @binding(5) var<storage, read> rs: array<f32>;
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

/** Stores row `which` (0: acc, 2: acc2) times the scale to dq at `row` (the live columns only). */
fn storeDq(which: u32, row: u32) {
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let w = held(which, c * 8u + e, bp.scale);
      let col = c * 32u + e * 4u;
      for (var x = 0u; x < 4u; x++) {
        if (col + x < bp.dh) {
          dq[row + col + x] = w[x];
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let want = (wid.x + wid.y * nwg.x) * (WG / 8u) + li / 8u;
  let task = min(want, bp.tasks - 1u);
  let bh = task / bp.blocks;
  let row0 = (task % bp.blocks) * 8u * ROWS;
  let i = rowsOf(row0, lane, bp.t);
  let mat = qBase(bp, bh);
  let my_row = mat + i * bp.q_st;
  let out_row = oBase(bp, bh) + i * bp.o_st;
  var dot_o = vec2<f32>(0.0);
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let g = rload(3u, out_row.x, c * 32u + e * 4u);
      mine[c * 8u + e] = g;
      acc[c * 8u + e] = vec4<f32>(0.0);
      dot_o.x += dot(g, rload(2u, out_row.x, c * 32u + e * 4u));
      if (ROWS == 2u) {
        let g2 = rload(3u, out_row.y, c * 32u + e * 4u);
        mine2[c * 8u + e] = g2;
        acc2[c * 8u + e] = vec4<f32>(0.0);
        dot_o.y += dot(g2, rload(2u, out_row.y, c * 32u + e * 4u));
      }
    }
  }
  let prow = (bh * bp.t + i) * bp.tp;
  let live = vec2<bool>(want < bp.tasks && row0 + lane < bp.t, want < bp.tasks && row0 + 8u + lane < bp.t);
  let lse_at = lseAt(bp) + bh * bp.t;
  let row_lse = vec2<f32>(rs[lse_at + i.x], select(0.0, rs[lse_at + i.y], ROWS == 2u));
  for (var j = 0u; j < bp.t; j++) {
    var dp = vec2<f32>(0.0);
    for (var c = 0u; c < NC; c++) {
      dp += bdot(c, rload(1u, bp.v_off + mat + j * bp.q_st, c * 32u + lane * 4u));
    }
    var sij = vec2<f32>(rs[prow.x + j], 0.0);
    if (ROWS == 2u) {
      sij.y = rs[prow.y + j];
    }
    let ds = exp(sij - row_lse) * (dp - dot_o);
    if (live.x) {
      dscore[prow.x + j] = ds.x;
    }
    if (ROWS == 2u && live.y) {
      dscore[prow.y + j] = ds.y;
    }
    for (var c = 0u; c < NC; c++) {
      baxpy(false, c, ds, rload(0u, bp.k_off + mat + j * bp.q_st, c * 32u + lane * 4u));
    }
  }
  if (live.x) {
    storeDq(0u, my_row.x);
  }
  if (ROWS == 2u && live.y) {
    storeDq(2u, my_row.y);
  }
}

// ---- backward over key rows: dk and dv ---------------------------------------------------------

@group(0) @binding(0) var<uniform> cp: Params;
@group(0) @binding(1) var<storage, read> cq: array<f32>;
@group(0) @binding(2) var<storage, read> cdo: array<f32>;
@group(0) @binding(3) var<storage, read> cs: array<f32>;
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

/**
 * Stores key row `j` of dk (from acc / acc2, scaled) and dv (from mine / mine2); second: row B.
 * PACKED: both go to `dk` (the packed [3, Bw, heads, T, dh] gradient, `dv` bound to a dummy).
 */
fn storeDkDv(second: bool, row: u32) {
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      let wk = held(select(0u, 2u, second), c * 8u + e, cp.scale);
      let wv = held(select(1u, 3u, second), c * 8u + e, 1.0);
      let col = c * 32u + e * 4u;
      for (var x = 0u; x < 4u; x++) {
        if (col + x < cp.dh) {
          dk[cp.k_off + row + col + x] = wk[x];
          if (PACKED) {
            dk[cp.v_off + row + col + x] = wv[x];
          } else {
            dv[cp.v_off + row + col + x] = wv[x];
          }
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let want = (wid.x + wid.y * nwg.x) * (WG / 8u) + li / 8u;
  let task = min(want, cp.tasks - 1u);
  let bh = task / cp.blocks;
  let col0 = (task % cp.blocks) * 8u * ROWS;
  let j = rowsOf(col0, lane, cp.t);
  let mat = qBase(cp, bh);
  let omat = oBase(cp, bh);
  // mine / mine2 accumulate dv (dO rows weighted by P), acc / acc2 dk (q rows weighted by dS)
  for (var c = 0u; c < NC; c++) {
    for (var e = 0u; e < 8u; e++) {
      mine[c * 8u + e] = vec4<f32>(0.0);
      acc[c * 8u + e] = vec4<f32>(0.0);
      mine2[c * 8u + e] = vec4<f32>(0.0);
      acc2[c * 8u + e] = vec4<f32>(0.0);
    }
  }
  let pmat = bh * cp.t * cp.tp;
  let lse_at = lseAt(cp) + bh * cp.t;
  for (var i = 0u; i < cp.t; i++) {
    let at = pmat + i * cp.tp;
    let lse = cs[lse_at + i];
    var pij = vec2<f32>(exp(cs[at + j.x] - lse), 0.0);
    var dsij = vec2<f32>(cds[at + j.x], 0.0);
    if (ROWS == 2u) {
      pij.y = exp(cs[at + j.y] - lse);
      dsij.y = cds[at + j.y];
    }
    for (var c = 0u; c < NC; c++) {
      baxpy(false, c, dsij, cload(true, mat + i * cp.q_st, c * 32u + lane * 4u));
      baxpy(true, c, pij, cload(false, omat + i * cp.o_st, c * 32u + lane * 4u));
    }
  }
  if (want >= cp.tasks) {
    return;
  }
  if (col0 + lane < cp.t) {
    storeDkDv(false, mat + j.x * cp.q_st);
  }
  if (ROWS == 2u && col0 + 8u + lane < cp.t) {
    storeDkDv(true, mat + j.y * cp.q_st);
  }
}
