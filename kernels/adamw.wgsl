// Adam and AdamW parameter updates, in place, one invocation per element (PyTorch's torch.optim
// semantics, single-tensor path):
//   g  = grad * gscale[0]                      (gscale: gradient-clipping factor, 1 without clipping)
//   Adam:  g += wd * param                     (L2 penalty folded into the gradient)
//   AdamW: param *= 1 - lr * wd                (decoupled weight decay, before the moment update)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   param -= lr * (m / bc1) / (sqrt(v / bc2) + eps),  bc1 = 1 - b1^t, bc2 = 1 - b2^t
// The bias corrections are computed on the host per step and arrive as uniforms.

override WG: u32 = 64u;
// true: AdamW (decoupled decay); false: Adam with an L2 penalty
override DECOUPLED: bool = true;

struct Params {
  n: u32,
  lr: f32,
  b1: f32,
  b2: f32,
  eps: f32,
  wd: f32,
  bc1: f32,
  bc2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;
@group(0) @binding(5) var<storage, read> gscale: array<f32>;

@compute @workgroup_size(WG)
fn update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  var w = param[i];
  var g = grad[i] * gscale[0];
  if (DECOUPLED) {
    w = w * (1.0 - p.lr * p.wd);
  } else {
    g = g + p.wd * w;
  }
  let m = p.b1 * m1[i] + (1.0 - p.b1) * g;
  let v = p.b2 * m2[i] + (1.0 - p.b2) * g * g;
  m1[i] = m;
  m2[i] = v;
  param[i] = w - p.lr * (m / p.bc1) / (sqrt(v / p.bc2) + p.eps);
}
