/**
 * Matmul variants: several kernels compute the same product, each tuned for a class of device
 * (lavapipe: subgroup broadcast, no workgroup memory; real GPUs: workgroup-memory tiles with vec4
 * loads) plus the naive one as the baseline. Every variant runs the same test suite. Which one a
 * problem uses is, in order: AUNCE_MATMUL_VARIANT when set, the measured choice stored for this
 * adapter and shape class (see tuneMatmul), or a default by device class.
 */
import type { Device } from '../runtime/device.js';

/**
 * One batched product out[t] = op(A[t]) @ op(B[t]) for t < batch, each operand a contiguous
 * matrix ([m, k] or, transposed, [k, m]; [k, n] or [n, k]) at offset t * batchStride (0:
 * broadcast), out contiguous [batch, m, n].
 */
export interface MatmulProblem {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
}

export type Activation = 'none' | 'relu' | 'gelu';

/** What a fused epilogue applies to each output: act(product + bias[col]), saving the sum in `pre`. */
export interface Epilogue {
  bias: GPUBuffer;
  act: Activation;
  /** where to store product + bias (the backward of gelu needs it), or null */
  pre: GPUBuffer | null;
}

export interface MatmulVariant {
  readonly name: string;
  /** records the product with a fused bias and activation, where the variant has an epilogue */
  recordEpilogue?(device: Device, p: MatmulProblem, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, ep: Epilogue): void;
  /** why this variant cannot run the problem on the device, or null when it can */
  unsupported(device: Device, p: MatmulProblem): string | null;
  /** records the product into `out` (at least batch * m * n floats); m, n, batch > 0 */
  record(device: Device, p: MatmulProblem, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer): void;
}

const variants = new Map<string, MatmulVariant>();

/** Adds a variant (each variant file registers itself on import). */
export function registerMatmulVariant(v: MatmulVariant): void {
  variants.set(v.name, v);
}

export function matmulVariants(): MatmulVariant[] {
  return [...variants.values()];
}

export function matmulVariant(name: string): MatmulVariant {
  const v = variants.get(name);
  if (!v) throw new Error(`matmul: no variant '${name}' (variants: ${[...variants.keys()].join(', ')})`);
  return v;
}

/** Element offsets and strides of op(A)(row, k) and op(B)(k, col) for a problem. */
export function operandStrides(p: MatmulProblem): { aRow: number; aK: number; bK: number; bCol: number } {
  return {
    aRow: p.transA ? 1 : p.k,
    aK: p.transA ? p.m : 1,
    bK: p.transB ? 1 : p.n,
    bCol: p.transB ? p.k : 1,
  };
}

const bucket = (x: number) => (x <= 16 ? 's' : x <= 128 ? 'm' : x <= 1024 ? 'l' : 'x');

/** The shape class a tuned choice is stored under: transposes and size buckets of m, n, k, batch. */
export function shapeClass(p: MatmulProblem): string {
  return `${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'}:m${bucket(p.m)}n${bucket(p.n)}k${bucket(p.k)}b${p.batch === 1 ? '1' : bucket(p.batch)}`;
}

const TUNING_PREFIX = 'matmul:';

/** 32-row tiles (subgroup32) only where there are enough of them to keep every CPU thread busy */
const MIN_TALL_TILES = 64;

/**
 * The default where nothing was measured: the lavapipe variants on CPU adapters (32-row tiles
 * where a problem has at least MIN_TALL_TILES of them: 1.2-1.26x faster at 1024^3 and 2048^3 and
 * 1.07-1.3x on mid-sized Swin-T Linear shapes in interleaved runs; 16-row tiles where few tiles,
 * such as the weight gradients' [in, out] products, leave threads idle), tiles on GPUs.
 */
function defaultVariant(device: Device, p: MatmulProblem): MatmulVariant {
  const tallTiles = Math.ceil(p.m / 32) * Math.ceil(p.n / 32) * p.batch;
  const cpu = p.m >= 32 && tallTiles >= MIN_TALL_TILES ? ['subgroup32', 'subgroup', 'plain'] : ['subgroup', 'plain'];
  const order = device.adapter.isFallbackAdapter ? cpu : ['tiled', 'plain'];
  // tiny products are dominated by launch cost: the plain kernel wastes least on edges
  if (p.m * p.n * p.k < 32 * 32 * 32) order.unshift('plain');
  for (const name of order) {
    const v = variants.get(name);
    if (v && !v.unsupported(device, p)) return v;
  }
  return matmulVariant('plain');
}

/**
 * The variant a problem uses: AUNCE_MATMUL_VARIANT if set (an error if it cannot run the problem),
 * else the one measured fastest for its shape class on this adapter, else the device-class default.
 */
export function chooseMatmulVariant(device: Device, p: MatmulProblem): MatmulVariant {
  const forced = device.env.AUNCE_MATMUL_VARIANT;
  if (forced) {
    const v = matmulVariant(forced);
    const why = v.unsupported(device, p);
    if (why) throw new Error(`matmul: AUNCE_MATMUL_VARIANT=${forced} cannot run ${p.batch}x${p.m}x${p.k}x${p.n}: ${why}`);
    return v;
  }
  const stored = device.tuning.get(TUNING_PREFIX + shapeClass(p));
  const v = stored ? variants.get(stored) : undefined;
  if (v && !v.unsupported(device, p)) return v;
  return defaultVariant(device, p);
}

export interface TuneResult {
  shapeClass: string;
  timings: { variant: string; medianMs: number }[];
  chosen: string;
}

/** Stores the choice of a shape class (used by tuneMatmul and by tests). */
export function storeMatmulChoice(device: Device, p: MatmulProblem, variant: string): void {
  device.tuning.set(TUNING_PREFIX + shapeClass(p), variant);
}

export function storedMatmulChoice(device: Device, p: MatmulProblem): string | undefined {
  return device.tuning.get(TUNING_PREFIX + shapeClass(p));
}
