// Softmax and log-softmax along the last axis, row-per-subgroup variant (needs the `subgroups`
// feature; the plain variant is kernels/softmax.wgsl, with the same math and bindings).
// LANES invocations work on one row (lane l reads columns l, l + LANES, ...); a workgroup of
// WG = LANES * ROWS invocations holds ROWS rows. The TS side uses ROWS > 1 only where every
// subgroup has exactly LANES invocations, and ROWS = 1 with LANES = the smallest subgroup size
// elsewhere, so that a row never spans two subgroups.
//
//   forward_rows   each lane keeps a running maximum and its sum of exp(x - max); the lanes
//                  combine as M = max over lanes, S = sum of s_lane * exp(m_lane - M)
//                  (-inf, NaN and +inf entries as in kernels/softmax.wgsl)
//   backward_rows  softmax: dx = y * (dy - sum(dy * y)); log-softmax: dx = dy - exp(y) * sum(dy)
//
// Rows past the end are clamped to the last row and not written, instead of returning early, so
// that every subgroup operation stays in uniform control flow. Groups fold into y as
// g = wid.x + wid.y * nwg.x.

enable subgroups;

override LANES: u32 = 8u;
override ROWS: u32 = 1u;
override WG: u32 = 8u;
override LOG: bool = false;

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn forward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lane = li % LANES;
  let want = (wid.x + wid.y * nwg.x) * ROWS + li / LANES;
  let base = min(want, p.rows - 1u) * p.cols;
  let ninf = -bitcast<f32>(0x7f800000u | (p.cols & 0u));
  var m = ninf;
  var s = 0.0;
  var saw_nan = false;
  for (var c = lane; c < p.cols; c += LANES) {
    let v = x[base + c];
    // Branch-free online update (lanes do not diverge): when v raises the maximum, s is
    // rescaled by exp(m - v) and v adds 1; otherwise v adds exp(v - m). v == m adds exactly 1
    // (also for infinities, where exp(inf - inf) would be NaN): while the maximum is -inf, -inf
    // entries count 1 each, and the first finite maximum rescales that count by exp(-inf) = 0;
    // after it, -inf adds exp(-inf) = 0. A NaN raises the flag, whatever it does to s.
    let grow = v > m;
    let e = select(exp(select(v - m, m - v, grow)), 1.0, v == m);
    s = select(s + e, s * e + 1.0, grow);
    m = select(m, v, grow);
    saw_nan = saw_nan || is_nan(v);
  }
  let row_m = subgroupMax(m);
  // the lanes holding the maximum scale by exactly 1 (also when it is +inf: exp(inf - inf) is NaN)
  let scale = select(exp(m - row_m), 1.0, m == row_m);
  let row_s = subgroupAdd(select(0.0, s * scale, s != 0.0));
  let row_nan = subgroupMax(select(0u, 1u, saw_nan)) != 0u;
  if (want >= p.rows) {
    return;
  }
  let dead = row_m == ninf || row_nan;
  let nan = bitcast<f32>(0x7fc00000u | (p.cols & 0u));
  let inv = 1.0 / row_s;
  let log_s = log(row_s);
  for (var c = lane; c < p.cols; c += LANES) {
    let v = x[base + c];
    let d = v - row_m;
    var out = exp(d) * inv;
    if (LOG) {
      out = d - log_s;
    }
    // d is NaN for a +inf entry when the maximum is +inf (PyTorch: NaN there, 0 elsewhere)
    y[base + c] = select(out, nan, dead || is_nan(d));
  }
}

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> by: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lane = li % LANES;
  let want = (wid.x + wid.y * nwg.x) * ROWS + li / LANES;
  let base = min(want, bp.rows - 1u) * bp.cols;
  var acc = 0.0;
  for (var c = lane; c < bp.cols; c += LANES) {
    if (LOG) {
      acc += dy[base + c];
    } else {
      acc += dy[base + c] * by[base + c];
    }
  }
  let total = subgroupAdd(acc);
  if (want >= bp.rows) {
    return;
  }
  for (var c = lane; c < bp.cols; c += LANES) {
    let g = dy[base + c];
    let yv = by[base + c];
    if (LOG) {
      dx[base + c] = select(g - exp(yv) * total, yv, is_nan(yv));
    } else {
      dx[base + c] = yv * (g - total);
    }
  }
}
