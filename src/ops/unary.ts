/**
 * Elementwise unary ops (exp, log, sqrt, relu, gelu, sigmoid, tanh, abs, neg) and scalar ops
 * (x + s, x * s, x ^ s, s - x, s / x): one WGSL file, one pipeline per op code, and a backward
 * that reads x, y and dy.
 */
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'unary.wgsl';
const WG = 256;

/** Op codes of kernels/unary.wgsl. */
export const UNARY_OPS = {
  copy: 0,
  neg: 1,
  exp: 2,
  log: 3,
  sqrt: 4,
  relu: 5,
  gelu: 6,
  sigmoid: 7,
  tanh: 8,
  addScalar: 9,
  mulScalar: 10,
  powScalar: 11,
  rsubScalar: 12,
  rdivScalar: 13,
  abs: 14,
} as const;

export type UnaryOp = keyof typeof UNARY_OPS;

/** Applies a unary op; `alpha` is the scalar of the scalar ops. */
export function unary(op: UnaryOp, x: Tensor, alpha = 0): Tensor {
  const device = checkInputs(op, [x]);
  if (!Number.isFinite(alpha)) throw new RangeError(`${op}: the scalar must be finite, got ${alpha}`);
  const code = UNARY_OPS[op];
  const y = Tensor.empty(device, x.shape);
  device.dispatch(kernel(device, FILE, 'forward', { OP: code, WG }), {
    buffers: { x: x.buffer, y: y.buffer },
    uniforms: { p: { n: x.size, alpha } },
    workgroups: grid1d(device, x.size, WG),
  });
  return record(op, [x], y, (dy) => {
    const dx = Tensor.empty(device, x.shape);
    device.dispatch(kernel(device, FILE, 'backward', { OP: code, WG }), {
      buffers: { bx: x.buffer, by: y.buffer, dy: dy.buffer, dx: dx.buffer },
      uniforms: { bp: { n: x.size, alpha } },
      workgroups: grid1d(device, x.size, WG),
    });
    return [dx];
  });
}

/** A new tensor of the given shape filled with one value (no upload). */
export function full(device: Tensor['device'], shape: readonly number[], value: number): Tensor {
  device.assertAlive('full');
  const out = Tensor.empty(device, shape);
  // 4 values per thread where the size allows (a quarter of the stores)
  const v4 = out.size % 4 === 0;
  const n = v4 ? out.size / 4 : out.size;
  device.dispatch(kernel(device, FILE, v4 ? 'fill4' : 'fill', { WG }), {
    buffers: v4 ? { out4: out.buffer } : { out: out.buffer },
    uniforms: { fp: { n, value } },
    workgroups: grid1d(device, n, WG),
  });
  return out;
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const relu = (x: Tensor) => unary('relu', x);
export const gelu = (x: Tensor) => unary('gelu', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const abs = (x: Tensor) => unary('abs', x);
export const addScalar = (x: Tensor, s: number) => unary('addScalar', x, s);
export const mulScalar = (x: Tensor, s: number) => unary('mulScalar', x, s);
export const powScalar = (x: Tensor, s: number) => unary('powScalar', x, s);
export const rsubScalar = (x: Tensor, s: number) => unary('rsubScalar', x, s);
export const rdivScalar = (x: Tensor, s: number) => unary('rdivScalar', x, s);
/** A copy that takes part in autograd. */
export const clone = (x: Tensor) => unary('copy', x);

declare module '../tensor/tensor.js' {
  interface Tensor {
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    relu(): Tensor;
    gelu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    abs(): Tensor;
    clone(): Tensor;
    /** A tensor of this one's shape filled with `value` (not recorded on the tape). */
    fullLike(value: number): Tensor;
  }
}

Tensor.prototype.neg = function () { return neg(this); };
Tensor.prototype.exp = function () { return exp(this); };
Tensor.prototype.log = function () { return log(this); };
Tensor.prototype.sqrt = function () { return sqrt(this); };
Tensor.prototype.relu = function () { return relu(this); };
Tensor.prototype.gelu = function () { return gelu(this); };
Tensor.prototype.sigmoid = function () { return sigmoid(this); };
Tensor.prototype.tanh = function () { return tanh(this); };
Tensor.prototype.abs = function () { return abs(this); };
Tensor.prototype.clone = function () { return clone(this); };
Tensor.prototype.fullLike = function (value: number) { return full(this.device, this.shape, value); };
