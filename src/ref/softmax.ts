/**
 * float64 reference of softmax and log-softmax along one axis, and their vector-Jacobian
 * products. With p = softmax(x) over a slice, dp_j/dx_k = p_j (delta_jk - p_k), so
 *   softmax:     dx_k = sum_j dy_j p_j (delta_jk - p_k) = p_k (dy_k - sum_j dy_j p_j)
 *   log-softmax: d(log p_j)/dx_k = delta_jk - p_k, so dx_k = dy_k - p_k sum_j dy_j
 * Entries of -inf get probability 0; a slice of only -inf entries gives NaN.
 */
import { nd, type NDArray } from './ndarray.js';

/** The slices along `axis` as lists of flat indices. */
function slices(shape: readonly number[], axis: number): number[][] {
  const a = axis < 0 ? axis + shape.length : axis;
  if (a < 0 || a >= shape.length) throw new RangeError(`axis ${axis} is out of range for rank ${shape.length}`);
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const len = shape[a]!;
  const out: number[][] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) out.push(Array.from({ length: len }, (_, l) => (o * len + l) * inner + i));
  }
  return out;
}

/** log of the sum of exp over a slice, computed from its maximum */
function logSumExp(v: number[]): number {
  let m = -Infinity;
  for (const t of v) m = Number.isNaN(t) || t > m ? t : m;
  if (m === -Infinity) return NaN;
  let s = 0;
  for (const t of v) s += Math.exp(t - m);
  return m + Math.log(s);
}

export function logSoftmaxRef(x: NDArray, axis = -1): NDArray {
  const y = nd(x.shape);
  for (const idx of slices(x.shape, axis)) {
    const v = idx.map((k) => x.data[k]!);
    const lse = logSumExp(v);
    idx.forEach((k, j) => (y.data[k] = v[j]! - lse));
  }
  return y;
}

export function softmaxRef(x: NDArray, axis = -1): NDArray {
  const ls = logSoftmaxRef(x, axis);
  return nd(ls.shape, ls.data.map(Math.exp));
}

export function softmaxVjp(x: NDArray, dy: NDArray, axis = -1): NDArray {
  const p = softmaxRef(x, axis);
  const dx = nd(x.shape);
  for (const idx of slices(x.shape, axis)) {
    let dot = 0;
    for (const k of idx) dot += dy.data[k]! * p.data[k]!;
    for (const k of idx) dx.data[k] = p.data[k]! * (dy.data[k]! - dot);
  }
  return dx;
}

export function logSoftmaxVjp(x: NDArray, dy: NDArray, axis = -1): NDArray {
  const p = softmaxRef(x, axis);
  const dx = nd(x.shape);
  for (const idx of slices(x.shape, axis)) {
    let total = 0;
    for (const k of idx) total += dy.data[k]!;
    for (const k of idx) dx.data[k] = dy.data[k]! - p.data[k]! * total;
  }
  return dx;
}
