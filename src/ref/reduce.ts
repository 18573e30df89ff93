/**
 * float64 reference of the reductions along one axis (or over all elements): sum, mean, max with
 * its first index, argmax, and their vector-Jacobian products. An axis splits a row-major array
 * into [outer, len, inner]: element (o, l, i) sits at (o * len + l) * inner + i.
 */
import { nd, type NDArray } from './ndarray.js';

interface Split {
  outer: number;
  len: number;
  inner: number;
  outShape: number[];
}

function split(shape: readonly number[], axis: number | undefined, keepDims: boolean): Split {
  const size = shape.reduce((a, b) => a * b, 1);
  if (axis === undefined) return { outer: 1, len: size, inner: 1, outShape: keepDims ? shape.map(() => 1) : [] };
  const a = axis < 0 ? axis + shape.length : axis;
  if (a < 0 || a >= shape.length) throw new RangeError(`axis ${axis} is out of range for rank ${shape.length}`);
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outShape = keepDims ? shape.map((d, k) => (k === a ? 1 : d)) : shape.filter((_, k) => k !== a);
  return { outer, len: shape[a]!, inner, outShape };
}

/** sum over `axis` (all elements when undefined); an empty axis sums to 0 */
export function sumRef(x: NDArray, axis?: number, keepDims = false): NDArray {
  const { outer, len, inner, outShape } = split(x.shape, axis, keepDims);
  const y = nd(outShape);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      for (let l = 0; l < len; l++) s += x.data[(o * len + l) * inner + i]!;
      y.data[o * inner + i] = s;
    }
  }
  return y;
}

/** mean over `axis`; an empty axis gives NaN (0 / 0) */
export function meanRef(x: NDArray, axis?: number, keepDims = false): NDArray {
  const { len } = split(x.shape, axis, keepDims);
  const s = sumRef(x, axis, keepDims);
  return nd(s.shape, s.data.map((v) => v / len));
}

/** d(sum)/dx: every element of a slice gets the slice's gradient */
export function sumVjp(x: NDArray, dy: NDArray, axis?: number, keepDims = false): NDArray {
  const { outer, len, inner } = split(x.shape, axis, keepDims);
  const dx = nd(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      for (let i = 0; i < inner; i++) dx.data[(o * len + l) * inner + i] = dy.data[o * inner + i]!;
    }
  }
  return dx;
}

export function meanVjp(x: NDArray, dy: NDArray, axis?: number, keepDims = false): NDArray {
  const { len } = split(x.shape, axis, keepDims);
  const dx = sumVjp(x, dy, axis, keepDims);
  return nd(dx.shape, dx.data.map((v) => v / len));
}

/**
 * max over `axis`: the value and its index along the axis. Ties go to the first index; a NaN in
 * a slice wins (the first NaN), as in PyTorch.
 */
export function maxRef(x: NDArray, axis: number, keepDims = false): { values: NDArray; indices: NDArray } {
  const { outer, len, inner, outShape } = split(x.shape, axis, keepDims);
  if (len === 0) throw new RangeError(`max: axis ${axis} of shape [${x.shape.join(', ')}] is empty`);
  const values = nd(outShape);
  const indices = nd(outShape);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = -Infinity;
      let at = -1;
      for (let l = 0; l < len; l++) {
        const v = x.data[(o * len + l) * inner + i]!;
        if (Number.isNaN(v)) {
          best = v;
          at = l;
          break;
        }
        if (at < 0 || v > best) {
          best = v;
          at = l;
        }
      }
      values.data[o * inner + i] = best;
      indices.data[o * inner + i] = at;
    }
  }
  return { values, indices };
}

export function argmaxRef(x: NDArray, axis: number, keepDims = false): NDArray {
  return maxRef(x, axis, keepDims).indices;
}

/** d(max)/dx: the slice's gradient goes to its argmax, the other elements get 0 */
export function maxVjp(x: NDArray, dy: NDArray, axis: number, keepDims = false): NDArray {
  const { outer, len, inner } = split(x.shape, axis, keepDims);
  const { indices } = maxRef(x, axis, keepDims);
  const dx = nd(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const l = indices.data[o * inner + i]!;
      dx.data[(o * len + l) * inner + i] = dy.data[o * inner + i]!;
    }
  }
  return dx;
}
