/**
 * Reductions along one axis (negative axes count from the end) or over all elements: sum, mean,
 * max (values and first index; a NaN wins, as in PyTorch) and argmax. x is viewed as
 * [outer, len, inner] with the reduced axis in the middle. Two kernel variants: one invocation per
 * output (kernels/reduce.wgsl, every adapter, any axis) and, for the last axis, one row per
 * subgroup (kernels/reduce_subgroup.wgsl). A long axis with few outputs is summed in two passes
 * (partial sums per chunk, then the chunks), in an order fixed by the shape: no atomics, and the
 * same input gives bit-identical output run to run.
 */
import type { Device } from '../runtime/device.js';
import { normAxis, shapeStr, type Shape } from '../tensor/shape.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel } from './support.js';
import { full } from './unary.js';

const FILE = 'reduce.wgsl';
const SUBGROUP_FILE = 'reduce_subgroup.wgsl';
const WG = 64;
/** elements per partial sum when an axis is summed in two passes */
const CHUNK = 4096;
/** an axis longer than CHUNK is summed in two passes when there are fewer outputs than this */
const FEW_OUTPUTS = 1024;
/**
 * On a CPU adapter (lavapipe) one invocation per row beats one subgroup per row once there are
 * many rows: both load each element the same number of times, and the plain kernel runs 8 rows
 * side by side in a SIMD register without the subgroup combine. Measured (ms, lavapipe, 2 cores,
 * plain vs subgroup): softmax [9408, 49] 0.89 vs 1.55, its backward 0.85 vs 1.33, sum [9408, 49]
 * 0.32 vs 0.75, max [3136, 96] 0.22 vs 0.33, about equal at [1024, 1000]; with few rows the
 * subgroup kernel spreads a row over more lanes: softmax [64, 2048] 0.56 vs 0.45, its backward
 * [256, 4096] 3.3 vs 1.7.
 */
const PLAIN_ROWS_ON_CPU = 512;

export type RowVariant = 'subgroup' | 'plain';

export interface VariantOptions {
  /** forces a kernel variant (tests and benchmarks); by default the faster one for the device */
  variant?: RowVariant;
}

export interface SubgroupLayout {
  /** invocations per row */
  LANES: number;
  /** rows per workgroup */
  ROWS: number;
  /** LANES * ROWS */
  WG: number;
}

/**
 * The layout of the row-per-subgroup kernels on a device, or null without subgroups. Several
 * rows share a workgroup only where every subgroup has exactly LANES invocations (and subgroups
 * hold consecutive local invocation indices, as on lavapipe, which the tests check); otherwise a
 * workgroup is one row of the smallest subgroup size, which always fits inside one subgroup.
 */
export function subgroupLayout(device: Device): SubgroupLayout | null {
  const min = device.adapter.subgroupMinSize;
  const max = device.adapter.subgroupMaxSize;
  if (!device.has('subgroups') || min === null || min < 1) return null;
  const rows = min === max ? Math.max(1, Math.floor(64 / min)) : 1;
  return { LANES: min, ROWS: rows, WG: min * rows };
}

/** The variant used for `rows` rows reduced along the last axis. */
export function rowVariant(op: string, device: Device, rows: number, opts: VariantOptions = {}): RowVariant {
  const layout = subgroupLayout(device);
  if (opts.variant === 'subgroup' && !layout) throw new Error(`${op}: the subgroup variant needs the 'subgroups' feature, which device ${device.id} lacks`);
  if (opts.variant) return opts.variant;
  if (!layout) return 'plain';
  return device.adapter.isFallbackAdapter && rows >= PLAIN_ROWS_ON_CPU ? 'plain' : 'subgroup';
}

/** x viewed as [outer, len, inner] around the reduced axis, and the output's shape. */
export interface AxisSplit {
  outer: number;
  len: number;
  inner: number;
  outShape: Shape;
}

/** Splits a shape around `axis` (all elements when undefined); throws naming the op. */
export function splitAxis(op: string, shape: Shape, axis: number | undefined, keepDims: boolean): AxisSplit {
  if (axis === undefined) {
    const size = shape.reduce((a, b) => a * b, 1);
    return { outer: 1, len: size, inner: 1, outShape: keepDims ? shape.map(() => 1) : [] };
  }
  const a = normAxis(op, axis, shape.length);
  const prod = (ds: Shape) => ds.reduce((p, d) => p * d, 1);
  const outShape = keepDims ? shape.map((d, k) => (k === a ? 1 : d)) : shape.filter((_, k) => k !== a);
  return { outer: prod(shape.slice(0, a)), len: shape[a]!, inner: prod(shape.slice(a + 1)), outShape };
}

