/**
 * Elementwise binary ops with numpy broadcasting: add, sub, mul, div, pow, maximum. A number as
 * the second operand uses the scalar ops of unary.ts. The backward computes both partials at the
 * output's shape in one pass, then sums each down to its input's shape (the broadcasting rule).
 */
import { broadcastShapes, numel, sameShape, stridesOf, type Shape } from '../tensor/shape.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel, MAX_RANK, packDims } from './support.js';
import { full, unary } from './unary.js';

const FILE = 'binary.wgsl';
const WG = 256;

export const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5 } as const;
export type BinaryOp = keyof typeof BINARY_OPS;

/** Strides of `shape` read as `outShape` (right-aligned, 0 along broadcast dims), padded to MAX_RANK. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const s = stridesOf(shape);
  const out = new Array<number>(MAX_RANK).fill(0);
  const off = MAX_RANK - shape.length;
  for (let d = 0; d < shape.length; d++) out[off + d] = shape[d] === 1 && outShape[outShape.length - shape.length + d] !== 1 ? 0 : s[d]!;
  return out;
}

/**
 * The output shape and both inputs' strides with size-1 dims dropped and neighbouring dims merged
 * where both inputs walk them as one (stride of the outer = stride of the inner x its size), so
 * that the kernel divides once per remaining dim: [N, C] + [C] is rank 2, not 8.
 */
export function mergeBroadcastDims(shape: Shape, sa: readonly number[], sb: readonly number[]): { rank: number; shape: number[]; a: number[]; b: number[] } {
  const off = MAX_RANK - shape.length;
  const dims: [number, number, number][] = [];
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const cur: [number, number, number] = [n, sa[off + d]!, sb[off + d]!];
    const last = dims[dims.length - 1];
    if (last && last[1] === cur[1] * n && last[2] === cur[2] * n) {
      last[0] *= n;
      last[1] = cur[1];
      last[2] = cur[2];
    } else dims.push(cur);
  }
  return {
    rank: dims.length,
    shape: packDims(dims.map((d) => d[0])),
    a: packDims(dims.map((d) => d[1]), 0),
    b: packDims(dims.map((d) => d[2]), 0),
  };
}

export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const device = checkInputs(op, [a, b]);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const y = Tensor.empty(device, shape);
  const code = BINARY_OPS[op];
  const n = y.size;
  const same = sameShape(a.shape, b.shape);
  const merged = mergeBroadcastDims(shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
  const rank = Math.max(merged.rank, 1);
  const params = {
    n,
    out_shape: merged.shape,
    a_strides: merged.a,
    b_strides: merged.b,
  };
  const vec4 = broadcastVec4(merged);
  if (same && n % 4 === 0) {
    device.dispatch(kernel(device, FILE, 'forward_same4', { OP: code, WG }), {
      buffers: { sa4: a.buffer, sb4: b.buffer, sy4: y.buffer },
      uniforms: { sp: { n: n / 4 } },
      workgroups: grid1d(device, n / 4, WG),
    });
  } else if (same) {
    device.dispatch(kernel(device, FILE, 'forward_same', { OP: code, WG }), {
      buffers: { sa: a.buffer, sb: b.buffer, sy: y.buffer },
      uniforms: { sp: { n } },
      workgroups: grid1d(device, n, WG),
    });
  } else if (vec4 !== null) {
    device.dispatch(kernel(device, FILE, 'forward4', { OP: code, WG, RANK: rank, ...vec4 }), {
      buffers: { qa: a.buffer, qb: b.buffer, qa4: a.buffer, qb4: b.buffer, qy4: y.buffer },
      uniforms: { q4: { ...params, n: n / 4 } },
      workgroups: grid1d(device, n / 4, WG),
    });
  } else {
    device.dispatch(kernel(device, FILE, 'forward', { OP: code, WG, RANK: rank }), {
      buffers: { a: a.buffer, b: b.buffer, y: y.buffer },
      uniforms: { p: params },
      workgroups: grid1d(device, n, WG),
    });
  }
  return record(op, [a, b], y, (dy) => {
    const wantA = a.requiresGrad;
    const wantB = b.requiresGrad;
    if (!wantA && !wantB) return [null, null];
    // add passes dy through (the tape gives each input its own view); sumToShape frees the view
    if (op === 'add') return [wantA ? sumToShape(dy.detach(), a.shape) : null, wantB ? sumToShape(dy.detach(), b.shape) : null];
    const ga = wantA ? Tensor.empty(device, shape) : null;
    const gb = wantB ? Tensor.empty(device, shape) : null;
    const gaBuf = ga?.buffer ?? device.dummyBuffer(true);
    const gbBuf = gb?.buffer ?? device.dummyBuffer(true);
    const wants = { WANT_A: wantA, WANT_B: wantB };
    // same shapes merge to rank 1 with both strides 1: forward4's plan covers them too
    if (vec4 !== null) {
      device.dispatch(kernel(device, FILE, 'backward4', { OP: code, WG, RANK: rank, ...vec4, ...wants }), {
        buffers: { qa: a.buffer, qb: b.buffer, qa4: a.buffer, qb4: b.buffer, ry4: y.buffer, rdy4: dy.buffer, rga4: gaBuf, rgb4: gbBuf },
        uniforms: { q4: { ...params, n: n / 4 } },
        workgroups: grid1d(device, n / 4, WG),
      });
    } else {
      device.dispatch(kernel(device, FILE, 'backward', { OP: code, WG, RANK: rank, ...wants }), {
        buffers: { ba: a.buffer, bb: b.buffer, by: y.buffer, dy: dy.buffer, ga: gaBuf, gb: gbBuf },
        uniforms: { bp: params },
        workgroups: grid1d(device, n, WG),
      });
    }
    return [ga && sumToShape(ga, a.shape), gb && sumToShape(gb, b.shape)];
  });
}

