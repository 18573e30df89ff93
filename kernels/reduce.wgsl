// Reductions along one axis, plain variant: one invocation per output element, no workgroup
// memory, no subgroup operations, so it runs on every adapter. The TS side views x as
// [outer, len, inner] (the reduced axis in the middle; a full reduction is [1, size, 1]).
// kernels/reduce_subgroup.wgsl has the row-per-subgroup variant of the inner == 1 case.
//
//   sum_axis       out[o, c, i] = scale * sum of x[o, l, i] over l in chunk c of the axis
//                  (chunk c covers [c * chunk, min(len, (c + 1) * chunk)); nchunks = 1 is the
//                  whole axis). A long axis is summed in two passes: partial sums per chunk, then
//                  the same kernel over the chunks. The order of additions depends only on the
//                  shape, so the result is bit-identical run to run (no atomics).
//   max_axis       values and first index of the maximum along the axis; a NaN wins (the first
//                  NaN's index), as in PyTorch
//   sum_backward   dx[o, l, i] = scale * dy[o, i]
//   max_backward   dx[o, l, i] = dy[o, i] where l is the argmax, else 0
//
// Invocations beyond one grid row fold into y: t = gid.x + gid.y * nwg.x * WG.
// Locals never reuse a resource variable's name (wgsl_reflect matches resources by name).

override WG: u32 = 64u;

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

struct SumParams {
  n: u32,
  len: u32,
  inner: u32,
  chunk: u32,
  nchunks: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> sp: SumParams;
@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> sout: array<f32>;

// Output t of sum_axis(4): the offset of its first term and how many terms (stride sp.inner).
fn sum_span(t: u32) -> vec2<u32> {
  let i = t % sp.inner;
  let q = t / sp.inner;
  let c = q % sp.nchunks;
  let o = q / sp.nchunks;
  let l0 = c * sp.chunk;
  let l1 = min(sp.len, l0 + sp.chunk);
  return vec2<u32>((o * sp.len + l0) * sp.inner + i, l1 - l0);
}

@compute @workgroup_size(WG)
fn sum_axis(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= sp.n) {
    return;
  }
  let span = sum_span(t);
  var off = span.x;
  var acc = 0.0;
  for (var l = 0u; l < span.y; l++) {
    acc += sx[off];
    off += sp.inner;
  }
  sout[t] = acc * sp.scale;
}

// sum_axis 4 columns at a time (inner a multiple of 4; sp.n and sp.inner count vec4s): a quarter
// of the loads, which limit lavapipe (the bias gradients of Linear layers: [tokens, C] over tokens)
@group(0) @binding(1) var<storage, read> sx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sout4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn sum_axis4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= sp.n) {
    return;
  }
  let span = sum_span(t);
  var off = span.x;
  var acc = vec4<f32>(0.0);
  for (var l = 0u; l < span.y; l++) {
    acc += sx4[off];
    off += sp.inner;
  }
  sout4[t] = acc * sp.scale;
}

struct MaxParams {
  n: u32,
  len: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> mp: MaxParams;
@group(0) @binding(1) var<storage, read> mx: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;

@compute @workgroup_size(WG)
fn max_axis(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= mp.n) {
    return;
  }
  let i = t % mp.inner;
  let o = t / mp.inner;
  let base = o * mp.len * mp.inner + i;
  var best = mx[base];
  var arg = 0u;
  for (var l = 1u; l < mp.len; l++) {
    let v = mx[base + l * mp.inner];
    // strictly greater keeps the first of ties; the first NaN wins and then stays (v > NaN is
    // false). Selects rather than branches: lanes of one subgroup do not diverge.
    let take = v > best || (is_nan(v) && !is_nan(best));
    best = select(best, v, take);
    arg = select(arg, l, take);
  }
  values[t] = best;
  indices[t] = i32(arg);
}

struct BackParams {
  n: u32,
  len: u32,
  inner: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> bp: BackParams;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn sum_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= bp.n) {
    return;
  }
  let i = j % bp.inner;
  let o = j / (bp.len * bp.inner);
  dx[j] = dy[o * bp.inner + i] * bp.scale;
}

struct MaxBackParams {
  n: u32,
  len: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> mbp: MaxBackParams;
@group(0) @binding(1) var<storage, read> mdy: array<f32>;
@group(0) @binding(2) var<storage, read> midx: array<i32>;
@group(0) @binding(3) var<storage, read_write> mdx: array<f32>;

@compute @workgroup_size(WG)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= mbp.n) {
    return;
  }
  let i = j % mbp.inner;
  let q = j / mbp.inner;
  let l = q % mbp.len;
  let k = (q / mbp.len) * mbp.inner + i;
  mdx[j] = select(0.0, mdy[k], midx[k] == i32(l));
}
