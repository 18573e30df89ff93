/**
 * float64 reference of batch norm over one channel axis (PyTorch F.batch_norm): statistics per
 * channel over every other axis; training mode uses the batch mean and biased variance, eval mode
 * the running statistics. The running-stat update uses the unbiased variance.
 */
import { nd, type NDArray } from './ndarray.js';

export interface BatchNormRefOptions {
  axis: number;
  training: boolean;
  runningMean?: NDArray | null;
  runningVar?: NDArray | null;
  momentum?: number;
  eps?: number;
}

interface Split {
  outer: number;
  channels: number;
  inner: number;
}

function split(x: NDArray, axis: number): Split {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return { outer: prod(x.shape.slice(0, ax)), channels: x.shape[ax]!, inner: prod(x.shape.slice(ax + 1)) };
}

/** Calls f(flat index, channel) for every element. */
function each(s: Split, f: (i: number, c: number) => void): void {
  for (let o = 0; o < s.outer; o++) for (let c = 0; c < s.channels; c++) for (let j = 0; j < s.inner; j++) f((o * s.channels + c) * s.inner + j, c);
}

/** Per-channel mean and biased variance of x. */
export function channelMoments(x: NDArray, axis: number): { mean: Float64Array; variance: Float64Array; count: number } {
  const s = split(x, axis);
  const mean = new Float64Array(s.channels);
  const variance = new Float64Array(s.channels);
  const count = s.outer * s.inner;
  each(s, (i, c) => (mean[c]! += x.data[i]! / count));
  each(s, (i, c) => (variance[c]! += (x.data[i]! - mean[c]!) ** 2 / count));
  return { mean, variance, count };
}

/** The statistics the forward normalises with: [mean, 1 / sqrt(var + eps)] per channel. */
function usedStats(x: NDArray, o: BatchNormRefOptions): [Float64Array, Float64Array] {
  const eps = o.eps ?? 1e-5;
  if (o.training) {
    const { mean, variance } = channelMoments(x, o.axis);
    return [mean, variance.map((v) => 1 / Math.sqrt(v + eps))];
  }
  if (!o.runningMean || !o.runningVar) throw new RangeError('batchNormRef: eval mode needs running statistics');
  return [Float64Array.from(o.runningMean.data), Float64Array.from(o.runningVar.data, (v) => 1 / Math.sqrt(v + eps))];
}

export function batchNormRef(x: NDArray, w: NDArray | null, b: NDArray | null, o: BatchNormRefOptions): NDArray {
  const s = split(x, o.axis);
  const [mean, rstd] = usedStats(x, o);
  const y = nd(x.shape);
  each(s, (i, c) => (y.data[i] = (x.data[i]! - mean[c]!) * rstd[c]! * (w ? w.data[c]! : 1) + (b ? b.data[c]! : 0)));
  return y;
}

/** The running statistics after one training step: (1 - m) * running + m * batch (variance unbiased). */
export function runningStatsRef(x: NDArray, runningMean: NDArray, runningVar: NDArray, axis: number, momentum = 0.1): [NDArray, NDArray] {
  const { mean, variance, count } = channelMoments(x, axis);
  const m = nd(runningMean.shape, runningMean.data.map((v, c) => (1 - momentum) * v + momentum * mean[c]!));
  const v = nd(runningVar.shape, runningVar.data.map((r, c) => (1 - momentum) * r + momentum * ((variance[c]! * count) / (count - 1))));
  return [m, v];
}

/**
 * Gradients of x, w and b (null where w or b is absent). With xhat the normalised input and
 * g = dy * w: training dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) (means per channel),
 * eval dx = rstd * g; dw = sum of dy * xhat; db = sum of dy.
 */
export function batchNormVjp(x: NDArray, w: NDArray | null, b: NDArray | null, o: BatchNormRefOptions, dy: NDArray): [NDArray, NDArray | null, NDArray | null] {
  const s = split(x, o.axis);
  const [mean, rstd] = usedStats(x, o);
  const count = s.outer * s.inner;
  const sumDy = new Float64Array(s.channels);
  const sumDyX = new Float64Array(s.channels);
  const xhat = (i: number, c: number) => (x.data[i]! - mean[c]!) * rstd[c]!;
  each(s, (i, c) => {
    sumDy[c]! += dy.data[i]!;
    sumDyX[c]! += dy.data[i]! * xhat(i, c);
  });
  const dx = nd(x.shape);
  each(s, (i, c) => {
    const wc = w ? w.data[c]! : 1;
    const g = dy.data[i]! * wc;
    dx.data[i] = o.training ? rstd[c]! * (g - (wc * sumDy[c]!) / count - (xhat(i, c) * wc * sumDyX[c]!) / count) : rstd[c]! * g;
  });
  return [dx, w ? nd([s.channels], sumDyX) : null, b ? nd([s.channels], sumDy) : null];
}
