/**
 * The float64 CPU reference works on NDArrays: a shape and a Float64Array, row-major. Nothing in
 * src/ref imports the runtime: it is an independent check of the GPU kernels.
 */
export interface NDArray {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function nd(shape: readonly number[], data?: ArrayLike<number>): NDArray {
  const n = numel(shape);
  if (data && data.length !== n) throw new RangeError(`nd: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(n) };
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Multi-index of a flat row-major index. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = i % n;
    i = Math.floor(i / n);
  }
  return idx;
}

export function map(a: NDArray, f: (x: number, i: number) => number): NDArray {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[i]!, i);
  return { shape: [...a.shape], data: out };
}

/** Broadcast shape of two shapes (numpy rules). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new RangeError(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Flat index into `shape` (right-aligned, size-1 dims broadcast) of a multi-index of `outShape`. */
export function broadcastIndex(idx: readonly number[], outShape: readonly number[], shape: readonly number[]): number {
  const off = outShape.length - shape.length;
  let flat = 0;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    flat = flat * n + (n === 1 ? 0 : idx[d + off]!);
  }
  return flat;
}

/** Sums `a` (of a broadcast shape) down to `shape`: the gradient rule of broadcasting. */
export function sumTo(a: NDArray, shape: readonly number[]): NDArray {
  const out = nd(shape);
  for (let i = 0; i < a.data.length; i++) {
    out.data[broadcastIndex(unravel(i, a.shape), a.shape, shape)]! += a.data[i]!;
  }
  return out;
}
