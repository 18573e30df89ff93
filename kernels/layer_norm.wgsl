// Layer norm over the last dimension of x viewed as [rows, cols] (PyTorch nn.LayerNorm: biased
// variance). Plain variant: one invocation per row, no workgroup memory and no barriers; it runs
// everywhere. kernels/layer_norm_subgroup.wgsl has the faster row-per-subgroup variant of
// `forward` and `backward_x`; the weight/bias gradient kernels here serve both.
//
//   forward        y = (x - mean) * rstd * w + b, saving mean and rstd = 1 / sqrt(var + eps) per row
//   backward_x     with g = dy * w and xhat = (x - mean) * rstd:
//                  dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   backward_wb_partial  per chunk of ROWS rows and per column: sums of dy * xhat and of dy
//                        (backward_wb_partial4: 4 columns at a time)
//   backward_wb_final    per column: the chunks' partial sums added in chunk order
// dw and db are thus sums in a fixed order (deterministic; no atomics).
//
// forward4 and backward_x4 are forward and backward_x reading and writing 4 columns at a time
// (cols a multiple of 4), for CPU adapters where the plain variant runs: a quarter of the loads
// and stores, which limit lavapipe. forward4's Welford pass keeps 4 running means (columns
// c = k mod 4) and merges them at the end (Chan et al.: equal counts n, so
// M2 = sum of M2_k + n * sum of (mean_k - mean)^2).
//
// Without a weight (bias), the TS side binds any buffer and sets has_weight (has_bias) to 0.
// Locals never reuse a resource variable's name (wgsl_reflect matches resources by name).

override WG: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  has_weight: u32,
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.cols;
  // Welford's running mean and sum of squared deviations: one read of the row, no cancellation
  var mu = 0.0;
  var m2 = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let v = x[base + c];
    let d = v - mu;
    mu += d / f32(c + 1u);
    m2 += d * (v - mu);
  }
  let r = 1.0 / sqrt(m2 / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) {
    var out = (x[base + c] - mu) * r;
    if (p.has_weight != 0u) {
      out *= weight[c];
    }
    if (p.has_bias != 0u) {
      out += bias[c];
    }
    y[base + c] = out;
  }
  mean[row] = mu;
  rstd[row] = r;
}

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn forward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) {
    return;
  }
  let quads = p.cols / 4u;
  let base = row * quads;
  var mu = vec4<f32>(0.0);
  var m2 = vec4<f32>(0.0);
  for (var q = 0u; q < quads; q++) {
    let v = x4[base + q];
    let d = v - mu;
    mu += d / f32(q + 1u);
    m2 += d * (v - mu);
  }
  let all_mu = (mu.x + mu.y + mu.z + mu.w) * 0.25;
  let dm = mu - all_mu;
  let all_m2 = (m2.x + m2.y + m2.z + m2.w) + f32(quads) * dot(dm, dm);
  let r = 1.0 / sqrt(all_m2 / f32(p.cols) + p.eps);
  for (var q = 0u; q < quads; q++) {
    var out = (x4[base + q] - all_mu) * r;
    if (p.has_weight != 0u) {
      out *= weight4[q];
    }
    if (p.has_bias != 0u) {
      out += bias4[q];
    }
    y4[base + q] = out;
  }
  mean[row] = all_mu;
  rstd[row] = r;
}

struct BackParams {
  rows: u32,
  cols: u32,
  has_weight: u32,
}

@group(0) @binding(0) var<uniform> bp: BackParams;
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<f32>;
@group(0) @binding(3) var<storage, read> bmean: array<f32>;
@group(0) @binding(4) var<storage, read> brstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

fn scale_of(c: u32) -> f32 {
  if (bp.has_weight != 0u) {
    return bw[c];
  }
  return 1.0;
}

@compute @workgroup_size(WG)
fn backward_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= bp.rows) {
    return;
  }
  let base = row * bp.cols;
  let mu = bmean[row];
  let r = brstd[row];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = 0u; c < bp.cols; c++) {
    let g = dy[base + c] * scale_of(c);
    sg += g;
    sgx += g * (bx[base + c] - mu) * r;
  }
  let nc = f32(bp.cols);
  let mg = sg / nc;
  let mgx = sgx / nc;
  for (var c = 0u; c < bp.cols; c++) {
    let g = dy[base + c] * scale_of(c);
    let xhat = (bx[base + c] - mu) * r;
    dx[base + c] = r * (g - mg - xhat * mgx);
  }
}

