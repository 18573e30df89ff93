// Roofline probes for the benchmark harness (bench/roofline.ts): the arithmetic peak, measured
// with long independent chains of fused multiply-adds, and the memory bandwidth, measured with a
// plain copy. Loaded with device.kernels.addModule('roofline.wgsl', ...), not from kernels/.

override WG: u32 = 64u;

struct PeakParams {
  iters: u32,
  // x -> x * mul + add converges to add / (1 - mul): values stay finite for any iters
  mul: f32,
  add: f32,
  seed: f32,
}

@group(0) @binding(0) var<uniform> pk: PeakParams;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

// Sixteen vec4 accumulators updated independently: 64 multiply-adds per lane and iteration,
// none depending on another inside an iteration (fewer chains measured up to 2x slower on
// lavapipe: the latency of each multiply-add is not hidden). FLOPs: 128 * iters per invocation.
@compute @workgroup_size(WG)
fn fma_peak(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let s = pk.seed * f32(i & 255u);
  let m = vec4f(pk.mul);
  let c = vec4f(pk.add);
  let base = vec4f(s, s + 1.0, s + 2.0, s + 3.0);
  var a0 = base + 0.25;
  var a1 = base + 1.25;
  var a2 = base + 2.25;
  var a3 = base + 3.25;
  var a4 = base + 4.25;
  var a5 = base + 5.25;
  var a6 = base + 6.25;
  var a7 = base + 7.25;
  var a8 = base + 8.25;
  var a9 = base + 9.25;
  var a10 = base + 10.25;
  var a11 = base + 11.25;
  var a12 = base + 12.25;
  var a13 = base + 13.25;
  var a14 = base + 14.25;
  var a15 = base + 15.25;
  for (var t = 0u; t < pk.iters; t++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
  }
  let total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15));
  sink[i] = dot(total, vec4f(1.0));
}

struct CopyParams {
  count: u32,
}

@group(0) @binding(0) var<uniform> cp: CopyParams;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;

// A grid-stride loop: a fixed number of invocations each copy every (invocations)-th vec4, so
// every byte of src is read once and every byte of dst written once. On lavapipe this measured
// 2-3x faster than one vec4 per invocation, whose per-invocation overhead hides the memory system.
@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * WG;
  for (var i = gid.x; i < cp.count; i += stride) {
    dst[i] = src[i];
  }
}
