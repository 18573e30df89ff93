// Elementwise binary ops with numpy broadcasting, one pipeline per OP (override constant).
//
//  OP  forward y = f(a, b)   da = dy * df/da          db = dy * df/db
//   0  a + b                 dy                       dy
//   1  a - b                 dy                       -dy
//   2  a * b                 dy * b                   dy * a
//   3  a / b                 dy / b                   -dy * a / b^2
//   4  a ^ b                 dy * b * a^(b-1)         dy * y * ln(a)
//   5  max(a, b)             dy * [a >= b]            dy * [a < b]
//
// Shapes travel as MAX_RANK = 8 dims (two vec4<u32>), leading dims padded with 1; a broadcast
// input has stride 0 along the dims it is broadcast in. `backward` writes the partials that are
// wanted (WANT_A, WANT_B; the other output is bound to a dummy) at the output's shape; `sum_to`
// then sums a partial down to its input's shape. The host needs no kernel for add's partials
// (they are dy itself).
//
// Names of locals and parameters never repeat a global's: wgsl_reflect matches resources by name.

override OP: u32 = 0u;
override WG: u32 = 256u;
/** backward: whether ga (WANT_A) and gb (WANT_B) are written */
override WANT_A: bool = true;
override WANT_B: bool = true;
// the dims that matter (the host drops size-1 dims and merges dims both inputs walk as one), an
// override so that the index loop unrolls: a loop bound read at run time made it 1.3x slower here
override RANK: u32 = 8u;

struct Params {
  n: u32,
  out_shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

// A NaN made at run time: WGSL rejects NaN constants, so the bits depend (trivially) on `v`.
fn quiet_nan(v: f32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (bitcast<u32>(v) & 0u));
}

fn powf(v: f32, e: f32) -> f32 {
  if (e == 0.0) {
    return 1.0;
  }
  if (v >= 0.0) {
    return pow(v, e);
  }
  if (e == floor(e)) {
    let m = pow(-v, e);
    if (abs(e % 2.0) == 1.0) {
      return -m;
    }
    return m;
  }
  return quiet_nan(v);
}

fn apply(u: f32, v: f32) -> f32 {
  switch OP {
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    case 3u: { return u / v; }
    case 4u: { return powf(u, v); }
    case 5u: { return max(u, v); }
    default: { return u + v; }
  }
}

// Offsets of output element i in a and b: one division per dim that matters (the last RANK).
fn offsets(i: u32, shape: array<vec4<u32>, 2>, str_a: array<vec4<u32>, 2>, str_b: array<vec4<u32>, 2>) -> vec2<u32> {
  var rem = i;
  var oa = 0u;
  var ob = 0u;
  for (var k = 0u; k < RANK; k++) {
    let d = 7u - k;
    let n = at(shape, d);
    let q = rem / n;
    let c = rem - q * n;
    rem = q;
    oa += c * at(str_a, d);
    ob += c * at(str_b, d);
  }
  return vec2<u32>(oa, ob);
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let o = offsets(i, p.out_shape, p.a_strides, p.b_strides);
  y[i] = apply(a[o.x], b[o.y]);
}

// Same shapes, no broadcasting: no index arithmetic.
struct SameParams {
  n: u32,
}

@group(0) @binding(0) var<uniform> sp: SameParams;
@group(0) @binding(1) var<storage, read> sa: array<f32>;
@group(0) @binding(2) var<storage, read> sb: array<f32>;
@group(0) @binding(3) var<storage, read_write> sy: array<f32>;

@compute @workgroup_size(WG)
fn forward_same(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < sp.n) {
    sy[i] = apply(sa[i], sb[i]);
  }
}

// The same 4 values at a time (n a multiple of 4; sp.n counts vec4s): a quarter of the loads,
// which limit lavapipe.
@group(0) @binding(1) var<storage, read> sa4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> sb4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> sy4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn forward_same4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < sp.n) {
    let u = sa4[i];
    let v = sb4[i];
    sy4[i] = vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
  }
}

// Broadcasting, 4 outputs per invocation along the innermost dim (its size a multiple of 4): an
// input whose innermost stride is 1 is read as vec4 (A4, B4; its other strides multiples of 4),
// one whose stride is 0 is read once and splat. A bias add [N, C] + [C] or a per-sample scale
// [B, T C] * [B, 1] then loads a quarter as often and divides once per 4 outputs. q4.n counts vec4s.
override A4: bool = true;
override B4: bool = true;

@group(0) @binding(0) var<uniform> q4: Params;
@group(0) @binding(1) var<storage, read> qa: array<f32>;
@group(0) @binding(2) var<storage, read> qb: array<f32>;
@group(0) @binding(3) var<storage, read_write> qy4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> qa4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> qb4: array<vec4<f32>>;