@group(0) @binding(1) var<storage, read> bx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bw4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dx4: array<vec4<f32>>;

fn scale4_of(q: u32) -> vec4<f32> {
  if (bp.has_weight != 0u) {
    return bw4[q];
  }
  return vec4<f32>(1.0);
}

@compute @workgroup_size(WG)
fn backward_x4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= bp.rows) {
    return;
  }
  let quads = bp.cols / 4u;
  let base = row * quads;
  let mu = bmean[row];
  let r = brstd[row];
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var q = 0u; q < quads; q++) {
    let g = dy4[base + q] * scale4_of(q);
    sg += g;
    sgx += g * (bx4[base + q] - mu) * r;
  }
  let nc = f32(bp.cols);
  let mg = (sg.x + sg.y + sg.z + sg.w) / nc;
  let mgx = (sgx.x + sgx.y + sgx.z + sgx.w) / nc;
  for (var q = 0u; q < quads; q++) {
    let g = dy4[base + q] * scale4_of(q);
    let xhat = (bx4[base + q] - mu) * r;
    dx4[base + q] = r * (g - mg - xhat * mgx);
  }
}

struct PartialParams {
  rows: u32,
  cols: u32,
  // rows per chunk
  chunk: u32,
  // chunks * cols invocations
  n: u32,
}

@group(0) @binding(0) var<uniform> pp: PartialParams;
@group(0) @binding(1) var<storage, read> px: array<f32>;
@group(0) @binding(2) var<storage, read> pmean: array<f32>;
@group(0) @binding(3) var<storage, read> prstd: array<f32>;
@group(0) @binding(4) var<storage, read> pdy: array<f32>;
@group(0) @binding(5) var<storage, read_write> part_w: array<f32>;
@group(0) @binding(6) var<storage, read_write> part_b: array<f32>;

@compute @workgroup_size(WG)
fn backward_wb_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= pp.n) {
    return;
  }
  let c = i % pp.cols;
  let first = (i / pp.cols) * pp.chunk;
  let last = min(first + pp.chunk, pp.rows);
  var sw = 0.0;
  var sb = 0.0;
  for (var row = first; row < last; row++) {
    let g = pdy[row * pp.cols + c];
    sw += g * (px[row * pp.cols + c] - pmean[row]) * prstd[row];
    sb += g;
  }
  part_w[i] = sw;
  part_b[i] = sb;
}

// backward_wb_partial 4 columns per invocation (cols a multiple of 4; pp.n counts chunks x cols / 4):
// the same sums in the same order, a quarter of the loads.
@group(0) @binding(1) var<storage, read> px4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> pdy4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> part_w4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> part_b4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward_wb_partial4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= pp.n) {
    return;
  }
  let quads = pp.cols / 4u;
  let q = i % quads;
  let first = (i / quads) * pp.chunk;
  let last = min(first + pp.chunk, pp.rows);
  var sw = vec4<f32>(0.0);
  var sb = vec4<f32>(0.0);
  for (var row = first; row < last; row++) {
    let g = pdy4[row * quads + q];
    sw += g * (px4[row * quads + q] - pmean[row]) * prstd[row];
    sb += g;
  }
  part_w4[i] = sw;
  part_b4[i] = sb;
}

struct FinalParams {
  cols: u32,
  chunks: u32,
}

@group(0) @binding(0) var<uniform> fp: FinalParams;
@group(0) @binding(1) var<storage, read> fin_w: array<f32>;
@group(0) @binding(2) var<storage, read> fin_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbias: array<f32>;

@compute @workgroup_size(WG)
fn backward_wb_final(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= fp.cols) {
    return;
  }
  var sw = 0.0;
  var sb = 0.0;
  for (var k = 0u; k < fp.chunks; k++) {
    sw += fin_w[k * fp.cols + c];
    sb += fin_b[k * fp.cols + c];
  }
  dweight[c] = sw;
  dbias[c] = sb;
}
