// The parts of Linear that a matmul variant without a fused epilogue leaves: y = act(z + bias)
// over [rows, cols] (bias_act), and the gradient through the activation (act_backward).
//
//  ACT  forward          backward dz = dy * act'(.)   reads
//   0   z + b            dy                           -
//   1   relu(z + b)      dy * [y > 0]                 y
//   2   gelu(z + b)      dy * gelu'(pre)              pre = z + b
//
// HAS_BIAS = false ignores `bias`; SAVE_PRE = false leaves `pre` alone (both then bound to dummies).
// act_backward4 is act_backward 4 values per invocation, for sizes that are a multiple of 4 (vec4
// loads: on lavapipe one load per 4 values instead of 4, 2-2.5x faster for the GELU backward).

override WG: u32 = 256u;
override ACT: u32 = 0u;
override HAS_BIAS: bool = true;
override SAVE_PRE: bool = false;

struct Params {
  n: u32,
  cols: u32,
}

const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26), as in unary.wgsl.
fn erf_approx(v: f32) -> f32 {
  let s = sign(v);
  let x = abs(v);
  let q = 1.0 / (1.0 + 0.3275911 * x);
  let poly = q * (0.254829592 + q * (-0.284496736 + q * (1.421413741 + q * (-1.453152027 + q * 1.061405429))));
  return s * (1.0 - poly * exp(-x * x));
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> pre: array<f32>;

@compute @workgroup_size(WG)
fn bias_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  var v = z[i];
  if (HAS_BIAS) {
    v += bias[i % p.cols];
  }
  switch ACT {
    case 1u: { y[i] = max(v, 0.0); }
    case 2u: {
      if (SAVE_PRE) {
        pre[i] = v;
      }
      y[i] = 0.5 * v * (1.0 + erf_approx(v * SQRT1_2));
    }
    default: { y[i] = v; }
  }
}

struct BackParams {
  n: u32,
}

@group(0) @binding(0) var<uniform> bp: BackParams;
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;

fn gelu_grad(v: f32) -> f32 {
  return 0.5 * (1.0 + erf_approx(v * SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
}

@compute @workgroup_size(WG)
fn act_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bp.n) {
    return;
  }
  let g = dy[i];
  switch ACT {
    case 1u: { dz[i] = select(0.0, g, saved[i] > 0.0); }
    case 2u: {
      dz[i] = g * gelu_grad(saved[i]);
    }
    default: { dz[i] = g; }
  }
}

@group(0) @binding(0) var<uniform> bp4: BackParams;
@group(0) @binding(1) var<storage, read> saved4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dz4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn act_backward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bp4.n) {
    return;
  }
  let g = dy4[i];
  switch ACT {
    case 1u: { dz4[i] = select(vec4<f32>(0.0), g, saved4[i] > vec4<f32>(0.0)); }
    case 2u: {
      let v = saved4[i];
      dz4[i] = g * vec4<f32>(gelu_grad(v.x), gelu_grad(v.y), gelu_grad(v.z), gelu_grad(v.w));
    }
    default: { dz4[i] = g; }
  }
}
