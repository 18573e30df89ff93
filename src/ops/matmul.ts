/**
 * Plain batched matmul: a [..., M, K] @ b [..., K, N] -> [..., M, N] with numpy broadcasting of
 * the batch dimensions. One strided WGSL kernel (kernels/matmul.wgsl, a 4x4 register tile per
 * invocation) also reads transposed operands and sums over broadcast batch dimensions, so the
 * backward, dA = dY @ B^T and dB = A^T @ dY each summed down to its operand's batch shape, is two
 * calls of the same kernel with no transposes and no intermediate of the broadcast shape.
 */
import { numel, shapeStr, stridesOf, type Shape } from '../tensor/shape.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Device } from '../runtime/device.js';
import { GpuTimer } from '../runtime/timer.js';
import { chooseMatmulVariant, matmulVariants, registerMatmulVariant, storeMatmulChoice, storedMatmulChoice, shapeClass, type MatmulProblem, type TuneResult } from './matmul_variants.js';
import { checkInputs, grid1d, kernel, packDims } from './support.js';
import './matmul_naive.js';
import './matmul_subgroup.js';

const FILE = 'matmul.wgsl';
const WG = 64;
/** rows and columns of the output tile of one invocation (fixed in the WGSL) */
const TILE = 4;

export interface MatmulRawOptions {
  /** read a as its transpose (its last two dims swapped) */
  transA?: boolean;
  /** read b as its transpose */
  transB?: boolean;
  /**
   * batch shape of the result: the broadcast batch dims are summed down to it (numpy rules: each
   * of its dims equals the broadcast one or is 1, leading dims may be missing). Default: the
   * broadcast batch shape itself.
   */
  reduceTo?: Shape;
}

function describe(op: string, a: Tensor, b: Tensor, o: MatmulRawOptions): string {
  return `${op}: ${shapeStr(a.shape)}${o.transA ? '^T' : ''} @ ${shapeStr(b.shape)}${o.transB ? '^T' : ''}`;
}

