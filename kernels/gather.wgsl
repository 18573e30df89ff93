// indexSelect along one axis. With x viewed as [outer, n, inner] and k indices, the output is
// [outer, k, inner]: y[o, j, r] = x[o, indices[j], r]. An index outside [0, n) (indices that live
// on the GPU are not checked on the host) reads as 0: it is compared as u32, so negative values
// fail too, and x is never read out of bounds. The forward moves values as u32 bits (f32 and i32).
//
// `backward` is a deterministic scatter-add without atomics: each dx[o, a, r] loops over all k
// indices in order and sums the dy[o, j, r] whose index equals a (repeated indices add up).
//
// Names of locals and parameters never repeat a global's: wgsl_reflect matches resources by name.

override WG: u32 = 256u;

struct Params {
  // elements of the thread's tensor (y forward, dx backward)
  total: u32,
  // size of the indexed axis of x
  n: u32,
  // number of indices
  k: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;

const NONE: u32 = 0xffffffffu;

// Where output element i comes from in x (in the thread's units), or NONE for an index out of range.
fn source_of(i: u32) -> u32 {
  let r = i % p.inner;
  let oj = i / p.inner;
  let j = oj % p.k;
  let o = oj / p.k;
  let a = bitcast<u32>(indices[j]);
  return select(NONE, (o * p.n + a) * p.inner + r, a < p.n);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) {
    return;
  }
  let origin = source_of(i);
  if (origin != NONE) {
    y[i] = x[origin];
  } else {
    y[i] = 0u;
  }
}

// The same 4 values at a time, where inner is a multiple of 4 (p.total and p.inner count vec4s):
// a quarter of the index arithmetic and of the loads (Swin's token permutations, C >= 32).
@group(0) @binding(1) var<storage, read> x4: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> y4: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn forward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) {
    return;
  }
  let origin = source_of(i);
  if (origin != NONE) {
    y4[i] = x4[origin];
  } else {
    y4[i] = vec4<u32>(0u);
  }
}

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> bindices: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bp.total) {
    return;
  }
  let r = i % bp.inner;
  let oa = i / bp.inner;
  let a = oa % bp.n;
  let o = oa / bp.n;
  let row = o * bp.k * bp.inner + r;
  var acc = 0.0;
  for (var j = 0u; j < bp.k; j++) {
    if (bitcast<u32>(bindices[j]) == a) {
      acc += dy[row + j * bp.inner];
    }
  }
  dx[i] = acc;
}
