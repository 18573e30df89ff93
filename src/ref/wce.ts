/**
 * float64 CPU reference of the two classification losses of ../shared/AUNCE_SPEC.md §2: the paper's
 * weighted cross-entropy, Eq (1), on one sigmoid logit per AU, and the released code's
 * `au_softmax_loss` on two logits per AU (softmax over the pair, the selected probability clamped
 * below at 1e-3). Each returns the loss and dL/dlogits for dL = 1. Independent of the GPU.
 *
 * Both are written with a general label y in the per-element formula, but only y ∈ {0, 1} is
 * accepted here: the labels are [B][K] arrays of 0/1, as everywhere in this project.
 */
import { nd, type NDArray } from './ndarray.js';

export interface WceOptions {
  /** AU weight w_k ([K], finite); all ones when absent or null */
  weight?: readonly number[] | null;
  /** 'mean' (default) divides the sum over the B·K elements by B·K; 'sum' does not */
  reduction?: 'mean' | 'sum';
}

export interface AuSoftmaxOptions extends WceOptions {
  /**
   * The floor of the selected probability, in [0, 1): the released code's 1e-3 by default. Other
   * values exist so that the clamp boundary can be tested where probabilities are exact (0.5).
   */
  clampMin?: number;
}

/** The released code's clamp floor (`torch.clamp(P, min=1e-3)`, spec §2.2). */
export const AU_SOFTMAX_CLAMP_MIN = 1e-3;

/** softplus(x) = log(1 + e^x), without overflow or cancellation. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

interface Resolved {
  B: number;
  K: number;
  w: Float64Array;
  /** factor on every element: 1/(B·K) for 'mean', 1 for 'sum' */
  scale: number;
}

/** Checks the labels [B][K] against logits of shape `shape` (K at the last axis) and the options. */
function resolve(op: string, shape: readonly number[], labels: readonly (readonly number[])[], opts: WceOptions): Resolved {
  const B = shape[0]!;
  const K = shape[shape.length - 1]!;
  if (labels.length !== B) throw new RangeError(`${op}: labels have ${labels.length} rows, logits of shape ${fmt(shape)} need B = ${B}`);
  labels.forEach((row, b) => {
    if (row.length !== K) throw new RangeError(`${op}: labels row ${b} has ${row.length} entries, logits of shape ${fmt(shape)} need K = ${K}`);
    row.forEach((v, k) => {
      if (v !== 0 && v !== 1) throw new RangeError(`${op}: label at row ${b}, AU ${k} is ${String(v)}; labels must be 0 or 1`);
    });
  });
  const w = new Float64Array(K).fill(1);
  if (opts.weight) {
    if (opts.weight.length !== K) throw new RangeError(`${op}: weight has shape [${opts.weight.length}], logits have shape ${fmt(shape)} (expected [${K}])`);
    opts.weight.forEach((v, k) => {
      if (!Number.isFinite(v)) throw new RangeError(`${op}: weight[${k}] is ${v}; weights must be finite`);
      w[k] = v;
    });
  }
  const red = opts.reduction ?? 'mean';
  if (red !== 'mean' && red !== 'sum') throw new RangeError(`${op}: unknown reduction '${String(red)}' (mean | sum)`);
  // B·K = 0 with 'mean': 0 / 0 = NaN, as PyTorch's mean of an empty tensor
  return { B, K, w, scale: red === 'mean' ? 1 / (B * K) : 1 };
}

/**
 * Eq (1) on logits [B, K]: p̂ = sigmoid(logit);
 * L = (1/(B·K)) Σ_b Σ_k w_k·[−y log p̂ − (1−y) log(1−p̂)] for 'mean' (default); 'sum' drops 1/(B·K).
 * log p̂ = −softplus(−l) and log(1 − p̂) = −softplus(l); dL/dl = scale·w_k·(p̂ − y).
 */
export function wceLossRef(logits: NDArray, labels: readonly (readonly number[])[], opts: WceOptions = {}): { loss: number; grad: NDArray } {
  if (logits.shape.length !== 2) throw new RangeError(`wceLossRef: logits must be [B, K]; got shape ${fmt(logits.shape)}`);
  const { B, K, w, scale } = resolve('wceLossRef', logits.shape, labels, opts);
  const grad = nd([B, K]);
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const i = b * K + k;
      const l = logits.data[i]!;
      const y = labels[b]![k]!;
      total += w[k]! * (y * softplus(-l) + (1 - y) * softplus(l));
      // p̂ − y = −y·sigmoid(−l) + (1 − y)·sigmoid(l): no cancellation near p̂ = y
      grad.data[i] = scale * w[k]! * ((1 - y) * sigmoid(l) - y * sigmoid(-l));
    }
  }
  return { loss: total * scale, grad };
}

/**
 * The released `au_softmax_loss` on logits [B, 2, K]: P = softmax over axis 1 (channel 0 is
 * P(active)); ℓ = −w_k[y log max(P0, c) + (1−y) log max(P1, c)] with c = 1e-3, mean over B·K
 * ('mean') or sum. Where the selected probability is < c the clamp passes zero gradient; at
 * exact equality the gradient passes (PyTorch's clamp(min) backward mask is P >= c).
 * Unclamped: dL/dl0 = scale·w_k·(P0 − y) = −dL/dl1.
 */
export function auSoftmaxLossRef(logits: NDArray, labels: readonly (readonly number[])[], opts: AuSoftmaxOptions = {}): { loss: number; grad: NDArray } {
  const s = logits.shape;
  if (s.length !== 3 || s[1] !== 2) throw new RangeError(`auSoftmaxLossRef: logits must be [B, 2, K]; got shape ${fmt(s)}`);
  const { B, K, w, scale } = resolve('auSoftmaxLossRef', s, labels, opts);
  const c = opts.clampMin ?? AU_SOFTMAX_CLAMP_MIN;
  if (!(c >= 0 && c < 1)) throw new RangeError(`auSoftmaxLossRef: clampMin must be in [0, 1), got ${c}`);
  const grad = nd([B, 2, K]);
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const i0 = (b * 2) * K + k;
      const i1 = i0 + K;
      const l0 = logits.data[i0]!;
      const l1 = logits.data[i1]!;
      const m = Math.max(l0, l1);
      const e0 = Math.exp(l0 - m);
      const e1 = Math.exp(l1 - m);
      const lse = Math.log(e0 + e1);
      const p0 = e0 / (e0 + e1);
      const p1 = e1 / (e0 + e1);
      const y = labels[b]![k]!;
      // pass-through masks of the two clamps and log max(P, c), taken from log-softmax when unclamped
      const pass0 = p0 >= c;
      const pass1 = p1 >= c;
      const logP0 = pass0 ? l0 - m - lse : Math.log(c);
      const logP1 = pass1 ? l1 - m - lse : Math.log(c);
      total -= w[k]! * (y * logP0 + (1 - y) * logP1);
      // d(−log P0)/dl0 = −P1, d(−log P1)/dl0 = P0; each l1 partial is the negative
      const g = scale * w[k]! * ((1 - y) * (pass1 ? p0 : 0) - y * (pass0 ? p1 : 0));
      grad.data[i0] = g;
      grad.data[i1] = -g;
    }
  }
  return { loss: total * scale, grad };
}