/** The broadcast batch shape of two batch shapes; throws naming the op and both operands. */
function batchShape(what: string, sa: Shape, sb: Shape): number[] {
  const rank = Math.max(sa.length, sb.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = sa[sa.length - rank + i] ?? 1;
    const db = sb[sb.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${what}: batch dimensions ${shapeStr(sa)} and ${shapeStr(sb)} do not broadcast (${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of an operand's batch dims read at the broadcast batch shape (0 where it is broadcast). */
function batchStrides(shape: Shape, rank: number): number[] {
  const own = shape.slice(0, -2);
  const matrix = shape[shape.length - 2]! * shape[shape.length - 1]!;
  const s = stridesOf(own).map((v, d) => (own[d] === 1 ? 0 : v * matrix));
  return [...new Array<number>(rank - own.length).fill(0), ...s];
}

/**
 * op(a) @ op(b), op = transpose of the last two dims where asked, batch dims broadcast and then
 * summed down to `reduceTo`. Low level: validates its operands but is not recorded on the tape.
 * The result has shape [...batch, M, N] (batch = reduceTo or the broadcast batch shape).
 */
export function matmulRaw(a: Tensor, b: Tensor, opts: MatmulRawOptions = {}): Tensor {
  const what = describe('matmul', a, b, opts);
  const device = checkInputs('matmul', [a, b]);
  if (a.rank < 2 || b.rank < 2) {
    throw new RangeError(`${what}: 1-D operands are not supported (use a [1, K] or [K, 1] matrix)`);
  }
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [m, k] = opts.transA ? [ca, ra] : [ra, ca];
  const [k2, n] = opts.transB ? [cb, rb] : [rb, cb];
  if (k !== k2) throw new RangeError(`${what}: inner dimensions ${k} and ${k2} differ`);
  const batch = batchShape(what, a.shape.slice(0, -2), b.shape.slice(0, -2));
  const rank = batch.length;
  const target = opts.reduceTo ? [...opts.reduceTo] : batch;
  if (target.length > rank || target.some((d, i) => d !== 1 && d !== batch[rank - target.length + i])) {
    throw new RangeError(`${what}: the batch shape ${shapeStr(batch)} cannot be summed down to ${shapeStr(target)}`);
  }
  const padded = [...new Array<number>(rank - target.length).fill(1), ...target];
  const reduced = batch.map((d, i) => padded[i] === 1 && d !== 1);
  const sa = batchStrides(a.shape, rank);
  const sb = batchStrides(b.shape, rank);
  const out = Tensor.empty(device, [...target, m, n]);
  if (out.size === 0) return out;
  const flatBatch = numel(target);
  // The variants take one batch index for all operands: each operand is then either whole at every
  // batch index (contiguous batch dims equal to the output's) or broadcast over all of them.
  const simple = !reduced.some(Boolean);
  const matA = m * k;
  const matB = k * n;
  const strideOf = (shape: Shape, mat: number) => {
    const own = numel(shape.slice(0, -2));
    if (own === 1) return 0;
    return own === flatBatch && sameBatch(shape.slice(0, -2), batch) ? mat : -1;
  };
  const aBatchStride = strideOf(a.shape, matA);
  const bBatchStride = strideOf(b.shape, matB);
  if (simple && aBatchStride >= 0 && bBatchStride >= 0 && k > 0) {
    const problem: MatmulProblem = { batch: flatBatch, m, n, k, transA: Boolean(opts.transA), transB: Boolean(opts.transB), aBatchStride, bBatchStride };
    chooseMatmulVariant(device, problem).record(device, problem, a.buffer, b.buffer, out.buffer);
    return out;
  }
  recordGeneral(device, a, b, out, { m, n, k, ca, cb, batch, reduced, sa, sb, target, transA: Boolean(opts.transA), transB: Boolean(opts.transB) });
  return out;
}

function sameBatch(own: Shape, batch: Shape): boolean {
  const off = batch.length - own.length;
  return own.every((d, i) => d === batch[off + i]) && batch.slice(0, off).every((d) => d === 1);
}

interface GeneralArgs {
  m: number;
  n: number;
  k: number;
  ca: number;
  cb: number;
  batch: number[];
  reduced: boolean[];
  sa: number[];
  sb: number[];
  target: number[];
  transA: boolean;
  transB: boolean;
}

/** The general strided kernel (kernels/matmul.wgsl): any batch broadcasting, summed batch dims. */
function recordGeneral(device: Device, a: Tensor | GPUBuffer, b: Tensor | GPUBuffer, out: Tensor | GPUBuffer, g: GeneralArgs): void {
  const { m, n, k, batch, reduced, sa, sb, target } = g;
  const pick = (v: number[], keep: boolean, fill: number) => v.map((x, i) => (reduced[i] === keep ? fill : x));
  const buf = (t: Tensor | GPUBuffer) => (t instanceof Tensor ? t.buffer : t);
  const tilesM = Math.ceil(m / TILE);
  const tilesN = Math.ceil(n / TILE);
  const total = numel(target) * tilesM * tilesN;
  device.dispatch(kernel(device, FILE, 'matmul', { WG }), {
    buffers: { lhs: buf(a), rhs: buf(b), out: buf(out) },
    uniforms: {
      p: {
        m,
        n,
        k,
        tiles_m: tilesM,
        tiles_n: tilesN,
        total,
        red_count: numel(batch.filter((_, i) => reduced[i])),
        a_rs: g.transA ? 1 : g.ca,
        a_cs: g.transA ? g.ca : 1,
        b_rs: g.transB ? 1 : g.cb,
        b_cs: g.transB ? g.cb : 1,
        keep_shape: packDims(pick(batch, true, 1)),
        keep_a: packDims(pick(sa, true, 0), 0),
        keep_b: packDims(pick(sb, true, 0), 0),
        red_shape: packDims(pick(batch, false, 1)),
        red_a: packDims(pick(sa, false, 0), 0),
        red_b: packDims(pick(sb, false, 0), 0),
      },
    },
    workgroups: grid1d(device, total, WG),
  });
}

/** The general kernel as the 'plain' variant: a 4x4 register tile per invocation, any device. */
registerMatmulVariant({
  name: 'plain',
  unsupported: () => null,
  record(device, p, a, b, out) {
    recordGeneral(device, a, b, out, {
      m: p.m,
      n: p.n,
      k: p.k,
      ca: p.transA ? p.m : p.k,
      cb: p.transB ? p.k : p.n,
      batch: [p.batch],
      reduced: [false],
      sa: [p.aBatchStride],
      sb: [p.bBatchStride],
      target: [p.batch],
      transA: p.transA,
      transB: p.transB,
    });
  },
});

/**
 * Measures every variant that can run each problem (median GPU time of `repeats` runs after a
 * warm-up) and stores the fastest per shape class on this adapter. Classes already measured are
 * kept unless `force`. The choice is used by every later matmul of that class.
 */
export async function tuneMatmul(device: Device, problems: MatmulProblem[], opts: { repeats?: number; force?: boolean } = {}): Promise<TuneResult[]> {
  const timer = new GpuTimer(device);
  const results: TuneResult[] = [];
  const seen = new Set<string>();
  try {
    for (const p of problems) {
      const cls = shapeClass(p);
      if (seen.has(cls) || (!opts.force && storedMatmulChoice(device, p))) continue;
      seen.add(cls);
      const a = Tensor.empty(device, [Math.max(1, p.aBatchStride ? p.batch : 1) * p.m * p.k]).fullLike(0.5);
      const b = Tensor.empty(device, [Math.max(1, p.bBatchStride ? p.batch : 1) * p.k * p.n]).fullLike(0.25);
      const out = Tensor.empty(device, [p.batch * p.m * p.n]);
      const timings: TuneResult['timings'] = [];
      for (const v of matmulVariants()) {
        if (v.name === 'naive' || v.unsupported(device, p)) continue;
        v.record(device, p, a.buffer, b.buffer, out.buffer);
        const ms = await timer.time(() => v.record(device, p, a.buffer, b.buffer, out.buffer), opts.repeats ?? 5);
        ms.sort((x, y) => x - y);
        timings.push({ variant: v.name, medianMs: ms[Math.floor(ms.length / 2)]! });
      }
      timings.sort((x, y) => x.medianMs - y.medianMs);
      const chosen = timings[0]!.variant;
      storeMatmulChoice(device, p, chosen);
      results.push({ shapeClass: cls, timings, chosen });
      for (const t of [a, b, out]) t.dispose();
    }
  } finally {
    timer.destroy();
  }
  return results;
}

/** a [..., M, K] @ b [..., K, N] -> [..., M, N], batch dims broadcast (numpy rules). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const y = matmulRaw(a, b);
  return record('matmul', [a, b], y, (dy) => [
    a.requiresGrad ? matmulRaw(dy, b, { transB: true, reduceTo: a.shape.slice(0, -2) }) : null,
    b.requiresGrad ? matmulRaw(a, dy, { transA: true, reduceTo: b.shape.slice(0, -2) }) : null,
  ]);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** this [..., M, K] @ b [..., K, N] (see matmul()). */
    matmul(b: Tensor): Tensor;
  }
}

Tensor.prototype.matmul = function (b: Tensor) {
  return matmul(this, b);
};
