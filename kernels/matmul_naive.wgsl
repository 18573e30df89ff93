// The naive batched matmul, the baseline every other variant is measured against: one invocation
// per output element in 16x16 workgroups, a plain dot product over k, no tiling of any kind.
// Transposed operands come in as strides; the batch is workgroup_id.z.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  a_rs: u32,
  a_ks: u32,
  b_ks: u32,
  b_cs: u32,
  a_bs: u32,
  b_bs: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(16, 16)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let row = gid.y;
  let t = gid.z;
  if (row >= p.m || col >= p.n) {
    return;
  }
  let abase = t * p.a_bs + row * p.a_rs;
  let bbase = t * p.b_bs + col * p.b_cs;
  var acc = 0.0;
  for (var kk = 0u; kk < p.k; kk++) {
    acc += lhs[abase + kk * p.a_ks] * rhs[bbase + kk * p.b_ks];
  }
  dst[(t * p.m + row) * p.n + col] = acc;
}
