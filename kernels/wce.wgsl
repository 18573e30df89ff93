// The classification losses of AUNCE_SPEC.md §2, per element, forward and backward. One invocation
// per (b, k) of a batch of B images and K AUs; n = B * K. The forward entry points write
// w_k * loss_bk to `losses`; the TS side reduces them with the fixed-order mean or sum of
// reduce.ts (no atomics). The backward entry points read the scalar output gradient dy[0] and
// multiply by `scale` (1 / (B K) for 'mean', 1 for 'sum').
//
//   wce_forward          logits [B, K], p = sigmoid(l) (paper Eq 1):
//                        loss = y softplus(-l) + (1 - y) softplus(l)
//   wce_backward         dl = g w_k (p - y), written as (1 - y) sigmoid(l) - y sigmoid(-l)
//   au_softmax_forward   logits [B, 2, K], (P0, P1) = softmax of (l0, l1) (the released
//                        au_softmax_loss): loss = -(y log max(P0, c) + (1 - y) log max(P1, c))
//   au_softmax_backward  dl0 = g w_k ((1 - y) [P1 >= c] P0 - y [P0 >= c] P1), dl1 = -dl0: a
//                        clamped probability passes no gradient; at P = c it passes (PyTorch)
//
// The labels are read as numbers, so values other than 0 and 1 follow the same formulas (soft
// labels); the TS side checks host labels, not labels already on the device. Entry points share
// the bindings they have in common; each uses only its own others. Locals and parameters never
// reuse a resource variable's name (wgsl_reflect matches resources by name).
// Invocations beyond one grid row fold into y: i = gid.x + gid.y * nwg.x * WG.

override WG: u32 = 64u;

struct Params {
  n: u32,
  k: u32,
  scale: f32,
  has_weight: u32,
  clamp_min: f32,
  log_clamp_min: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

fn au_weight(kk: u32) -> f32 {
  if (p.has_weight != 0u) {
    return weight[kk];
  }
  return 1.0;
}

// log(1 + t) for t in [0, 1]: a series below 1/16 (WGSL's log near 1 is only accurate to an
// absolute 2^-21, which would swamp a small softplus), log beyond.
fn log1p_unit(t: f32) -> f32 {
  if (t < 0.0625) {
    return t * (1.0 - t * (0.5 - t * (0.33333334 - t * (0.25 - t * (0.2 - t * 0.16666667)))));
  }
  return log(1.0 + t);
}

// log(1 + e^v) without overflow
fn softplus(v: f32) -> f32 {
  return max(v, 0.0) + log1p_unit(exp(-abs(v)));
}

fn sigmoid(v: f32) -> f32 {
  if (v >= 0.0) {
    return 1.0 / (1.0 + exp(-v));
  }
  let e = exp(v);
  return e / (1.0 + e);
}

@compute @workgroup_size(WG)
fn wce_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let l = logits[i];
  let yv = labels[i];
  losses[i] = au_weight(i % p.k) * (yv * softplus(-l) + (1.0 - yv) * softplus(l));
}

@compute @workgroup_size(WG)
fn wce_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let l = logits[i];
  let yv = labels[i];
  let g = dy[0] * p.scale * au_weight(i % p.k);
  dlogits[i] = g * ((1.0 - yv) * sigmoid(l) - yv * sigmoid(-l));
}

// The two-way softmax of (l0, l1) at logit offset i0 (l1 lies K further on).
struct Pair {
  p0: f32,
  p1: f32,
  log_p0: f32,
  log_p1: f32,
}

fn softmax_pair(i0: u32) -> Pair {
  let a = logits[i0] - logits[i0 + p.k];
  let t = exp(-abs(a));
  let lse = log1p_unit(t); // log(e^l0 + e^l1) - max(l0, l1)
  let big = 1.0 / (1.0 + t);
  let small = t / (1.0 + t);
  var r: Pair;
  r.p0 = select(small, big, a >= 0.0);
  r.p1 = select(big, small, a >= 0.0);
  r.log_p0 = min(a, 0.0) - lse;
  r.log_p1 = min(-a, 0.0) - lse;
  return r;
}

@compute @workgroup_size(WG)
fn au_softmax_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let kk = i % p.k;
  let pr = softmax_pair((i / p.k) * 2u * p.k + kk);
  let yv = labels[i];
  let lp0 = select(p.log_clamp_min, pr.log_p0, pr.p0 >= p.clamp_min);
  let lp1 = select(p.log_clamp_min, pr.log_p1, pr.p1 >= p.clamp_min);
  losses[i] = -au_weight(kk) * (yv * lp0 + (1.0 - yv) * lp1);
}

@compute @workgroup_size(WG)
fn au_softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) {
    return;
  }
  let kk = i % p.k;
  let i0 = (i / p.k) * 2u * p.k + kk;
  let pr = softmax_pair(i0);
  let yv = labels[i];
  // d(-log P0)/dl0 = -P1 and d(-log P1)/dl0 = P0, each only where its clamp passes
  let via0 = select(0.0, pr.p1, pr.p0 >= p.clamp_min);
  let via1 = select(0.0, pr.p0, pr.p1 >= p.clamp_min);
  let d = dy[0] * p.scale * au_weight(kk) * ((1.0 - yv) * via1 - yv * via0);
  dlogits[i0] = d;
  dlogits[i0 + p.k] = -d;
}
