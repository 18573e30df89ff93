// Batch norm over one channel axis (PyTorch nn.BatchNorm1d/2d semantics). x is viewed as
// [outer, C, inner]; each channel's statistics are taken over the M = outer * inner values that
// share its index. Training mode normalises with the batch mean and biased variance and updates
// the running statistics (unbiased variance); eval mode normalises with the running statistics.
//
//   stats_partial   per chunk of CHUNK reduction positions and per channel: count-free Welford
//                   mean and sum of squared deviations
//   stats_final     per channel: the chunks combined in chunk order (Chan's formula), giving the
//                   mean and rstd = 1 / sqrt(var + eps); optionally the running-stat update
//                   running = (1 - momentum) * running + momentum * batch (variance unbiased)
//   eval_stats      per channel: mean = running_mean, rstd = 1 / sqrt(running_var + eps)
//   forward         y = (x - mean[c]) * rstd[c] * w[c] + b[c]
//   backward_partial  per chunk and channel: sums of dy and of dy * xhat
//   backward_final    per channel: the chunks added in order -> dbias = sum dy, dweight = sum dy * xhat
//   backward_x      with g = dy * w: training dx = rstd * (g - w * sum(dy) / M - xhat * w * sum(dy * xhat) / M),
//                   eval dx = rstd * g (the statistics are constants)
// forward4c / backward_x4c (inner == 1, C a multiple of 4: 4 neighbouring values are 4 channels)
// and forward4i / backward_x4i (inner a multiple of 4: they share one channel) are forward and
// backward_x 4 values per invocation, with vec4 loads and stores (p.n, bx.n count vec4s).
// All sums run in a fixed order (deterministic, no atomics). Without a weight (bias) the TS side
// binds any buffer and sets has_weight (has_bias) to 0. Locals never reuse a resource's name.

override WG: u32 = 64u;

// ---- statistics ----

struct PartialParams {
  outer: u32,
  channels: u32,
  inner: u32,
  // reduction positions per chunk
  chunk: u32,
  // chunks * channels invocations
  n: u32,
}

@group(0) @binding(0) var<uniform> sp: PartialParams;
@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> part_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> part_m2: array<f32>;

@compute @workgroup_size(WG)
fn stats_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= sp.n) {
    return;
  }
  let c = i % sp.channels;
  let first = (i / sp.channels) * sp.chunk;
  let last = min(first + sp.chunk, sp.outer * sp.inner);
  var mu = 0.0;
  var m2 = 0.0;
  for (var m = first; m < last; m++) {
    let v = sx[((m / sp.inner) * sp.channels + c) * sp.inner + m % sp.inner];
    let d = v - mu;
    mu += d / f32(m - first + 1u);
    m2 += d * (v - mu);
  }
  part_mean[i] = mu;
  part_m2[i] = m2;
}

struct FinalParams {
  channels: u32,
  chunks: u32,
  chunk: u32,
  // reduction positions per channel (M)
  total: u32,
  eps: f32,
  momentum: f32,
  // 1: update the running statistics
  update: u32,
}

@group(0) @binding(0) var<uniform> sf: FinalParams;
@group(0) @binding(1) var<storage, read> fin_mean: array<f32>;
@group(0) @binding(2) var<storage, read> fin_m2: array<f32>;
@group(0) @binding(3) var<storage, read_write> smean: array<f32>;
@group(0) @binding(4) var<storage, read_write> srstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> run_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> run_var: array<f32>;

@compute @workgroup_size(WG)
fn stats_final(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= sf.channels) {
    return;
  }
  var cnt = 0.0;
  var mu = 0.0;
  var m2 = 0.0;
  for (var k = 0u; k < sf.chunks; k++) {
    let nb = f32(min(sf.chunk, sf.total - k * sf.chunk));
    let mb = fin_mean[k * sf.channels + c];
    let d = mb - mu;
    let tot = cnt + nb;
    mu += d * nb / tot;
    m2 += fin_m2[k * sf.channels + c] + d * d * cnt * nb / tot;
    cnt = tot;
  }
  smean[c] = mu;
  srstd[c] = 1.0 / sqrt(m2 / cnt + sf.eps);
  if (sf.update != 0u) {
    run_mean[c] = (1.0 - sf.momentum) * run_mean[c] + sf.momentum * mu;
    run_var[c] = (1.0 - sf.momentum) * run_var[c] + sf.momentum * (m2 / (cnt - 1.0));
  }
}

struct EvalParams {
  channels: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> ep: EvalParams;
@group(0) @binding(1) var<storage, read> erun_mean: array<f32>;
@group(0) @binding(2) var<storage, read> erun_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> emean: array<f32>;
@group(0) @binding(4) var<storage, read_write> erstd: array<f32>;

@compute @workgroup_size(WG)
fn eval_stats(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= ep.channels) {
    return;
  }
  emean[c] = erun_mean[c];
  erstd[c] = 1.0 / sqrt(erun_var[c] + ep.eps);
}

// ---- forward ----

struct Params {
  n: u32,
  channels: u32,
  inner: u32,
  has_weight: u32,
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let c = (i / p.inner) % p.channels;
  var out = (x[i] - mean[c]) * rstd[c];
  if (p.has_weight != 0u) {
    out *= weight[c];
  }
  if (p.has_bias != 0u) {
    out += bias[c];
  }
  y[i] = out;
}

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> mean4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> rstd4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> weight4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn forward4c(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let q = i % (p.channels / 4u);
  var out = (x4[i] - mean4[q]) * rstd4[q];
  if (p.has_weight != 0u) {
    out *= weight4[q];
  }
  if (p.has_bias != 0u) {
    out += bias4[q];
  }
  y4[i] = out;
}

