// Batched matmul out[t] = op(A[t]) @ op(B[t]) for real GPUs: classic workgroup-memory tiling.
// A workgroup computes a TILE_M x TILE_N tile of the output with (TILE_M / 4) * (TILE_N / 4)
// invocations, each keeping a 4x4 register tile (4 vec4 accumulators: rows 4ty..4ty+3, columns
// 4tx..4tx+3). K is stepped TILE_K at a time: the workgroup stages a TILE_M x TILE_K slice of A
// and a TILE_K x TILE_N slice of B in workgroup memory (both k-major, as vec4 along m and n),
// synchronises, and every invocation reads one vec4 of each per k for 16 FMAs.
//
// Operands come in through strides: A(row, k) = A[t * a_bs + row * a_rs + k * a_ks] and
// B(k, col) = B[t * b_bs + k * b_ks + col * b_cs]. Each operand is staged in runs of 4 elements
// along its contiguous direction (A: m when a_mvec, else k; B: n when b_nvec, else k). Where that
// direction is 16-byte aligned (its length, and the batch stride when batch > 1, multiples of 4)
// the host picks an entry point that reads the run as one vec4 (binding lhs4 / rhs4); otherwise
// the run is read as 4 bounds-checked scalars (lhs / rhs). Entry points: forward_vv, forward_vs, forward_sv,
// forward_ss (A vec4 or scalar, then B). Elements past the matrix edge (rows, columns, k) are
// staged as zeros, so the inner loop has no checks; stores are masked.
//
// Grid: x = column tiles, y = row tiles (times ceil(batches / zmax) when the batch is folded),
// z = batch mod zmax. WG must equal (TILE_M / 4) * (TILE_N / 4) (the host sets it); TILE_M,
// TILE_N and TILE_K must be multiples of 4.

override TILE_M: u32 = 64u;
override TILE_N: u32 = 64u;
override TILE_K: u32 = 32u;
override WG: u32 = 256u;

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
  // 1: A is staged in runs along m (transposed A), 0: along k
  a_mvec: u32,
  // 1: B is staged in runs along n, 0: along k (transposed B)
  b_nvec: u32,
  tiles_m: u32,
  batches: u32,
  // the grid's z extent: batches past it are folded into y
  zmax: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(1) var<storage, read> lhs4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// k-major tiles: tile_a[kk * TILE_M / 4 + q] holds rows 4q..4q+3 at k0 + kk
var<workgroup> tile_a: array<vec4<f32>, TILE_K * TILE_M / 4u>;
var<workgroup> tile_b: array<vec4<f32>, TILE_K * TILE_N / 4u>;

var<private> acc0: vec4<f32>;
var<private> acc1: vec4<f32>;
var<private> acc2: vec4<f32>;
var<private> acc3: vec4<f32>;

// Where one workgroup works: batch, first row and column, and the operands' batch offsets.
struct Place {
  batch: u32,
  i0: u32,
  j0: u32,
  a_off: u32,
  b_off: u32,
}

fn place(wid: vec3<u32>) -> Place {
  let batch = wid.z + p.zmax * (wid.y / p.tiles_m);
  return Place(batch, (wid.y % p.tiles_m) * TILE_M, wid.x * TILE_N, batch * p.a_bs, batch * p.b_bs);
}

// Run `v` of the A tile: its first element as (row, k) inside the tile.
fn a_run(v: u32) -> vec2<u32> {
  if (p.a_mvec == 1u) {
    return vec2<u32>((v % (TILE_M / 4u)) * 4u, v / (TILE_M / 4u));
  }
  return vec2<u32>(v / (TILE_K / 4u), (v % (TILE_K / 4u)) * 4u);
}

fn put_a(at: vec2<u32>, val: vec4<f32>) {
  if (p.a_mvec == 1u) {
    tile_a[at.y * (TILE_M / 4u) + at.x / 4u] = val;
  } else {
    for (var c = 0u; c < 4u; c++) {
      tile_a[(at.y + c) * (TILE_M / 4u) + at.x / 4u][at.x % 4u] = val[c];
    }
  }
}

// Run `v` of the B tile: its first element as (k, col) inside the tile.
fn b_run(v: u32) -> vec2<u32> {
  if (p.b_nvec == 1u) {
    return vec2<u32>(v / (TILE_N / 4u), (v % (TILE_N / 4u)) * 4u);
  }
  return vec2<u32>((v % (TILE_K / 4u)) * 4u, v / (TILE_K / 4u));
}

fn put_b(at: vec2<u32>, val: vec4<f32>) {
  if (p.b_nvec == 1u) {
    tile_b[at.x * (TILE_N / 4u) + at.y / 4u] = val;
  } else {
    for (var c = 0u; c < 4u; c++) {
      tile_b[(at.x + c) * (TILE_N / 4u) + at.y / 4u][at.y % 4u] = val[c];
    }
  }
}

