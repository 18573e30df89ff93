// Elementwise unary ops, one pipeline per OP (an override constant), forward and backward.
// Scalar ops read their scalar from the uniform `alpha`. Entry points share binding slots: each
// uses only its own variables. Locals and parameters never reuse a global's name (wgsl_reflect
// matches resources by name).
//
//  OP  forward y = f(x)          backward dx = dy * f'(x)
//   0  x (copy)                  dy
//   1  -x                        -dy
//   2  exp(x)                    dy * y
//   3  log(x)                    dy / x
//   4  sqrt(x)                   dy * 0.5 / y
//   5  relu(x) = max(x, 0)       dy * [x > 0]
//   6  gelu(x), erf form         dy * (Phi(x) + x * phi(x))
//   7  sigmoid(x)                dy * y * (1 - y)
//   8  tanh(x)                   dy * (1 - y^2)
//   9  x + alpha                 dy
//  10  x * alpha                 dy * alpha
//  11  x ^ alpha                 dy * alpha * x^(alpha - 1)
//  12  alpha - x                 -dy
//  13  alpha / x                 -dy * alpha / x^2
//  14  abs(x)                    dy * sign(x)

override OP: u32 = 0u;
override WG: u32 = 256u;

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26).
fn erf_approx(v: f32) -> f32 {
  let s = sign(v);
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp(-a * a));
}

fn sigmoid(v: f32) -> f32 {
  if (v >= 0.0) {
    return 1.0 / (1.0 + exp(-v));
  }
  let e = exp(v);
  return e / (1.0 + e);
}

fn tanh_stable(v: f32) -> f32 {
  let e = exp(-2.0 * abs(v));
  return sign(v) * (1.0 - e) / (1.0 + e);
}

// x^a that is defined for negative x when a is a whole number (WGSL pow is not).
// A NaN made at run time: WGSL rejects NaN constants, so the bits depend (trivially) on `v`.
fn quiet_nan(v: f32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (bitcast<u32>(v) & 0u));
}

fn powf(v: f32, a: f32) -> f32 {
  if (a == 0.0) {
    return 1.0;
  }
  if (v >= 0.0) {
    return pow(v, a);
  }
  if (a == floor(a)) {
    let m = pow(-v, a);
    if (abs(a % 2.0) == 1.0) {
      return -m;
    }
    return m;
  }
  return quiet_nan(v); // as for a fractional power of a negative number
}

fn forward_of(v: f32, a: f32) -> f32 {
  switch OP {
    case 1u: { return -v; }
    case 2u: { return exp(v); }
    case 3u: { return log(v); }
    case 4u: { return sqrt(v); }
    case 5u: { return max(v, 0.0); }
    case 6u: { return 0.5 * v * (1.0 + erf_approx(v * SQRT1_2)); }
    case 7u: { return sigmoid(v); }
    case 8u: { return tanh_stable(v); }
    case 9u: { return v + a; }
    case 10u: { return v * a; }
    case 11u: { return powf(v, a); }
    case 12u: { return a - v; }
    case 13u: { return a / v; }
    case 14u: { return abs(v); }
    default: { return v; }
  }
}

// dy * f'(x), given x and y = f(x)
fn backward_of(v: f32, yv: f32, g: f32, a: f32) -> f32 {
  switch OP {
    case 1u: { return -g; }
    case 2u: { return g * yv; }
    case 3u: { return g / v; }
    case 4u: { return g * 0.5 / yv; }
    case 5u: { return select(0.0, g, v > 0.0); }
    case 6u: {
      let cdf = 0.5 * (1.0 + erf_approx(v * SQRT1_2));
      return g * (cdf + v * INV_SQRT_2PI * exp(-0.5 * v * v));
    }
    case 7u: { return g * yv * (1.0 - yv); }
    case 8u: { return g * (1.0 - yv * yv); }
    case 9u: { return g; }
    case 10u: { return g * a; }
    case 11u: { return g * a * powf(v, a - 1.0); }
    case 12u: { return -g; }
    case 13u: { return -g * a / (v * v); }
    case 14u: { return g * sign(v); }
    default: { return g; }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) {
    y[i] = forward_of(x[i], p.alpha);
  }
}

struct BackParams {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> bp: BackParams;
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> by: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < bp.n) {
    dx[i] = backward_of(bx[i], by[i], dy[i], bp.alpha);
  }
}

struct FillParams {
  n: u32,
  value: f32,
}

@group(0) @binding(0) var<uniform> fp: FillParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < fp.n) {
    out[i] = fp.value;
  }
}

// 4 values per thread (the size a multiple of 4; fp.n counts vec4s)
@group(0) @binding(1) var<storage, read_write> out4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn fill4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < fp.n) {
    out4[i] = vec4<f32>(fp.value);
  }
}
