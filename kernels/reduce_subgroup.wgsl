// Reductions along the last axis, row-per-subgroup variant (needs the `subgroups` feature; the
// plain variant and the backward kernels are in kernels/reduce.wgsl, with the same math).
// LANES invocations work on one row (lane l reads columns l, l + LANES, ...) and combine with
// subgroup operations; a workgroup of WG = LANES * ROWS invocations holds ROWS rows. The TS side
// uses ROWS > 1 only where every subgroup has exactly LANES invocations, and ROWS = 1 with
// LANES = the smallest subgroup size elsewhere, so that a row never spans two subgroups.
//
//   sum_rows   out[s] = scale * sum of x over segment s = (row r, chunk c): columns
//              [c * chunk, min(cols, (c + 1) * chunk)) of row r, r = s / nchunks, c = s % nchunks
//   max_rows   values and first index of each row's maximum; a NaN wins (its first index)
//
// Rows past the end are clamped to the last row and not written, instead of returning early, so
// that every subgroup operation stays in uniform control flow. Groups fold into y as
// g = wid.x + wid.y * nwg.x.

enable subgroups;

override LANES: u32 = 8u;
override ROWS: u32 = 1u;
override WG: u32 = 8u;

const NONE: u32 = 0xffffffffu;

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

struct SumParams {
  segs: u32,
  cols: u32,
  chunk: u32,
  nchunks: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> sp: SumParams;
@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> sout: array<f32>;

@compute @workgroup_size(WG)
fn sum_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lane = li % LANES;
  let want = (wid.x + wid.y * nwg.x) * ROWS + li / LANES;
  let s = min(want, sp.segs - 1u);
  let r = s / sp.nchunks;
  let c0 = (s % sp.nchunks) * sp.chunk;
  let c1 = min(sp.cols, c0 + sp.chunk);
  let base = r * sp.cols;
  var acc = 0.0;
  for (var c = c0 + lane; c < c1; c += LANES) {
    acc += sx[base + c];
  }
  let total = subgroupAdd(acc);
  if (want < sp.segs && lane == 0u) {
    sout[s] = total * sp.scale;
  }
}

struct MaxParams {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> mp: MaxParams;
@group(0) @binding(1) var<storage, read> mx: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;

@compute @workgroup_size(WG)
fn max_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lane = li % LANES;
  let want = (wid.x + wid.y * nwg.x) * ROWS + li / LANES;
  let r = min(want, mp.rows - 1u);
  let base = r * mp.cols;
  // Each lane: its largest non-NaN value and that value's first column, and its first NaN column.
  var best = 0.0;
  var arg = NONE;
  var first_nan = NONE;
  for (var c = lane; c < mp.cols; c += LANES) {
    let v = mx[base + c];
    // selects rather than branches: lanes do not diverge. Columns rise, so the first NaN and
    // the first of equal maxima stay.
    let v_nan = is_nan(v);
    first_nan = select(first_nan, min(first_nan, c), v_nan);
    let take = !v_nan && (arg == NONE || v > best);
    best = select(best, v, take);
    arg = select(arg, c, take);
  }
  // Lanes without a value must not win: give them the smallest value there is.
  let mine = select(best, -bitcast<f32>(0x7f800000u | (mp.cols & 0u)), arg == NONE);
  let m = subgroupMax(mine);
  let row_arg = subgroupMin(select(NONE, arg, arg != NONE && mine == m));
  let row_nan = subgroupMin(first_nan);
  if (want < mp.rows && lane == 0u) {
    // the clamp only matters if subgroupMax ever returned a value no lane holds (it keeps the read in the row)
    let pick = min(select(row_arg, row_nan, row_nan != NONE), mp.cols - 1u);
    values[r] = mx[base + pick];
    indices[r] = i32(pick);
  }
}
