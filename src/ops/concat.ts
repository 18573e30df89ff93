/**
 * concat: joins tensors along one axis with one copy dispatch per input: input k, viewed as
 * [outer, len_k * inner], is written into the output [outer, total * inner] at its offset by the
 * strided write of kernels/permute.wgsl (vec4 moves when the sizes divide by 4). Inputs of length
 * 0 along the axis are allowed and dispatch nothing. Backward: each input's part of dy, read back
 * out through the same view. f32 and i32 (values move as bits); every input has the same dtype.
 */
import { normAxis, numel, shapeStr } from '../tensor/shape.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { stridedRead, stridedWrite } from './permute.js';
import { checkInputs } from './support.js';

export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new RangeError('concat: needs at least one tensor, got none');
  const device = checkInputs('concat', tensors, null);
  const first = tensors[0]!;
  const dtypes = new Set(tensors.map((t) => t.dtype));
  if (dtypes.size > 1) throw new TypeError(`concat: inputs have different dtypes (${tensors.map((t) => t.describe()).join(', ')})`);
  const a = normAxis('concat', axis, first.rank);
  tensors.forEach((t, k) => {
    const same = t.rank === first.rank && t.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!same) {
      throw new RangeError(
        `concat: along axis ${axis}, input ${k} of shape ${shapeStr(t.shape)} does not match input 0 of shape ${shapeStr(first.shape)} outside the axis`,
      );
    }
  });
  const outer = numel(first.shape.slice(0, a));
  const inner = numel(first.shape.slice(a + 1));
  const lens = tensors.map((t) => t.shape[a]!);
  const total = lens.reduce((s, n) => s + n, 0);
  const shape = [...first.shape];
  shape[a] = total;
  const y = Tensor.empty(device, shape, first.dtype);
  // Input k, viewed as [outer, len_k * inner], sits in the output at rows of `total * inner`
  // values, starting `offset_k * inner` into each row.
  const row = total * inner;
  const offsets = lens.map((_, k) => lens.slice(0, k).reduce((s, m) => s + m, 0) * inner);
  const view = (k: number) => ({ shape: [outer, lens[k]! * inner], strides: [row, 1], base: offsets[k]! });
  tensors.forEach((t, k) => {
    const v = view(k);
    stridedWrite(t, y, v.shape, v.strides, v.base);
  });
  return record('concat', tensors, y, (dy) =>
    tensors.map((t, k) => {
      if (!t.requiresGrad) return null;
      const v = view(k);
      return stridedRead(dy, v.shape, v.strides, v.base, t.shape);
    }),
  );
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** concat([this, ...others], axis) */
    concat(others: readonly Tensor[], axis: number): Tensor;
  }
}

Tensor.prototype.concat = function (others: readonly Tensor[], axis: number) { return concat([this, ...others], axis); };