/** Records one pass: out[o, c, i] = scale * (sum over chunk c of the axis of src[o, :, i]). */
function sumPass(device: Device, src: Tensor, out: Tensor, s: AxisSplit, chunk: number, nchunks: number, scale: number, opts: VariantOptions): void {
  const segs = s.outer * nchunks;
  if (s.inner === 1 && rowVariant('sum', device, segs, opts) === 'subgroup') {
    const layout = subgroupLayout(device)!;
    device.dispatch(kernel(device, SUBGROUP_FILE, 'sum_rows', { ...layout }), {
      buffers: { sx: src.buffer, sout: out.buffer },
      uniforms: { sp: { segs, cols: s.len, chunk, nchunks, scale } },
      workgroups: grid1d(device, segs, layout.ROWS),
    });
    return;
  }
  recordSumAxis(device, src.buffer, out.buffer, s, chunk, nchunks, scale);
}

/**
 * Records out[o, c, i] = scale * the sum of src[o, l, i] over l in chunk c (kernels/reduce.wgsl
 * sum_axis) on raw buffers, src read as [outer, len, inner]: the plain pass of sum(), also used by
 * the matmul variants that split K. 4 columns per invocation where the rows allow it (the same
 * additions, in the same order).
 */
export function recordSumAxis(
  device: Device,
  src: GPUBuffer,
  out: GPUBuffer,
  s: Pick<AxisSplit, 'outer' | 'len' | 'inner'>,
  chunk = s.len,
  nchunks = 1,
  scale = 1,
): void {
  const q = s.inner % 4 === 0 ? 4 : 1;
  const n = (s.outer * nchunks * s.inner) / q;
  device.dispatch(kernel(device, FILE, q === 4 ? 'sum_axis4' : 'sum_axis', { WG }), {
    buffers: q === 4 ? { sx4: src, sout4: out } : { sx: src, sout: out },
    uniforms: { sp: { n, len: s.len, inner: s.inner / q, chunk, nchunks, scale } },
    workgroups: grid1d(device, n, WG),
  });
}

/** scale * sum of src along the split's axis, as a new tensor of the split's output shape. */
function sumAlong(device: Device, src: Tensor, s: AxisSplit, scale: number, opts: VariantOptions): Tensor {
  if (s.len > CHUNK && s.outer * s.inner < FEW_OUTPUTS) {
    const nchunks = Math.ceil(s.len / CHUNK);
    const partial = Tensor.empty(device, [s.outer, nchunks, s.inner]);
    sumPass(device, src, partial, s, CHUNK, nchunks, 1, opts);
    const out = sumAlong(device, partial, { ...s, len: nchunks }, scale, opts);
    partial.dispose();
    return out;
  }
  const out = Tensor.empty(device, s.outShape);
  sumPass(device, src, out, s, s.len, 1, scale, opts);
  return out;
}

function sumOrMean(op: 'sum' | 'mean', x: Tensor, axis: number | undefined, keepDims: boolean, opts: VariantOptions): Tensor {
  const device = checkInputs(op, [x]);
  const s = splitAxis(op, x.shape, axis, keepDims);
  const scale = op === 'mean' && s.len > 0 ? 1 / s.len : 1;
  // an empty axis: the sum is 0 and the mean 0 / 0 = NaN, as in PyTorch
  const y = s.len === 0 ? full(device, s.outShape, op === 'mean' ? NaN : 0) : sumAlong(device, x, s, scale, opts);
  return record(op, [x], y, (dy) => {
    const dx = Tensor.empty(device, x.shape);
    device.dispatch(kernel(device, FILE, 'sum_backward', { WG }), {
      buffers: { dy: dy.buffer, dx: dx.buffer },
      uniforms: { bp: { n: x.size, len: s.len, inner: s.inner, scale } },
      workgroups: grid1d(device, x.size, WG),
    });
    return [dx];
  });
}

