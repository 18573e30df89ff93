/**
 * L2 normalisation along one axis (PyTorch F.normalize): y = x / max(||x||_2, eps). x is viewed
 * as [outer, n, inner] around the axis; the forward saves each vector's norm for the backward.
 */
import { normAxis, shapeStr } from '../tensor/shape.js';
import { needsGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'l2_normalize.wgsl';
const WG = 64;

/** x / max(||x||_2, eps) along `axis` (negative counts from the end). */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  const device = checkInputs('l2Normalize', [x]);
  if (x.rank === 0) throw new RangeError(`l2Normalize: x ${shapeStr(x.shape)} must have at least one dimension`);
  const ax = normAxis('l2Normalize', axis, x.rank);
  if (!(eps > 0 && Number.isFinite(eps))) throw new RangeError(`l2Normalize: eps must be finite and > 0, got ${eps}`);
  const n = x.shape[ax]!;
  const inner = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, ax).reduce((p, d) => p * d, 1);
  const count = outer * inner;
  const params = { count, n, inner, eps };
  const y = Tensor.empty(device, x.shape);
  const norm = Tensor.empty(device, [count]);
  device.dispatch(kernel(device, FILE, 'forward', { WG }), {
    buffers: { x: x.buffer, y: y.buffer, norm: norm.buffer },
    uniforms: { p: params },
    workgroups: grid1d(device, count, WG),
  });
  if (!needsGrad([x])) {
    norm.dispose();
    return y;
  }
  return record('l2Normalize', [x], y, (dy) => {
    const dx = Tensor.empty(device, x.shape);
    device.dispatch(kernel(device, FILE, 'backward', { WG }), {
      buffers: { bx: x.buffer, bnorm: norm.buffer, dy: dy.buffer, dx: dx.buffer },
      uniforms: { bp: params },
      workgroups: grid1d(device, count, WG),
    });
    return [dx];
  });
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** x / max(||x||_2, eps) along `axis` (see l2Normalize()). */
    l2Normalize(axis?: number, eps?: number): Tensor;
  }
}

Tensor.prototype.l2Normalize = function (axis?: number, eps?: number) {
  return l2Normalize(this, axis, eps);
};
