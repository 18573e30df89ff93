/**
 * The classification losses of ../shared/AUNCE_SPEC.md §2, each one tape node with its own
 * backward kernel: wceLoss, the paper's weighted cross-entropy (Eq 1) on one sigmoid logit per AU,
 * and auSoftmaxLoss, the released code's `au_softmax_loss` on two logits per AU (softmax over the
 * pair, the selected probability clamped below at 1e-3, zero gradient where the clamp is active).
 * The forward writes w_k * loss per element (kernels/wce.wgsl), then reduces them with the
 * fixed-order mean or sum of reduce.ts: no atomics, the same input gives the same bits. The
 * output has shape [], like sum() over all elements.
 */
import { shapeStr } from '../tensor/shape.js';
import { needsGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { mean, sum } from './reduce.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'wce.wgsl';
const WG = 64;

/** The released code's floor of the selected probability (`torch.clamp(P, min=1e-3)`). */
export const AU_SOFTMAX_CLAMP_MIN = 1e-3;

/**
 * Labels [B, K]: host rows of 0/1 (checked), or an f32 tensor on the logits' device (not checked:
 * values other than 0 and 1 enter the per-element formula as soft labels, as in PyTorch).
 */
export type WceLabels = Tensor | readonly (readonly number[])[];

export interface WceLossOptions {
  /** AU weight w_k ([K], finite); all ones when absent or null */
  weight?: readonly number[] | null;
  /** 'mean' (default) divides the sum over the B·K elements by B·K (NaN when B·K = 0); 'sum' does not */
  reduction?: 'mean' | 'sum';
}

export interface AuSoftmaxLossOptions extends WceLossOptions {
  /** floor of the selected probability, in [0, 1); default 1e-3 (the released code) */
  clampMin?: number;
}

interface Prepared {
  labels: Tensor;
  /** true when the labels tensor was uploaded here (and so belongs to this op) */
  ownLabels: boolean;
  weight: Tensor | null;
  params: { n: number; k: number; scale: number; has_weight: number; clamp_min: number; log_clamp_min: number };
  reduction: 'mean' | 'sum';
}

/** Checks everything, then uploads host labels and weights: nothing is dispatched before. */
function prepare(op: string, logits: Tensor, labels: WceLabels, opts: AuSoftmaxLossOptions, pairs: boolean): Prepared {
  const device = checkInputs(op, [logits]);
  const s = logits.shape;
  if (pairs ? s.length !== 3 || s[1] !== 2 : s.length !== 2) {
    throw new RangeError(`${op}: logits must be ${pairs ? '[B, 2, K]' : '[B, K]'}; got ${shapeStr(s)}`);
  }
  const B = s[0]!;
  const K = s[s.length - 1]!;
  if (labels instanceof Tensor) {
    checkInputs(op, [logits, labels]);
    if (labels.rank !== 2 || labels.shape[0] !== B || labels.shape[1] !== K) {
      throw new RangeError(`${op}: labels ${shapeStr(labels.shape)} do not match logits ${shapeStr(s)} (expected [${B}, ${K}])`);
    }
  } else {
    if (labels.length !== B) throw new RangeError(`${op}: labels have ${labels.length} rows, logits ${shapeStr(s)} need B = ${B}`);
    labels.forEach((row, b) => {
      if (row.length !== K) throw new RangeError(`${op}: labels row ${b} has ${row.length} entries, logits ${shapeStr(s)} need K = ${K}`);
      row.forEach((v, k) => {
        if (v !== 0 && v !== 1) throw new RangeError(`${op}: label at row ${b}, AU ${k} is ${String(v)}; labels must be 0 or 1`);
      });
    });
  }
  const w = opts.weight ?? null;
  if (w) {
    if (w.length !== K) throw new RangeError(`${op}: weight has shape [${w.length}], logits ${shapeStr(s)} need [${K}]`);
    w.forEach((v, k) => {
      if (!Number.isFinite(v)) throw new RangeError(`${op}: weight[${k}] is ${v}; weights must be finite`);
    });
  }
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new RangeError(`${op}: unknown reduction '${String(reduction)}' (mean | sum)`);
  const clampMin = opts.clampMin ?? AU_SOFTMAX_CLAMP_MIN;
  if (!(clampMin >= 0 && clampMin < 1)) throw new RangeError(`${op}: clampMin must be in [0, 1), got ${clampMin}`);
  const n = B * K;
  const ownLabels = !(labels instanceof Tensor);
  const labelT = labels instanceof Tensor ? labels : Tensor.from(device, labels.flat(), [B, K]);
  const c = Math.fround(clampMin);
  return {
    labels: labelT,
    ownLabels,
    weight: w ? Tensor.from(device, w, [K]) : null,
    params: { n, k: K, scale: reduction === 'mean' && n > 0 ? 1 / n : 1, has_weight: w ? 1 : 0, clamp_min: c, log_clamp_min: Math.log(c) },
    reduction,
  };
}

function lossOp(op: 'wceLoss' | 'auSoftmaxLoss', entry: 'wce' | 'au_softmax', logits: Tensor, labels: WceLabels, opts: AuSoftmaxLossOptions): Tensor {
  const pr = prepare(op, logits, labels, opts, entry === 'au_softmax');
  const device = logits.device;
  const { n } = pr.params;
  const common = { p: pr.params };
  const bound = { logits: logits.buffer, labels: pr.labels.buffer, weight: pr.weight?.buffer ?? device.dummyBuffer() };
  const losses = Tensor.empty(device, [n]);
  device.dispatch(kernel(device, FILE, `${entry}_forward`, { WG }), {
    buffers: { ...bound, losses: losses.buffer },
    uniforms: common,
    workgroups: grid1d(device, n, WG),
  });
  const out = pr.reduction === 'mean' ? mean(losses) : sum(losses);
  losses.dispose();
  const release = () => {
    if (pr.ownLabels) pr.labels.dispose();
    pr.weight?.dispose();
  };
  // Uploaded labels and weights belong to this op: freed now unless the backward will read them.
  if (!needsGrad([logits])) {
    release();
    return out;
  }
  return record(op, [logits], out, (dy) => {
    const dl = Tensor.empty(device, logits.shape);
    device.dispatch(kernel(device, FILE, `${entry}_backward`, { WG }), {
      buffers: { ...bound, dy: dy.buffer, dlogits: dl.buffer },
      uniforms: common,
      workgroups: grid1d(device, n, WG),
    });
    return [dl];
  });
}

/**
 * Eq (1) of the paper on logits [B, K]: with p̂ = sigmoid(logit),
 * L = (1/(B·K)) Σ_b Σ_k w_k [−y log p̂ − (1−y) log(1−p̂)] ('mean', default) or the sum.
 * Returns a differentiable scalar (shape []); labels and weights get no gradient.
 */
export function wceLoss(logits: Tensor, labels: WceLabels, opts: WceLossOptions = {}): Tensor {
  return lossOp('wceLoss', 'wce', logits, labels, opts);
}

/**
 * The released `au_softmax_loss` on logits [B, 2, K] (two logits per AU; softmax over axis 1,
 * channel 0 = P(active)): ℓ = −w_k [y log max(P0, c) + (1−y) log max(P1, c)], c = 1e-3, mean over
 * B·K ('mean', default) or sum. A clamped probability passes no gradient; at P = c it passes, as
 * PyTorch's clamp(min). Returns a differentiable scalar (shape []).
 */
export function auSoftmaxLoss(logits: Tensor, labels: WceLabels, opts: AuSoftmaxLossOptions = {}): Tensor {
  return lossOp('auSoftmaxLoss', 'au_softmax', logits, labels, opts);
}