/** Sum along `axis`, or over all elements when it is undefined (shape [] or all 1 with keepDims). */
export function sum(x: Tensor, axis?: number, keepDims = false, opts: VariantOptions = {}): Tensor {
  return sumOrMean('sum', x, axis, keepDims, opts);
}

/** Mean along `axis`, or over all elements; the mean of an empty axis is NaN. */
export function mean(x: Tensor, axis?: number, keepDims = false, opts: VariantOptions = {}): Tensor {
  return sumOrMean('mean', x, axis, keepDims, opts);
}

/** Values and first indices of the maximum along an axis (not recorded on the tape). */
function maxAlong(op: string, x: Tensor, axis: number, keepDims: boolean, opts: VariantOptions): { values: Tensor; indices: Tensor; split: AxisSplit } {
  const device = checkInputs(op, [x]);
  if (typeof axis !== 'number') throw new TypeError(`${op}: an axis is required (got ${String(axis)}) for ${x.describe()}`);
  const s = splitAxis(op, x.shape, axis, keepDims);
  if (s.len === 0) throw new RangeError(`${op}: cannot reduce over axis ${axis} of shape ${shapeStr(x.shape)}, which is empty`);
  const values = Tensor.empty(device, s.outShape);
  const indices = Tensor.empty(device, s.outShape, 'i32');
  const n = s.outer * s.inner;
  const buffers = { mx: x.buffer, values: values.buffer, indices: indices.buffer };
  if (s.inner === 1 && rowVariant(op, device, n, opts) === 'subgroup') {
    const layout = subgroupLayout(device)!;
    device.dispatch(kernel(device, SUBGROUP_FILE, 'max_rows', { ...layout }), {
      buffers,
      uniforms: { mp: { rows: n, cols: s.len } },
      workgroups: grid1d(device, n, layout.ROWS),
    });
  } else {
    device.dispatch(kernel(device, FILE, 'max_axis', { WG }), {
      buffers,
      uniforms: { mp: { n, len: s.len, inner: s.inner } },
      workgroups: grid1d(device, n, WG),
    });
  }
  return { values, indices, split: s };
}

/**
 * Maximum along `axis`: the values (differentiable: the gradient goes to the argmax) and the
 * first index of each maximum as an i32 tensor. A NaN in a slice wins. An empty axis is an error.
 */
export function max(x: Tensor, axis: number, keepDims = false, opts: VariantOptions = {}): { values: Tensor; indices: Tensor } {
  const { values, indices, split: s } = maxAlong('max', x, axis, keepDims, opts);
  const device = x.device;
  record('max', [x], values, (dy) => {
    const dx = Tensor.empty(device, x.shape);
    device.dispatch(kernel(device, FILE, 'max_backward', { WG }), {
      buffers: { mdy: dy.buffer, midx: indices.buffer, mdx: dx.buffer },
      uniforms: { mbp: { n: x.size, len: s.len, inner: s.inner } },
      workgroups: grid1d(device, x.size, WG),
    });
    return [dx];
  });
  return { values, indices };
}

/** First index of the maximum along `axis`, as an i32 tensor (no gradient). */
export function argmax(x: Tensor, axis: number, keepDims = false, opts: VariantOptions = {}): Tensor {
  const { values, indices } = maxAlong('argmax', x, axis, keepDims, opts);
  values.dispose();
  return indices;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Sum along an axis, or over all elements (see sum()). */
    sum(axis?: number, keepDims?: boolean): Tensor;
    /** Mean along an axis, or over all elements (see mean()). */
    mean(axis?: number, keepDims?: boolean): Tensor;
    /** Maximum along an axis: values and first indices (see max()). */
    max(axis: number, keepDims?: boolean): { values: Tensor; indices: Tensor };
    /** First index of the maximum along an axis, as i32 (see argmax()). */
    argmax(axis: number, keepDims?: boolean): Tensor;
  }
}

Tensor.prototype.sum = function (axis?: number, keepDims?: boolean) { return sum(this, axis, keepDims); };
Tensor.prototype.mean = function (axis?: number, keepDims?: boolean) { return mean(this, axis, keepDims); };
Tensor.prototype.max = function (axis: number, keepDims?: boolean) { return max(this, axis, keepDims); };
Tensor.prototype.argmax = function (axis: number, keepDims?: boolean) { return argmax(this, axis, keepDims); };
