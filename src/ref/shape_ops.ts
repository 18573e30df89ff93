/**
 * float64 reference of the shape ops (reshape, permute, concat, slice, indexSelect): forward and
 * vector-Jacobian product, written element by element from the definitions. These ops only move
 * values, so each VJP sends every output gradient back to the input element it was read from.
 */
import { nd, numel, strides, unravel, type NDArray } from './ndarray.js';

/** Flat row-major index of a multi-index. */
function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
  return flat;
}

/** The same values under another shape (row-major order is unchanged). */
export function reshapeRef(x: NDArray, shape: readonly number[]): NDArray {
  if (numel(shape) !== x.data.length) throw new RangeError(`reshapeRef: ${x.data.length} values for shape [${shape.join(', ')}]`);
  return nd(shape, x.data);
}

export function reshapeVjp(x: NDArray, dy: NDArray): NDArray {
  return nd(x.shape, dy.data);
}

/** y[i_0, ..., i_{r-1}] = x[j] where j[perm[d]] = i_d: output axis d is input axis perm[d]. */
export function permuteRef(x: NDArray, perm: readonly number[]): NDArray {
  const shape = perm.map((p) => x.shape[p]!);
  const y = nd(shape);
  const src = new Array<number>(perm.length);
  for (let i = 0; i < y.data.length; i++) {
    const idx = unravel(i, shape);
    perm.forEach((p, d) => (src[p] = idx[d]!));
    y.data[i] = x.data[ravel(src, x.shape)]!;
  }
  return y;
}

export function permuteVjp(x: NDArray, perm: readonly number[], dy: NDArray): NDArray {
  const dx = nd(x.shape);
  const src = new Array<number>(perm.length);
  for (let i = 0; i < dy.data.length; i++) {
    const idx = unravel(i, dy.shape);
    perm.forEach((p, d) => (src[p] = idx[d]!));
    dx.data[ravel(src, x.shape)]! += dy.data[i]!;
  }
  return dx;
}

/** Joins arrays along `axis` (non-negative), in order. */
export function concatRef(xs: readonly NDArray[], axis: number): NDArray {
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  const y = nd(shape);
  let base = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[axis] = idx[axis]! + base;
      y.data[ravel(idx, shape)] = x.data[i]!;
    }
    base += x.shape[axis]!;
  }
  return y;
}

export function concatVjp(xs: readonly NDArray[], axis: number, dy: NDArray): NDArray[] {
  let base = 0;
  return xs.map((x) => {
    const dx = nd(x.shape);
    for (let i = 0; i < dx.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[axis] = idx[axis]! + base;
      dx.data[i] = dy.data[ravel(idx, dy.shape)]!;
    }
    base += x.shape[axis]!;
    return dx;
  });
}

/** The indices Python's `range(n)[start:end:step]` selects (step > 0). */
export function pythonRange(n: number, start: number, end: number, step: number): number[] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const out: number[] = [];
  for (let i = clamp(start); i < clamp(end); i += step) out.push(i);
  return out;
}

/** Per-axis Python slicing: axis d keeps `range(n_d)[starts[d]:ends[d]:steps[d]]`. */
export function sliceRef(x: NDArray, starts: readonly number[], ends: readonly number[], steps: readonly number[]): NDArray {
  const picks = x.shape.map((n, d) => pythonRange(n, starts[d]!, ends[d]!, steps[d]!));
  const shape = picks.map((p) => p.length);
  const y = nd(shape);
  for (let i = 0; i < y.data.length; i++) {
    const idx = unravel(i, shape).map((c, d) => picks[d]![c]!);
    y.data[i] = x.data[ravel(idx, x.shape)]!;
  }
  return y;
}

export function sliceVjp(x: NDArray, starts: readonly number[], ends: readonly number[], steps: readonly number[], dy: NDArray): NDArray {
  const picks = x.shape.map((n, d) => pythonRange(n, starts[d]!, ends[d]!, steps[d]!));
  const dx = nd(x.shape);
  for (let i = 0; i < dy.data.length; i++) {
    const idx = unravel(i, dy.shape).map((c, d) => picks[d]![c]!);
    dx.data[ravel(idx, x.shape)]! += dy.data[i]!;
  }
  return dx;
}

/** y = x with axis `axis` re-indexed by `indices`; an index outside [0, n) reads as 0. */
export function indexSelectRef(x: NDArray, axis: number, indices: readonly number[]): NDArray {
  const shape = [...x.shape];
  shape[axis] = indices.length;
  const y = nd(shape);
  const n = x.shape[axis]!;
  for (let i = 0; i < y.data.length; i++) {
    const idx = unravel(i, shape);
    const k = indices[idx[axis]!]!;
    if (k < 0 || k >= n) continue;
    idx[axis] = k;
    y.data[i] = x.data[ravel(idx, x.shape)]!;
  }
  return y;
}

/** dx[.., k, ..] = sum of dy[.., j, ..] over the j with indices[j] = k (repeats add up). */
export function indexSelectVjp(x: NDArray, axis: number, indices: readonly number[], dy: NDArray): NDArray {
  const dx = nd(x.shape);
  const n = x.shape[axis]!;
  const xs = strides(x.shape);
  for (let i = 0; i < dy.data.length; i++) {
    const idx = unravel(i, dy.shape);
    const k = indices[idx[axis]!]!;
    if (k < 0 || k >= n) continue;
    idx[axis] = k;
    let flat = 0;
    idx.forEach((c, d) => (flat += c * xs[d]!));
    dx.data[flat]! += dy.data[i]!;
  }
  return dx;
}

/**
 * The same array with every value rounded to float32. The shape ops move values without
 * arithmetic, so on f32-representable data the GPU must match this reference exactly.
 */
export function roundF32(a: NDArray): NDArray {
  return nd(a.shape, Float32Array.from(a.data));
}
