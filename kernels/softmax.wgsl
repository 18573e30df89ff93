// Softmax and log-softmax along one axis, plain variant: one invocation per slice, no workgroup
// memory, no subgroup operations. The TS side views x as [outer, len, inner]; invocation t
// handles the slice (o, i) = (t / inner, t % inner), whose elements are inner apart.
// kernels/softmax_subgroup.wgsl has the row-per-subgroup variant of the inner == 1 case.
//
//   forward    one pass keeps the running maximum m and s = sum of exp(x - m), rescaling s when
//              m grows; a second pass writes  softmax: exp(x - m) / s,  log: (x - m) - log(s).
//              As in PyTorch: -inf entries get probability 0 (log-probability -inf); a slice
//              whose entries are all -inf, or that holds a NaN, gives NaN; a +inf entry gives
//              NaN there and 0 elsewhere. NaN is tracked by a flag: exp() of NaN need not be
//              NaN (lavapipe's is finite).
//   backward   softmax:     dx = y * (dy - sum(dy * y))
//              log-softmax: dx = dy - exp(y) * sum(dy), NaN where y is NaN
//
// LOG picks log-softmax. -inf and NaN are made at run time by bitcasts (WGSL rejects such
// constants). Invocations beyond one grid row fold into y: t = gid.x + gid.y * nwg.x * WG.
// Locals never reuse a resource variable's name (wgsl_reflect matches resources by name).

override WG: u32 = 64u;
override LOG: bool = false;

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

struct Params {
  n: u32,
  len: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.n) {
    return;
  }
  let base = (t / p.inner) * p.len * p.inner + t % p.inner;
  let ninf = -bitcast<f32>(0x7f800000u | (p.len & 0u));
  var m = ninf;
  var s = 0.0;
  var saw_nan = false;
  var off = base;
  for (var l = 0u; l < p.len; l++) {
    let v = x[off];
    off += p.inner;
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
  let dead = m == ninf || saw_nan;
  let nan = bitcast<f32>(0x7fc00000u | (p.len & 0u));
  let inv = 1.0 / s;
  let log_s = log(s);
  off = base;
  for (var l = 0u; l < p.len; l++) {
    let v = x[off];
    let d = v - m;
    var out = exp(d) * inv;
    if (LOG) {
      out = d - log_s;
    }
    // d is NaN for a +inf entry when the maximum is +inf (PyTorch: NaN there, 0 elsewhere)
    y[off] = select(out, nan, dead || is_nan(d));
    off += p.inner;
  }
}

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> by: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= bp.n) {
    return;
  }
  let base = (t / bp.inner) * bp.len * bp.inner + t % bp.inner;
  var acc = 0.0;
  var off = base;
  for (var l = 0u; l < bp.len; l++) {
    if (LOG) {
      acc += dy[off];
    } else {
      acc += dy[off] * by[off];
    }
    off += bp.inner;
  }
  off = base;
  for (var l = 0u; l < bp.len; l++) {
    let g = dy[off];
    let yv = by[off];
    if (LOG) {
      dx[off] = select(g - exp(yv) * acc, yv, is_nan(yv));
    } else {
      dx[off] = yv * (g - acc);
    }
    off += bp.inner;
  }
}
