// Layer norm, row-per-subgroup variant (needs the `subgroups` feature; the plain variant and the
// weight/bias gradient kernels are in kernels/layer_norm.wgsl, with the same bindings and math).
//
// A workgroup of WG invocations holds WG / subgroup_size subgroups and each subgroup owns one row
// at a time: its lane l handles columns l, l + subgroup_size, ...; row sums come from subgroupAdd.
// This assumes what every implementation does for 1-D workgroups: subgroup s holds the local
// invocations s * subgroup_size .. (s + 1) * subgroup_size - 1 (the TS side uses this file only
// where WG is a multiple of the adapter's largest subgroup). Rows are visited in a grid-stride
// loop whose trip count is the same for the whole workgroup, so subgroupAdd always runs in
// uniform control flow; a subgroup past the last row clamps its loads and stores nothing. Any
// number of workgroups is correct (folded into y past one grid row).

enable subgroups;

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

// Rows of all workgroups together per step of the grid-stride loop.
fn step_of(nwg: vec3<u32>, sg: u32) -> u32 {
  return nwg.x * nwg.y * (WG / sg);
}

// First row of the subgroup that holds local invocation li.
fn first_row(wid: vec3<u32>, nwg: vec3<u32>, li: u32, sg: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * (WG / sg) + li / sg;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_size) sg: u32) {
  let step = step_of(nwg, sg);
  // the same trip count for the whole workgroup (subgroupAdd needs uniform control flow)
  let trips = (p.rows + step - 1u) / step;
  let first = first_row(wid, nwg, li, sg);
  let lane = li % sg;
  let nc = f32(p.cols);
  for (var t = 0u; t < trips; t++) {
    let row = first + t * step;
    let base = min(row, p.rows - 1u) * p.cols;
    // Welford per lane, then Chan's rule across lanes: one read of the row, no cancellation
    var n_l = 0.0;
    var m_l = 0.0;
    var m2 = 0.0;
    for (var c = lane; c < p.cols; c += sg) {
      let v = x[base + c];
      n_l += 1.0;
      let d = v - m_l;
      m_l += d / n_l;
      m2 += d * (v - m_l);
    }
    let mu = subgroupAdd(n_l * m_l) / nc;
    let dm = m_l - mu;
    let r = 1.0 / sqrt(subgroupAdd(m2 + n_l * dm * dm) / nc + p.eps);
    if (row < p.rows) {
      for (var c = lane; c < p.cols; c += sg) {
        var out = (x[base + c] - mu) * r;
        if (p.has_weight != 0u) {
          out *= weight[c];
        }
        if (p.has_bias != 0u) {
          out += bias[c];
        }
        y[base + c] = out;
      }
      if (lane == 0u) {
        mean[row] = mu;
        rstd[row] = r;
      }
    }
  }
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
fn backward_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_size) sg: u32) {
  let step = step_of(nwg, sg);
  // the same trip count for the whole workgroup (subgroupAdd needs uniform control flow)
  let trips = (bp.rows + step - 1u) / step;
  let first = first_row(wid, nwg, li, sg);
  let lane = li % sg;
  let nc = f32(bp.cols);
  for (var t = 0u; t < trips; t++) {
    let row = first + t * step;
    let rc = min(row, bp.rows - 1u);
    let base = rc * bp.cols;
    let mu = bmean[rc];
    let r = brstd[rc];
    var sg_sum = 0.0;
    var sgx_sum = 0.0;
    for (var c = lane; c < bp.cols; c += sg) {
      let g = dy[base + c] * scale_of(c);
      sg_sum += g;
      sgx_sum += g * (bx[base + c] - mu) * r;
    }
    let mg = subgroupAdd(sg_sum) / nc;
    let mgx = subgroupAdd(sgx_sum) / nc;
    if (row < bp.rows) {
      for (var c = lane; c < bp.cols; c += sg) {
        let g = dy[base + c] * scale_of(c);
        let xhat = (bx[base + c] - mu) * r;
        dx[base + c] = r * (g - mg - xhat * mgx);
      }
    }
  }
}