@compute @workgroup_size(WG)
fn forward4i(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let c = ((4u * i) / p.inner) % p.channels;
  var out = (x4[i] - mean[c]) * rstd[c];
  if (p.has_weight != 0u) {
    out *= weight[c];
  }
  if (p.has_bias != 0u) {
    out += bias[c];
  }
  y4[i] = out;
}

// ---- backward ----

@group(0) @binding(0) var<uniform> bp: PartialParams;
@group(0) @binding(1) var<storage, read> px: array<f32>;
@group(0) @binding(2) var<storage, read> pmean: array<f32>;
@group(0) @binding(3) var<storage, read> prstd: array<f32>;
@group(0) @binding(4) var<storage, read> pdy: array<f32>;
@group(0) @binding(5) var<storage, read_write> part_dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> part_dyx: array<f32>;

@compute @workgroup_size(WG)
fn backward_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bp.n) {
    return;
  }
  let c = i % bp.channels;
  let first = (i / bp.channels) * bp.chunk;
  let last = min(first + bp.chunk, bp.outer * bp.inner);
  let mu = pmean[c];
  let r = prstd[c];
  var s = 0.0;
  var sx_hat = 0.0;
  for (var m = first; m < last; m++) {
    let at = ((m / bp.inner) * bp.channels + c) * bp.inner + m % bp.inner;
    let g = pdy[at];
    s += g;
    sx_hat += g * (px[at] - mu) * r;
  }
  part_dy[i] = s;
  part_dyx[i] = sx_hat;
}

struct SumParams {
  channels: u32,
  chunks: u32,
}

@group(0) @binding(0) var<uniform> bf: SumParams;
@group(0) @binding(1) var<storage, read> fin_dy: array<f32>;
@group(0) @binding(2) var<storage, read> fin_dyx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dweight: array<f32>;

@compute @workgroup_size(WG)
fn backward_final(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= bf.channels) {
    return;
  }
  var s = 0.0;
  var sx_hat = 0.0;
  for (var k = 0u; k < bf.chunks; k++) {
    s += fin_dy[k * bf.channels + c];
    sx_hat += fin_dyx[k * bf.channels + c];
  }
  dbias[c] = s;
  dweight[c] = sx_hat;
}

struct BackParams {
  n: u32,
  channels: u32,
  inner: u32,
  total: u32,
  training: u32,
  has_weight: u32,
}

@group(0) @binding(0) var<uniform> bx: BackParams;
@group(0) @binding(1) var<storage, read> xx: array<f32>;
@group(0) @binding(2) var<storage, read> xmean: array<f32>;
@group(0) @binding(3) var<storage, read> xrstd: array<f32>;
@group(0) @binding(4) var<storage, read> xw: array<f32>;
@group(0) @binding(5) var<storage, read> xsum_dy: array<f32>;
@group(0) @binding(6) var<storage, read> xsum_dyx: array<f32>;
@group(0) @binding(7) var<storage, read> xdy: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bx.n) {
    return;
  }
  let c = (i / bx.inner) % bx.channels;
  var w = 1.0;
  if (bx.has_weight != 0u) {
    w = xw[c];
  }
  let r = xrstd[c];
  var g = xdy[i] * w;
  if (bx.training != 0u) {
    let xhat = (xx[i] - xmean[c]) * r;
    let cnt = f32(bx.total);
    g -= w * (xsum_dy[c] + xhat * xsum_dyx[c]) / cnt;
  }
  dx[i] = r * g;
}

@group(0) @binding(1) var<storage, read> xx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> xmean4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> xrstd4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> xw4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> xsum_dy4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> xsum_dyx4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> xdy4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dx4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward_x4c(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bx.n) {
    return;
  }
  let q = i % (bx.channels / 4u);
  var w = vec4<f32>(1.0);
  if (bx.has_weight != 0u) {
    w = xw4[q];
  }
  let r = xrstd4[q];
  var g = xdy4[i] * w;
  if (bx.training != 0u) {
    let xhat = (xx4[i] - xmean4[q]) * r;
    let cnt = f32(bx.total);
    g -= w * (xsum_dy4[q] + xhat * xsum_dyx4[q]) / cnt;
  }
  dx4[i] = r * g;
}

@compute @workgroup_size(WG)
fn backward_x4i(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bx.n) {
    return;
  }
  let c = ((4u * i) / bx.inner) % bx.channels;
  var w = 1.0;
  if (bx.has_weight != 0u) {
    w = xw[c];
  }
  let r = xrstd[c];
  var g = xdy4[i] * w;
  if (bx.training != 0u) {
    let xhat = (xx4[i] - xmean[c]) * r;
    let cnt = f32(bx.total);
    g -= w * (xsum_dy[c] + xhat * xsum_dyx[c]) / cnt;
  }
  dx4[i] = r * g;
}

// ---- num_batches_tracked ----

@group(0) @binding(0) var<storage, read_write> counter: array<i32>;

@compute @workgroup_size(1)
fn count_batch() {
  counter[0] += 1;
}