// The 4 elements of A from (row, kk) along the staging direction, one bounds-checked load each.
fn fetch_a1(off: u32, row: u32, kk: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let dir = select(vec2<u32>(0u, 1u), vec2<u32>(1u, 0u), p.a_mvec == 1u);
  for (var c = 0u; c < 4u; c++) {
    let r = row + c * dir.x;
    let l = kk + c * dir.y;
    if (r < p.m && l < p.k) {
      v[c] = lhs[off + r * p.a_rs + l * p.a_ks];
    }
  }
  return v;
}

// The same run read as one vec4 (the host guarantees alignment and that runs never straddle the edge).
fn fetch_a4(off: u32, row: u32, kk: u32) -> vec4<f32> {
  if (row < p.m && kk < p.k) {
    return lhs4[(off + row * p.a_rs + kk * p.a_ks) / 4u];
  }
  return vec4<f32>(0.0);
}

fn fetch_b1(off: u32, kk: u32, col: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let dir = select(vec2<u32>(1u, 0u), vec2<u32>(0u, 1u), p.b_nvec == 1u);
  for (var c = 0u; c < 4u; c++) {
    let l = kk + c * dir.x;
    let j = col + c * dir.y;
    if (l < p.k && j < p.n) {
      v[c] = rhs[off + l * p.b_ks + j * p.b_cs];
    }
  }
  return v;
}

fn fetch_b4(off: u32, kk: u32, col: u32) -> vec4<f32> {
  if (kk < p.k && col < p.n) {
    return rhs4[(off + kk * p.b_ks + col * p.b_cs) / 4u];
  }
  return vec4<f32>(0.0);
}

fn stage_a1(w: Place, k0: u32, li: u32) {
  for (var v = li; v < TILE_M * TILE_K / 4u; v += WG) {
    let at = a_run(v);
    put_a(at, fetch_a1(w.a_off, w.i0 + at.x, k0 + at.y));
  }
}

fn stage_a4(w: Place, k0: u32, li: u32) {
  for (var v = li; v < TILE_M * TILE_K / 4u; v += WG) {
    let at = a_run(v);
    put_a(at, fetch_a4(w.a_off, w.i0 + at.x, k0 + at.y));
  }
}

fn stage_b1(w: Place, k0: u32, li: u32) {
  for (var v = li; v < TILE_K * TILE_N / 4u; v += WG) {
    let at = b_run(v);
    put_b(at, fetch_b1(w.b_off, k0 + at.x, w.j0 + at.y));
  }
}

fn stage_b4(w: Place, k0: u32, li: u32) {
  for (var v = li; v < TILE_K * TILE_N / 4u; v += WG) {
    let at = b_run(v);
    put_b(at, fetch_b4(w.b_off, k0 + at.x, w.j0 + at.y));
  }
}

// One staged TILE_K slice into this invocation's 4x4 register tile.
fn multiply(li: u32) {
  let tx = li % (TILE_N / 4u);
  let ty = li / (TILE_N / 4u);
  for (var kk = 0u; kk < TILE_K; kk++) {
    let av = tile_a[kk * (TILE_M / 4u) + ty];
    let bv = tile_b[kk * (TILE_N / 4u) + tx];
    acc0 += av.x * bv;
    acc1 += av.y * bv;
    acc2 += av.z * bv;
    acc3 += av.w * bv;
  }
}

fn store_row(w: Place, row: u32, col: u32, v: vec4<f32>) {
  if (row >= p.m) {
    return;
  }
  let o = (w.batch * p.m + row) * p.n;
  for (var c = 0u; c < 4u; c++) {
    if (col + c < p.n) {
      dst[o + col + c] = v[c];
    }
  }
}

fn store(w: Place, li: u32) {
  let row = w.i0 + (li / (TILE_N / 4u)) * 4u;
  let col = w.j0 + (li % (TILE_N / 4u)) * 4u;
  store_row(w, row, col, acc0);
  store_row(w, row + 1u, col, acc1);
  store_row(w, row + 2u, col, acc2);
  store_row(w, row + 3u, col, acc3);
}

@compute @workgroup_size(WG)
fn forward_vv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let w = place(wid);
  if (w.batch >= p.batches) {
    return;
  }
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    stage_a4(w, k0, li);
    stage_b4(w, k0, li);
    workgroupBarrier();
    multiply(li);
    workgroupBarrier();
  }
  store(w, li);
}

@compute @workgroup_size(WG)
fn forward_vs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let w = place(wid);
  if (w.batch >= p.batches) {
    return;
  }
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    stage_a4(w, k0, li);
    stage_b1(w, k0, li);
    workgroupBarrier();
    multiply(li);
    workgroupBarrier();
  }
  store(w, li);
}

@compute @workgroup_size(WG)
fn forward_sv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let w = place(wid);
  if (w.batch >= p.batches) {
    return;
  }
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    stage_a1(w, k0, li);
    stage_b4(w, k0, li);
    workgroupBarrier();
    multiply(li);
    workgroupBarrier();
  }
  store(w, li);
}

@compute @workgroup_size(WG)
fn forward_ss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let w = place(wid);
  if (w.batch >= p.batches) {
    return;
  }
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    stage_a1(w, k0, li);
    stage_b1(w, k0, li);
    workgroupBarrier();
    multiply(li);
    workgroupBarrier();
  }
  store(w, li);
}
