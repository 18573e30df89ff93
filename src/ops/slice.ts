/**
 * Strided slices with Python semantics: negative start/end count from the end of the axis, both
 * are clamped to it, steps must be positive. Three entry points:
 *   slice(x, starts, ends, steps?)       one start/end/step per leading axis (axes past the
 *                                        arrays are kept whole); ±Infinity clamps like a huge bound
 *   sliceAxis(x, axis, start, end?, step?) one axis (end defaults to the axis' end)
 *   narrow(x, axis, start, length)       PyTorch's narrow: no clamping, the range must fit
 * The result is a copy: the strided read of kernels/permute.wgsl over the view of x that the slice
 * selects (size-1 axes dropped, contiguous runs merged, vec4 moves where the innermost axis is
 * whole). Backward: dx filled with zeros, then dy written through the same view. f32 and i32
 * forward (values move as bits).
 */
import { normAxis, numel, shapeStr, stridesOf } from '../tensor/shape.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { stridedRead, stridedWrite } from './permute.js';
import { checkInputs } from './support.js';
import { full } from './unary.js';

/** Start and length along an axis of size n of Python's range(n)[start:end:step], step > 0. */
function resolveRange(n: number, start: number, end: number, step: number): { start: number; len: number } {
  const clamp = (v: number) => (v < 0 ? Math.max(v + n, 0) : Math.min(v, n));
  const s = clamp(start);
  const e = clamp(end);
  return { start: s, len: e > s ? Math.ceil((e - s) / step) : 0 };
}

const isBound = (v: number) => Number.isInteger(v) || v === Infinity || v === -Infinity;

/** Records the slice (arguments checked, ranges resolved) under `op`. */
function sliceResolved(op: string, x: Tensor, starts: readonly number[], steps: readonly number[], shape: readonly number[]): Tensor {
  const xStrides = stridesOf(x.shape);
  // the slice is the strided view of x at these strides, starting at `base`
  const strides = xStrides.map((s, d) => s * steps[d]!);
  const base = numel(shape) === 0 ? 0 : starts.reduce((s, st, d) => s + st * xStrides[d]!, 0);
  const y = stridedRead(x, shape, strides, base);
  return record(op, [x], y, (dy) => {
    const dx = full(x.device, x.shape, 0);
    stridedWrite(dy, dx, shape, strides, base);
    return [dx];
  });
}

/**
 * x[starts[0]:ends[0]:steps[0], starts[1]:ends[1]:steps[1], ...] with Python semantics; the arrays
 * cover the leading axes (up to the rank), later axes are kept whole; steps default to 1.
 */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], steps?: readonly number[]): Tensor {
  checkInputs('slice', [x], null);
  const k = starts.length;
  if (ends.length !== k || (steps && steps.length !== k)) {
    throw new RangeError(`slice: starts ${shapeStr(starts)}, ends ${shapeStr(ends)}${steps ? ` and steps ${shapeStr(steps)}` : ''} differ in length`);
  }
  if (k > x.rank) throw new RangeError(`slice: ${k} ranges for the ${x.rank} axes of ${shapeStr(x.shape)}`);
  const outStarts: number[] = [];
  const outSteps: number[] = [];
  const shape: number[] = [];
  x.shape.forEach((n, d) => {
    const start = d < k ? starts[d]! : 0;
    const end = d < k ? ends[d]! : n;
    const step = d < k && steps ? steps[d]! : 1;
    if (!isBound(start) || !isBound(end)) throw new RangeError(`slice: start ${start} and end ${end} of axis ${d} must be whole numbers (x ${shapeStr(x.shape)})`);
    if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: step ${step} of axis ${d} must be a whole number > 0 (x ${shapeStr(x.shape)})`);
    const r = resolveRange(n, start, end, step);
    outStarts.push(r.start);
    outSteps.push(step);
    shape.push(r.len);
  });
  return sliceResolved('slice', x, outStarts, outSteps, shape);
}

/** x[..., start:end:step, ...] along one axis, Python semantics (end defaults to the axis' end). */
export function sliceAxis(x: Tensor, axis: number, start: number, end = Infinity, step = 1): Tensor {
  checkInputs('sliceAxis', [x], null);
  const a = normAxis('sliceAxis', axis, x.rank);
  if (!isBound(start) || !isBound(end)) throw new RangeError(`sliceAxis: start ${start} and end ${end} must be whole numbers (x ${shapeStr(x.shape)})`);
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`sliceAxis: step ${step} must be a whole number > 0 (x ${shapeStr(x.shape)})`);
  const r = resolveRange(x.shape[a]!, start, end, step);
  const starts = x.shape.map((_, d) => (d === a ? r.start : 0));
  const steps = x.shape.map((_, d) => (d === a ? step : 1));
  const shape = x.shape.map((n, d) => (d === a ? r.len : n));
  return sliceResolved('sliceAxis', x, starts, steps, shape);
}

/** `length` elements from `start` (negative counts from the end) along `axis`; the range must fit. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  checkInputs('narrow', [x], null);
  const a = normAxis('narrow', axis, x.rank);
  const n = x.shape[a]!;
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(start) || !Number.isInteger(length) || length < 0 || s < 0 || s + length > n) {
    throw new RangeError(`narrow: start ${start} and length ${length} do not fit axis ${axis} of size ${n} of ${shapeStr(x.shape)}`);
  }
  const starts = x.shape.map((_, d) => (d === a ? s : 0));
  const steps = x.shape.map(() => 1);
  const shape = x.shape.map((m, d) => (d === a ? length : m));
  return sliceResolved('narrow', x, starts, steps, shape);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Python-style slicing of the leading axes (see slice()). */
    slice(starts: readonly number[], ends: readonly number[], steps?: readonly number[]): Tensor;
    sliceAxis(axis: number, start: number, end?: number, step?: number): Tensor;
    narrow(axis: number, start: number, length: number): Tensor;
  }
}

Tensor.prototype.slice = function (starts: readonly number[], ends: readonly number[], steps?: readonly number[]) { return slice(this, starts, ends, steps); };
Tensor.prototype.sliceAxis = function (axis: number, start: number, end?: number, step?: number) { return sliceAxis(this, axis, start, end, step); };
Tensor.prototype.narrow = function (axis: number, start: number, length: number) { return narrow(this, axis, start, length); };
