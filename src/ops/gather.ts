/**
 * indexSelect (alias gather, with the meaning of torch.index_select / tf.gather): picks entries
 * along one axis by a 1-D list of indices, which may repeat and come in any order.
 * Indices given as number[] or Int32Array are checked against [0, n) on the host before anything
 * is dispatched, then uploaded. Indices given as an i32 Tensor stay on the GPU and are NOT
 * checked: an index outside [0, n) reads as 0 (and gets no gradient); x is never read out of bounds.
 * Host indices are uploaded on every call (a flush of the work recorded so far): indices used
 * every step are better uploaded once as an i32 tensor.
 * Backward: a deterministic scatter-add without atomics (each dx element sums, in index order, the
 * dy entries whose index points at it; O(len(indices)) per element). Forward for f32 and i32 x
 * (values move as bits).
 */
import { normAxis, numel, shapeStr } from '../tensor/shape.js';
import { needsGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'gather.wgsl';
const WG = 256;

export type Indices = Tensor | readonly number[] | Int32Array;

/** Checks host indices against [0, n) and uploads them (before any dispatch of the op). */
function uploadIndices(x: Tensor, axis: number, a: number, indices: readonly number[] | Int32Array): Tensor {
  const n = x.shape[a]!;
  for (let j = 0; j < indices.length; j++) {
    const v = indices[j]!;
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new RangeError(`indexSelect: index ${v} at position ${j} is out of range for axis ${axis} of size ${n} of ${shapeStr(x.shape)}`);
    }
  }
  return Tensor.from(x.device, Int32Array.from(indices), [indices.length], { dtype: 'i32' });
}

/** y = x with axis `axis` re-indexed: y[.., j, ..] = x[.., indices[j], ..]. */
export function indexSelect(x: Tensor, axis: number, indices: Indices): Tensor {
  const device = checkInputs('indexSelect', [x], null);
  const a = normAxis('indexSelect', axis, x.rank);
  let idx: Tensor;
  let owned = false;
  if (indices instanceof Tensor) {
    checkInputs('indexSelect', [x, indices], null);
    if (indices.dtype !== 'i32' || indices.rank !== 1) {
      throw new TypeError(`indexSelect: indices must be a 1-D i32 tensor, got ${indices.describe()} (x ${shapeStr(x.shape)})`);
    }
    idx = indices;
  } else {
    idx = uploadIndices(x, axis, a, indices);
    owned = true;
  }
  const n = x.shape[a]!;
  const k = idx.size;
  const outer = numel(x.shape.slice(0, a));
  const inner = numel(x.shape.slice(a + 1));
  const shape = [...x.shape];
  shape[a] = k;
  const y = Tensor.empty(device, shape, x.dtype);
  // rows of a multiple of 4 values move as vec4 (forward4)
  const q = inner % 4 === 0 && inner > 0 ? 4 : 1;
  device.dispatch(kernel(device, FILE, q === 4 ? 'forward4' : 'forward', { WG }), {
    buffers: q === 4 ? { x4: x.buffer, indices: idx.buffer, y4: y.buffer } : { x: x.buffer, indices: idx.buffer, y: y.buffer },
    uniforms: { p: { total: y.size / q, n, k, inner: inner / q } },
    workgroups: grid1d(device, y.size / q, WG),
  });
  // Indices uploaded here belong to this op: freed now unless the backward will read them.
  if (owned && !needsGrad([x])) idx.dispose();
  return record('indexSelect', [x], y, (dy) => {
    const dx = Tensor.empty(device, x.shape);
    device.dispatch(kernel(device, FILE, 'backward', { WG }), {
      buffers: { dy: dy.buffer, bindices: idx.buffer, dx: dx.buffer },
      uniforms: { bp: { total: dx.size, n, k, inner } },
      workgroups: grid1d(device, dx.size, WG),
    });
    return [dx];
  });
}

/** The same as indexSelect (tf.gather's meaning, not torch.gather's). */
export const gather = indexSelect;

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Picks entries along `axis` by a 1-D list of indices (see indexSelect()). */
    indexSelect(axis: number, indices: Indices): Tensor;
  }
}

Tensor.prototype.indexSelect = function (axis: number, indices: Indices) { return indexSelect(this, axis, indices); };