/**
 * Sums a tensor of a broadcast shape down to `shape` (the gradient of broadcasting). Returns the
 * input itself when the shapes agree; frees the input otherwise. Not recorded on the tape.
 */
export function sumToShape(big: Tensor, shape: Shape): Tensor {
  if (sameShape(big.shape, shape)) return big;
  const device = big.device;
  const small = Tensor.empty(device, shape);
  const rank = big.shape.length;
  const smallFull = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  let reduceCount = 1;
  big.shape.forEach((d, i) => {
    if (smallFull[i] === 1) reduceCount *= d;
  });
  device.dispatch(kernel(device, FILE, 'sum_to', { WG }), {
    buffers: { big: big.buffer, small: small.buffer },
    uniforms: {
      rp: {
        n: numel(shape),
        reduce_count: big.size === 0 ? 0 : reduceCount,
        big_shape: packDims(big.shape),
        big_strides: packDims(stridesOf(big.shape), 0),
        small_shape: packDims(smallFull),
      },
    },
    workgroups: grid1d(device, small.size, WG),
  });
  big.dispose();
  return small;
}

/**
 * Whether a broadcast can run 4 outputs per invocation (kernels/binary.wgsl forward4): the
 * innermost merged dim a multiple of 4, each input walking it contiguously (read as vec4: A4/B4,
 * its other strides multiples of 4 so that every vec4 is aligned) or not at all (read once, splat).
 */
export function broadcastVec4(merged: { rank: number; shape: number[]; a: number[]; b: number[] }): { A4: boolean; B4: boolean } | null {
  if (merged.rank === 0) return null;
  const inner = MAX_RANK - 1;
  if (merged.shape[inner]! % 4 !== 0) return null;
  const mode = (strides: number[]) => {
    if (strides[inner] === 0) return false;
    if (strides[inner] !== 1) return null;
    return strides.every((s, d) => d === inner || s % 4 === 0) ? true : null;
  };
  const A4 = mode(merged.a);
  const B4 = mode(merged.b);
  return A4 === null || B4 === null ? null : { A4, B4 };
}

type Operand = Tensor | number;

function scalarOrTensor(op: BinaryOp, a: Tensor, b: Operand): Tensor {
  if (typeof b !== 'number') return binary(op, a, b);
  switch (op) {
    case 'add':
      return unary('addScalar', a, b);
    case 'sub':
      return unary('addScalar', a, -b);
    case 'mul':
      return unary('mulScalar', a, b);
    case 'div':
      if (b === 0) throw new RangeError(`div: division by the scalar 0 (tensor ${a.describe()})`);
      return unary('mulScalar', a, 1 / b);
    case 'pow':
      return unary('powScalar', a, b);
    case 'maximum':
      // a filled scalar, not an upload: an upload would flush the work recorded so far
      return binary('maximum', a, full(a.device, [], b));
  }
}

export const add = (a: Tensor, b: Operand) => scalarOrTensor('add', a, b);
export const sub = (a: Tensor, b: Operand) => scalarOrTensor('sub', a, b);
export const mul = (a: Tensor, b: Operand) => scalarOrTensor('mul', a, b);
export const div = (a: Tensor, b: Operand) => scalarOrTensor('div', a, b);
export const pow = (a: Tensor, b: Operand) => scalarOrTensor('pow', a, b);
export const maximum = (a: Tensor, b: Operand) => scalarOrTensor('maximum', a, b);

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(b: Tensor | number): Tensor;
    sub(b: Tensor | number): Tensor;
    mul(b: Tensor | number): Tensor;
    div(b: Tensor | number): Tensor;
    pow(b: Tensor | number): Tensor;
    maximum(b: Tensor | number): Tensor;
  }
}

Tensor.prototype.add = function (b: Operand) { return add(this, b); };
Tensor.prototype.sub = function (b: Operand) { return sub(this, b); };
Tensor.prototype.mul = function (b: Operand) { return mul(this, b); };
Tensor.prototype.div = function (b: Operand) { return div(this, b); };
Tensor.prototype.pow = function (b: Operand) { return pow(this, b); };
Tensor.prototype.maximum = function (b: Operand) { return maximum(this, b); };
