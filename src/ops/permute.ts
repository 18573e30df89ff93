/**
 * permute and transpose: a copy kernel that reads the input through permuted strides (one thread
 * per output element, or per four when the innermost axis stays contiguous). Axes that stay
 * adjacent are merged and size-1 axes dropped first, so the kernel's index arithmetic runs over as
 * few axes as possible. Backward: dy permuted by the inverse permutation. f32 and i32 (values
 * move as bits); ranks up to MAX_RANK. The strided read and write are also slice's kernels.
 */
import { numel, shapeStr, stridesOf } from '../tensor/shape.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel, packDims } from './support.js';

const FILE = 'permute.wgsl';
const WG = 256;

/**
 * A strided view (shape, strides) with size-1 axes dropped and neighbours merged where the view
 * walks them as one axis (strides[d] = strides[d+1] * shape[d+1]); the element order is unchanged.
 */
export function collapseView(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  shape.forEach((n, d) => {
    const s = strides[d]!;
    if (n === 1) return;
    const last = outShape.length - 1;
    if (last >= 0 && outStrides[last] === s * n) {
      outShape[last]! *= n;
      outStrides[last] = s;
    } else {
      outShape.push(n);
      outStrides.push(s);
    }
  });
  return { shape: outShape, strides: outStrides };
}

/**
 * Uniforms of a strided view for kernels/permute.wgsl, its rank after merging (the RANK override,
 * at least 1), and whether it may move vec4s (innermost axis contiguous, its size, the other
 * strides and the base all divisible by 4).
 */
export function stridedPlan(shape: readonly number[], strides: readonly number[], base: number): { vec4: boolean; rank: number; view: Record<string, number | number[]> } {
  const c = collapseView(shape, strides);
  const r = c.shape.length;
  const vec4 = r > 0 && c.strides[r - 1] === 1 && c.shape[r - 1]! % 4 === 0 && base % 4 === 0 && c.strides.every((s, d) => d === r - 1 || s % 4 === 0);
  const q = vec4 ? 4 : 1;
  const vShape = c.shape.map((n, d) => (d === r - 1 ? n / q : n));
  const vStrides = c.strides.map((s, d) => (d === r - 1 ? s : s / q));
  return { vec4, rank: Math.max(r, 1), view: { n: numel(shape) / q, base: base / q, shape: packDims(vShape), strides: packDims(vStrides, 0) } };
}

/**
 * Records y[i] = x[base + sum_d c_d * strides_d] for the elements i (multi-index c) of `shape`, not
 * on the tape; y has shape `outShape` (default `shape`, same element count).
 */
export function stridedRead(x: Tensor, shape: readonly number[], strides: readonly number[], base = 0, outShape: readonly number[] = shape): Tensor {
  const device = x.device;
  const y = Tensor.empty(device, outShape, x.dtype);
  const { vec4, rank, view } = stridedPlan(shape, strides, base);
  device.dispatch(kernel(device, FILE, vec4 ? 'read_view_vec4' : 'read_view', { WG, RANK: rank }), {
    buffers: vec4 ? { xv: x.buffer, yv: y.buffer } : { x: x.buffer, y: y.buffer },
    uniforms: { p: view },
    workgroups: grid1d(device, view.n as number, WG),
  });
  return y;
}

/**
 * Records dst[base + sum_d c_d * strides_d] = src[i] for the elements i (multi-index c) of `shape`
 * (src read as that shape), not on the tape.
 */
export function stridedWrite(src: Tensor, dst: Tensor, shape: readonly number[], strides: readonly number[], base = 0): void {
  const device = src.device;
  const { vec4, rank, view } = stridedPlan(shape, strides, base);
  device.dispatch(kernel(device, FILE, vec4 ? 'write_view_vec4' : 'write_view', { WG, RANK: rank }), {
    buffers: vec4 ? { srcv: src.buffer, dstv: dst.buffer } : { src: src.buffer, dst: dst.buffer },
    uniforms: { p: view },
    workgroups: grid1d(device, view.n as number, WG),
  });
}

/** Records the copy y = x permuted by `perm` (validated), not on the tape. */
function permuteCopy(x: Tensor, perm: readonly number[]): Tensor {
  const s = stridesOf(x.shape);
  return stridedRead(x, perm.map((p) => x.shape[p]!), perm.map((p) => s[p]!));
}

/** `perm` with negative entries resolved; throws unless it is a permutation of x's axes. */
function checkPerm(op: string, x: Tensor, perm: readonly number[]): number[] {
  const rank = x.rank;
  const resolved = perm.map((p) => (Number.isInteger(p) && p < 0 ? p + rank : p));
  const seen = new Set(resolved);
  const ok = perm.length === rank && seen.size === rank && resolved.every((p) => Number.isInteger(p) && p >= 0 && p < rank);
  if (!ok) throw new RangeError(`${op}: ${shapeStr(perm)} is not a permutation of the ${rank} axes of ${shapeStr(x.shape)}`);
  return resolved;
}

function permuteAs(op: string, x: Tensor, perm: readonly number[]): Tensor {
  checkInputs(op, [x], null);
  const p = checkPerm(op, x, perm);
  const inverse = new Array<number>(p.length);
  p.forEach((a, d) => (inverse[a] = d));
  const y = permuteCopy(x, p);
  return record(op, [x], y, (dy) => [permuteCopy(dy, inverse)]);
}

/** y = x with its axes reordered: output axis d is input axis perm[d] (negative entries count from the end). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  return permuteAs('permute', x, perm);
}

/** Swaps two axes (negative counts from the end). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  checkInputs('transpose', [x], null);
  const rank = x.rank;
  const norm = (a: number) => (Number.isInteger(a) && a < 0 ? a + rank : a);
  for (const a of [dim0, dim1]) {
    const n = norm(a);
    if (!Number.isInteger(n) || n < 0 || n >= rank) throw new RangeError(`transpose: axis ${a} is out of range for rank ${rank} (${shapeStr(x.shape)})`);
  }
  const perm = [...Array(rank).keys()];
  perm[norm(dim0)] = norm(dim1);
  perm[norm(dim1)] = norm(dim0);
  return permuteAs('transpose', x, perm);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Reorders the axes: output axis d is input axis perm[d]. */
    permute(perm: readonly number[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
  }
}

Tensor.prototype.permute = function (perm: readonly number[]) { return permute(this, perm); };
Tensor.prototype.transpose = function (dim0: number, dim1: number) { return transpose(this, dim0, dim1); };
