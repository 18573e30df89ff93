// L2 normalisation along one axis of x viewed as [outer, n, inner] (PyTorch F.normalize):
// y = x / max(||x||, eps). One invocation per (outer, inner) pair loops over the n elements of
// its vector (stride inner); the forward saves ||x|| per vector for the backward:
//   ||x|| > eps:   dx = (dy - y * sum(dy * y)) / ||x||
//   ||x|| <= eps:  dx = dy / eps   (the denominator is the constant eps there)
// Locals never reuse a resource variable's name (wgsl_reflect matches resources by name).

override WG: u32 = 64u;

struct Params {
  // outer * inner vectors
  count: u32,
  n: u32,
  inner: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> norm: array<f32>;

// Offset of element 0 of vector v.
fn first_of(v: u32, n: u32, inner: u32) -> u32 {
  return (v / inner) * n * inner + v % inner;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let v = gid.x + gid.y * nwg.x * WG;
  if (v >= p.count) {
    return;
  }
  let base = first_of(v, p.n, p.inner);
  var s = 0.0;
  for (var k = 0u; k < p.n; k++) {
    let e = x[base + k * p.inner];
    s += e * e;
  }
  let nv = sqrt(s);
  let d = max(nv, p.eps);
  for (var k = 0u; k < p.n; k++) {
    y[base + k * p.inner] = x[base + k * p.inner] / d;
  }
  norm[v] = nv;
}

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> bnorm: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let v = gid.x + gid.y * nwg.x * WG;
  if (v >= bp.count) {
    return;
  }
  let base = first_of(v, bp.n, bp.inner);
  let nv = bnorm[v];
  if (nv <= bp.eps) {
    for (var k = 0u; k < bp.n; k++) {
      dx[base + k * bp.inner] = dy[base + k * bp.inner] / bp.eps;
    }
    return;
  }
  let inv = 1.0 / nv;
  var s = 0.0;
  for (var k = 0u; k < bp.n; k++) {
    s += dy[base + k * bp.inner] * bx[base + k * bp.inner] * inv;
  }
  for (var k = 0u; k < bp.n; k++) {
    let i = base + k * bp.inner;
    dx[i] = (dy[i] - bx[i] * inv * s) * inv;
  }
}
