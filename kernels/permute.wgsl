// Strided copies, the kernels of permute, slice and concat. A strided view is (shape, strides,
// base): element c (a multi-index of `shape`) lives at base + sum_d c_d * strides_d of a flat buffer.
//   read_view:  y[i] = x[view offset of i]     permute (permuted strides), slice (step * stride,
//                                              base at the start), concat backward (a part of dy)
//   write_view: dst[view offset of i] = src[i] concat (each input into its part of the output),
//                                              slice backward (into a zero-filled dx)
// One thread per element, i taken in row-major order of `shape`. The host first drops size-1 axes
// and merges axes the view walks as one (Swin's window partition [B, H/7, 7, W/7, 7, C] ->
// [B, H/7, W/7, 7, 7, C] becomes rank 4), so the index arithmetic runs over few axes. When the
// innermost axis is contiguous and everything divides by 4, the *_vec4 entry points move four
// values per thread with a quarter of the index arithmetic (the host divides shape and strides).
// Shapes travel as MAX_RANK = 8 values (two vec4<u32>), leading entries padded; only the last
// `rank` are read. Values move as u32 bits, so f32 and i32 tensors are copied alike.
//
// Names of locals and parameters never repeat a global's: wgsl_reflect matches resources by name.

override WG: u32 = 256u;
// the view's rank after the host's merging (1 to 8), an override so that the index loop unrolls:
// with the rank read at run time the copies ran about 2x slower here
override RANK: u32 = 8u;

struct View {
  // elements (or vec4s) to copy
  n: u32,
  base: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: View;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

// Offset in the strided buffer of element i.
fn view_offset(i: u32) -> u32 {
  var rem = i;
  var off = p.base;
  for (var k = 0u; k < RANK; k++) {
    let d = 7u - k;
    let extent = at(p.shape, d);
    let q = rem / extent;
    off += (rem - q * extent) * at(p.strides, d);
    rem = q;
  }
  return off;
}

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(WG)
fn read_view(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) {
    y[i] = x[view_offset(i)];
  }
}

@group(0) @binding(1) var<storage, read> xv: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> yv: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn read_view_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) {
    yv[i] = xv[view_offset(i)];
  }
}

@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(WG)
fn write_view(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) {
    dst[view_offset(i)] = src[i];
  }
}

@group(0) @binding(1) var<storage, read> srcv: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dstv: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn write_view_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) {
    dstv[view_offset(i)] = srcv[i];
  }
}
