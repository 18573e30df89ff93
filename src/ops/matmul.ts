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
import { checkInputs, grid1d, kernel, packDims } from './support.js';

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
  const pick = (v: number[], keep: boolean, fill: number) => v.map((x, i) => (reduced[i] === keep ? fill : x));
  const out = Tensor.empty(device, [...target, m, n]);
  const tilesM = Math.ceil(m / TILE);
  const tilesN = Math.ceil(n / TILE);
  const total = numel(target) * tilesM * tilesN;
  device.dispatch(kernel(device, FILE, 'matmul', { WG }), {
    buffers: { lhs: a.buffer, rhs: b.buffer, out: out.buffer },
    uniforms: {
      p: {
        m,
        n,
        k,
        tiles_m: tilesM,
        tiles_n: tilesN,
        total,
        red_count: numel(batch.filter((_, i) => reduced[i])),
        a_rs: opts.transA ? 1 : ca,
        a_cs: opts.transA ? ca : 1,
        b_rs: opts.transB ? 1 : cb,
        b_cs: opts.transB ? cb : 1,
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
  return out;
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
