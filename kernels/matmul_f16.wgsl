// Batched matmul out[t] = op(A[t]) @ op(B[t]) with f16 storage: the operands are first cast to
// f16 scratch buffers, then multiplied with f16 loads and f32 arithmetic and accumulation; the
// output is f32. Needs the device feature shader-f16.
//
// to_f16: reads an f32 operand through strides, X(t, r, l) = src[t * bs + r * rs + l * ks] for
// r < rows (A: m, B: n) and l < k, and writes it k-major as packed[(t * k + l) * rows4 + r / 4]
// (vec4 along r, rows4 = ceil(rows / 4), the padding zero). One invocation per vec4, 1-D launch.
//
// forward: the workgroup-memory tiling of matmul_tiled.wgsl over the cast operands. Both come in
// k-major, so every staged run is one aligned vec4<f16> load straight into its slot of the tile
// (converted to f32 there); runs past m4 / n4 or k are staged as zeros and stores are masked.
// Grid: x = column tiles, y = row tiles (times ceil(batches / zmax)), z = batch mod zmax.
// WG must equal (TILE_M / 4) * (TILE_N / 4); TILE_M, TILE_N, TILE_K multiples of 4.
enable f16;

override WG: u32 = 256u;
override TILE_M: u32 = 64u;
override TILE_N: u32 = 64u;
override TILE_K: u32 = 32u;

struct CastParams {
  rows: u32,
  rows4: u32,
  k: u32,
  rs: u32,
  ks: u32,
  bs: u32,
  // batches * k * rows4
  total: u32,
}

struct Params {
  m: u32,
  n: u32,
  k: u32,
  m4: u32,
  n4: u32,
  // batch strides of the cast operands, in vec4s (0: broadcast)
  a_bs: u32,
  b_bs: u32,
  tiles_m: u32,
  batches: u32,
  zmax: u32,
}

@group(0) @binding(0) var<uniform> cp: CastParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<vec4<f16>>;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lhs16: array<vec4<f16>>;
@group(0) @binding(2) var<storage, read> rhs16: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn to_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= cp.total) {
    return;
  }
  let r0 = (i % cp.rows4) * 4u;
  let l = (i / cp.rows4) % cp.k;
  let t = i / (cp.rows4 * cp.k);
  let base = t * cp.bs + l * cp.ks;
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (r0 + c < cp.rows) {
      v[c] = src[base + (r0 + c) * cp.rs];
    }
  }
  packed[i] = vec4<f16>(v);
}

var<workgroup> tile_a: array<vec4<f32>, TILE_K * TILE_M / 4u>;
var<workgroup> tile_b: array<vec4<f32>, TILE_K * TILE_N / 4u>;

// Stages the k-slice k0 .. k0 + TILE_K of A (rows from q0 * 4) and B (columns from r0 * 4).
fn stage(batch: u32, q0: u32, r0: u32, k0: u32, li: u32) {
  for (var v = li; v < TILE_M * TILE_K / 4u; v += WG) {
    let q = q0 + v % (TILE_M / 4u);
    let l = k0 + v / (TILE_M / 4u);
    var val = vec4<f32>(0.0);
    if (q < p.m4 && l < p.k) {
      val = vec4<f32>(lhs16[batch * p.a_bs + l * p.m4 + q]);
    }
    tile_a[v] = val;
  }
  for (var v = li; v < TILE_N * TILE_K / 4u; v += WG) {
    let q = r0 + v % (TILE_N / 4u);
    let l = k0 + v / (TILE_N / 4u);
    var val = vec4<f32>(0.0);
    if (q < p.n4 && l < p.k) {
      val = vec4<f32>(rhs16[batch * p.b_bs + l * p.n4 + q]);
    }
    tile_b[v] = val;
  }
}

fn store_row(batch: u32, row: u32, col: u32, val: vec4<f32>) {
  if (row >= p.m) {
    return;
  }
  let o = (batch * p.m + row) * p.n;
  for (var c = 0u; c < 4u; c++) {
    if (col + c < p.n) {
      dst[o + col + c] = val[c];
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let batch = wid.z + p.zmax * (wid.y / p.tiles_m);
  if (batch >= p.batches) {
    return;
  }
  let i0 = (wid.y % p.tiles_m) * TILE_M;
  let j0 = wid.x * TILE_N;
  let tx = li % (TILE_N / 4u);
  let ty = li / (TILE_N / 4u);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    stage(batch, i0 / 4u, j0 / 4u, k0, li);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let av = tile_a[kk * (TILE_M / 4u) + ty];
      let bv = tile_b[kk * (TILE_N / 4u) + tx];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let row = i0 + ty * 4u;
  let col = j0 + tx * 4u;
  store_row(batch, row, col, acc0);
  store_row(batch, row + 1u, col, acc1);
  store_row(batch, row + 2u, col, acc2);
  store_row(batch, row + 3u, col, acc3);
}