/** The 4 values of a that 4 consecutive outputs read, the first at offset `at_a`. */
fn a_quad(at_a: u32) -> vec4<f32> {
  if (A4) {
    return qa4[at_a / 4u];
  }
  return vec4<f32>(qa[at_a]);
}

fn b_quad(at_b: u32) -> vec4<f32> {
  if (B4) {
    return qb4[at_b / 4u];
  }
  return vec4<f32>(qb[at_b]);
}

@compute @workgroup_size(WG)
fn forward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= q4.n) {
    return;
  }
  let o = offsets(4u * i, q4.out_shape, q4.a_strides, q4.b_strides);
  let u = a_quad(o.x);
  let v = b_quad(o.y);
  qy4[i] = vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
}

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> ba: array<f32>;
@group(0) @binding(2) var<storage, read> bb: array<f32>;
@group(0) @binding(3) var<storage, read> by: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> ga: array<f32>;
@group(0) @binding(6) var<storage, read_write> gb: array<f32>;

// (da, db) of one output: dy times the partial derivatives (yv: the output, read by pow only)
fn partials(av: f32, bv: f32, yv: f32, g: f32) -> vec2<f32> {
  switch OP {
    case 1u: { return vec2<f32>(g, -g); }
    case 2u: { return vec2<f32>(g * bv, g * av); }
    case 3u: { return vec2<f32>(g / bv, -g * av / (bv * bv)); }
    case 4u: {
      // d(a^b)/db = a^b ln a; zero where a^b is zero (a = 0, b > 0), as the limit gives
      return vec2<f32>(select(g * bv * powf(av, bv - 1.0), 0.0, bv == 0.0), select(g * yv * log(av), 0.0, yv == 0.0));
    }
    case 5u: { return vec2<f32>(select(0.0, g, av >= bv), select(g, 0.0, av >= bv)); }
    default: { return vec2<f32>(g, g); }
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bp.n) {
    return;
  }
  let o = offsets(i, bp.out_shape, bp.a_strides, bp.b_strides);
  var yv = 0.0;
  if (OP == 4u) {
    yv = by[i];
  }
  let d = partials(ba[o.x], bb[o.y], yv, dy[i]);
  if (WANT_A) {
    ga[i] = d.x;
  }
  if (WANT_B) {
    gb[i] = d.y;
  }
}

// backward for the broadcasts forward4 takes (A4, B4 as there, a and b read through forward4's
// bindings): 4 outputs per invocation.
@group(0) @binding(6) var<storage, read> ry4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> rdy4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> rga4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> rgb4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= q4.n) {
    return;
  }
  let o = offsets(4u * i, q4.out_shape, q4.a_strides, q4.b_strides);
  let u = a_quad(o.x);
  let v = b_quad(o.y);
  var yv = vec4<f32>(0.0);
  if (OP == 4u) {
    yv = ry4[i];
  }
  let g = rdy4[i];
  let d0 = partials(u.x, v.x, yv.x, g.x);
  let d1 = partials(u.y, v.y, yv.y, g.y);
  let d2 = partials(u.z, v.z, yv.z, g.z);
  let d3 = partials(u.w, v.w, yv.w, g.w);
  if (WANT_A) {
    rga4[i] = vec4<f32>(d0.x, d1.x, d2.x, d3.x);
  }
  if (WANT_B) {
    rgb4[i] = vec4<f32>(d0.y, d1.y, d2.y, d3.y);
  }
}

// Sums `big` (of shape big_shape) down to small_shape (same rank, each dim either equal or 1).
struct SumToParams {
  n: u32,
  reduce_count: u32,
  big_shape: array<vec4<u32>, 2>,
  big_strides: array<vec4<u32>, 2>,
  small_shape: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> rp: SumToParams;
@group(0) @binding(1) var<storage, read> big: array<f32>;
@group(0) @binding(2) var<storage, read_write> small: array<f32>;

@compute @workgroup_size(WG)
fn sum_to(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= rp.n) {
    return;
  }
  // base offset in `big` of small element j
  var rem = j;
  var base = 0u;
  for (var d = 7; d >= 0; d--) {
    let n = at(rp.small_shape, u32(d));
    let c = rem % n;
    rem = rem / n;
    base += c * at(rp.big_strides, u32(d));
  }
  var acc = 0.0;
  for (var r = 0u; r < rp.reduce_count; r++) {
    var rr = r;
    var off = base;
    for (var d = 7; d >= 0; d--) {
      let nb = at(rp.big_shape, u32(d));
      if (at(rp.small_shape, u32(d)) == 1u && nb > 1u) {
        off += (rr % nb) * at(rp.big_strides, u32(d));
        rr = rr / nb;
      }
    }
    acc += big[off];
  }
  small[j] = acc;
}
