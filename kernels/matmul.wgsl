// Plain batched matmul with a 4x4 register tile per invocation (no workgroup memory: on lavapipe
// barriers cost more than the CPU caches save). Operands are read through strides, so one entry
// point also computes A^T @ B and A @ B^T (the backward needs no explicit transposes):
//
//   out[t, i, j] = sum over r < red_count, l < k of lhs(t, r)[i, l] * rhs(t, r)[l, j]
//   lhs(t, r)[i, l] at lhs_base(t, r) + i * a_rs + l * a_cs
//   rhs(t, r)[l, j] at rhs_base(t, r) + l * b_rs + j * b_cs
//
// t runs over the kept batch dimensions (keep_shape; the output is contiguous [batches, m, n]) and
// r over the batch dimensions summed away (red_shape: the gradient of a broadcast operand). The
// bases are sums of index * stride over both sets of dims; stride 0 broadcasts. Shapes travel as
// MAX_RANK = 8 dims, leading dims padded with 1. Rows and columns past the edge of the output are
// clamped for loads and skipped for stores, so no bounds checks sit inside the k loop. k = 0 or
// red_count = 0 writes zeros. Invocations are linear (folded into y past one grid row):
// column tiles fastest, then row tiles, then batches.

override WG: u32 = 64u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  tiles_m: u32,
  tiles_n: u32,
  // batches * tiles_m * tiles_n
  total: u32,
  red_count: u32,
  a_rs: u32,
  a_cs: u32,
  b_rs: u32,
  b_cs: u32,
  keep_shape: array<vec4<u32>, 2>,
  keep_a: array<vec4<u32>, 2>,
  keep_b: array<vec4<u32>, 2>,
  red_shape: array<vec4<u32>, 2>,
  red_a: array<vec4<u32>, 2>,
  red_b: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

// Offsets in lhs and rhs of batch index `idx` over the dims `shape` with strides `sa`, `sb`.
fn batch_offsets(idx: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2>) -> vec2<u32> {
  var rem = idx;
  var off = vec2<u32>(0u, 0u);
  for (var d = 7; d >= 0; d--) {
    let size = at(shape, u32(d));
    let i = rem % size;
    rem = rem / size;
    off += i * vec2<u32>(at(sa, u32(d)), at(sb, u32(d)));
  }
  return off;
}

// Writes the columns j0 .. j0 + 3 of output row i that lie inside the matrix.
fn store_row(o: u32, i: u32, j0: u32, v: vec4<f32>) {
  if (i >= p.m) {
    return;
  }
  for (var jj = 0u; jj < 4u; jj++) {
    if (j0 + jj < p.n) {
      out[o + i * p.n + j0 + jj] = v[jj];
    }
  }
}

@compute @workgroup_size(WG)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.total) {
    return;
  }
  let tn = t % p.tiles_n;
  let tm = (t / p.tiles_n) % p.tiles_m;
  let batch = t / (p.tiles_n * p.tiles_m);
  let i0 = tm * 4u;
  let j0 = tn * 4u;
  // rows and columns of the tile, clamped to the matrix for loads
  let rows = min(vec4<u32>(i0, i0 + 1u, i0 + 2u, i0 + 3u), vec4<u32>(p.m - 1u));
  let cols = min(vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u), vec4<u32>(p.n - 1u));
  let kept = batch_offsets(batch, p.keep_shape, p.keep_a, p.keep_b);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var r = 0u; r < p.red_count; r++) {
    let base = kept + batch_offsets(r, p.red_shape, p.red_a, p.red_b);
    var pa = vec4<u32>(base.x) + rows * p.a_rs;
    var pb = vec4<u32>(base.y) + cols * p.b_cs;
    for (var l = 0u; l < p.k; l++) {
      let bv = vec4<f32>(rhs[pb.x], rhs[pb.y], rhs[pb.z], rhs[pb.w]);
      acc0 += lhs[pa.x] * bv;
      acc1 += lhs[pa.y] * bv;
      acc2 += lhs[pa.z] * bv;
      acc3 += lhs[pa.w] * bv;
      pa += vec4<u32>(p.a_cs);
      pb += vec4<u32>(p.b_rs);
    }
  }
  let o = batch * p.m * p.n;
  store_row(o, i0, j0, acc0);
  store_row(o, i0 + 1u, j0, acc1);
  store_row(o, i0 + 2u, j0, acc2);
  store_row(o, i0 + 3u, j0, acc3);
}
