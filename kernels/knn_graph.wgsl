// The ANFL facial graph (ME-GraphAU's FGG with the 'dots' metric and normalize_digraph): from
// similarities s [B, K, K], A_ij = 1[s_ij >= thr_i] where thr_i is the k-th largest value of row i
// counted with multiplicity (torch.topk(k)[..., -1]), so ties can admit more than k neighbours.
// s_ij >= thr_i exactly when fewer than k entries of row i exceed s_ij, which is what both
// kernels test. Then d_i = sum_j A_ij (row degree) and Ahat_ij = d_i^-1/2 * A_ij * d_j^-1/2.
//
//   degree      one invocation per row (b, i): d_i
//   adjacency   one invocation per entry (b, i, j): Ahat_ij
// No gradient flows through the graph (the released code detaches s).

override WG: u32 = 64u;

struct Params {
  // B * K rows (degree) or B * K * K entries (adjacency)
  n: u32,
  nodes: u32,
  neighbors: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> deg: array<f32>;

// 1.0 when entry j of the row starting at `base` is among the row's k largest (with ties)
fn in_graph(base: u32, j: u32) -> f32 {
  let v = s[base + j];
  var above = 0u;
  for (var l = 0u; l < p.nodes; l++) {
    if (s[base + l] > v) {
      above++;
    }
  }
  return select(0.0, 1.0, above < p.neighbors);
}

@compute @workgroup_size(WG)
fn degree(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.n) {
    return;
  }
  var d = 0.0;
  for (var j = 0u; j < p.nodes; j++) {
    d += in_graph(row * p.nodes, j);
  }
  deg[row] = d;
}

@group(0) @binding(0) var<uniform> ap: Params;
@group(0) @binding(1) var<storage, read> gs: array<f32>;
@group(0) @binding(2) var<storage, read> adeg: array<f32>;
@group(0) @binding(3) var<storage, read_write> ahat: array<f32>;

@compute @workgroup_size(WG)
fn adjacency(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * WG;
  if (e >= ap.n) {
    return;
  }
  let row = e / ap.nodes;
  let j = e % ap.nodes;
  let base = row * ap.nodes;
  let v = gs[e];
  var above = 0u;
  for (var l = 0u; l < ap.nodes; l++) {
    if (gs[base + l] > v) {
      above++;
    }
  }
  var out = 0.0;
  if (above < ap.neighbors) {
    let other = (row / ap.nodes) * ap.nodes + j;
    out = (1.0 / sqrt(adeg[row])) / sqrt(adeg[other]);
  }
  ahat[e] = out;
}
