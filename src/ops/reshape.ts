/**
 * Shape changes without a copy: reshape (one dimension may be -1), flatten, squeeze, unsqueeze.
 * Tensors are always contiguous, so each result is a view over the input's storage (refcounted:
 * it outlives a dispose() of the input), and the gradient is dy viewed back at the input's shape.
 * No kernel runs, forward or backward. Any dtype; no rank limit.
 */
import { normAxis, numel, shapeStr, type Shape } from '../tensor/shape.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';

function checkAlive(op: string, x: Tensor): void {
  x.device.assertAlive(op);
  if (x.disposed) throw new Error(`${op}: input ${x.describe()} was disposed`);
}

/** A view of `x` at `shape` (same element count), recorded under `op`. */
function viewAs(op: string, x: Tensor, shape: Shape): Tensor {
  const y = x.view(shape);
  return record(op, [x], y, (dy) => [dy.view(x.shape)]);
}

/** `shape` with its -1 (if any) replaced so that the element count is that of `from`. */
function inferShape(op: string, from: Shape, shape: Shape): number[] {
  const bad = shape.filter((d) => !Number.isInteger(d) || d < -1);
  if (bad.length) throw new RangeError(`${op}: invalid shape ${shapeStr(shape)} (dimensions must be whole numbers >= 0, or one -1)`);
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1) throw new RangeError(`${op}: only one dimension may be -1, got ${shapeStr(shape)}`);
  const n = numel(from);
  const out = [...shape];
  if (holes === 1) {
    const known = numel(shape.filter((d) => d !== -1));
    if (known === 0) throw new RangeError(`${op}: cannot infer the -1 in ${shapeStr(shape)} for ${shapeStr(from)} (${n} elements): the other dimensions hold 0 elements`);
    if (n % known !== 0) throw new RangeError(`${op}: cannot reshape ${shapeStr(from)} (${n} elements) to ${shapeStr(shape)}`);
    out[out.indexOf(-1)] = n / known;
  }
  if (numel(out) !== n) throw new RangeError(`${op}: cannot reshape ${shapeStr(from)} (${n} elements) to ${shapeStr(shape)}`);
  return out;
}

/** The same values under another shape (a view, no copy); one dimension may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  checkAlive('reshape', x);
  return viewAs('reshape', x, inferShape('reshape', x.shape, shape));
}

/** Merges axes startDim..endDim (inclusive, negative counts from the end) into one; rank 0 gives [1]. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkAlive('flatten', x);
  if (x.rank === 0) return viewAs('flatten', x, [1]);
  const s = normAxis('flatten', startDim, x.rank);
  const e = normAxis('flatten', endDim, x.rank);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for ${shapeStr(x.shape)}`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return viewAs('flatten', x, shape);
}

/**
 * Removes axis `axis`, which must have size 1 (an error otherwise, unlike PyTorch's silent no-op);
 * without an axis, removes every size-1 axis.
 */
export function squeeze(x: Tensor, axis?: number): Tensor {
  checkAlive('squeeze', x);
  if (axis === undefined) return viewAs('squeeze', x, x.shape.filter((d) => d !== 1));
  const a = normAxis('squeeze', axis, x.rank);
  if (x.shape[a] !== 1) throw new RangeError(`squeeze: axis ${axis} of ${shapeStr(x.shape)} has size ${x.shape[a]}, not 1`);
  return viewAs('squeeze', x, x.shape.filter((_, d) => d !== a));
}

/** Inserts a size-1 axis so that it becomes axis `axis` of the result (-1: last). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  checkAlive('unsqueeze', x);
  const a = normAxis('unsqueeze', axis, x.rank + 1);
  return viewAs('unsqueeze', x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** A view at another shape (one dimension may be -1). */
    reshape(shape: Shape): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
  }
}

Tensor.prototype.reshape = function (shape: Shape) { return reshape(this, shape); };
Tensor.prototype.flatten = function (startDim?: number, endDim?: number) { return flatten(this, startDim, endDim); };
Tensor.prototype.squeeze = function (axis?: number) { return squeeze(this, axis); };
Tensor.prototype.unsqueeze = function (axis: number) { return unsqueeze(this, axis); };
