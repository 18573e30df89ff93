/**
 * Softmax and log-softmax along one axis (default the last), numerically stable: each slice's
 * maximum is subtracted before exp. -inf entries (masks) get probability 0; a slice of only -inf
 * gives NaN, as in PyTorch. x is viewed as [outer, len, inner]. Two kernel variants: one
 * invocation per slice (kernels/softmax.wgsl, every adapter, any axis) and, for the last axis, one
 * row per subgroup (kernels/softmax_subgroup.wgsl); rowVariant() in reduce.ts picks between them.
 */
import type { Device } from '../runtime/device.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { rowVariant, splitAxis, subgroupLayout, type AxisSplit, type VariantOptions } from './reduce.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'softmax.wgsl';
const SUBGROUP_FILE = 'softmax_subgroup.wgsl';
const WG = 64;

/**
 * Records the forward or backward kernel over every slice. `buffers` are named as in the
 * forward entry points (x, y) or the backward ones (by, dy, dx).
 */
function dispatchSlices(op: string, device: Device, s: AxisSplit, log: boolean, backward: boolean, buffers: Record<string, GPUBuffer>, opts: VariantOptions): void {
  const slices = s.outer * s.inner;
  if (slices === 0 || s.len === 0) return;
  const uniform = backward ? 'bp' : 'p';
  if (s.inner === 1 && rowVariant(op, device, slices, opts) === 'subgroup') {
    const layout = subgroupLayout(device)!;
    device.dispatch(kernel(device, SUBGROUP_FILE, backward ? 'backward_rows' : 'forward_rows', { ...layout, LOG: log }), {
      buffers,
      uniforms: { [uniform]: { rows: slices, cols: s.len } },
      workgroups: grid1d(device, slices, layout.ROWS),
    });
    return;
  }
  device.dispatch(kernel(device, FILE, backward ? 'backward' : 'forward', { WG, LOG: log }), {
    buffers,
    uniforms: { [uniform]: { n: slices, len: s.len, inner: s.inner } },
    workgroups: grid1d(device, slices, WG),
  });
}

function softmaxOp(op: 'softmax' | 'logSoftmax', x: Tensor, axis: number, opts: VariantOptions): Tensor {
  const device = checkInputs(op, [x]);
  const s = splitAxis(op, x.shape, axis, true);
  const log = op === 'logSoftmax';
  const y = Tensor.empty(device, x.shape);
  dispatchSlices(op, device, s, log, false, { x: x.buffer, y: y.buffer }, opts);
  return record(op, [x], y, (dy) => {
    const dx = Tensor.empty(device, x.shape);
    dispatchSlices(op, device, s, log, true, { by: y.buffer, dy: dy.buffer, dx: dx.buffer }, opts);
    return [dx];
  });
}

/** exp(x - max) / sum(exp(x - max)) along `axis` (default -1). */
export function softmax(x: Tensor, axis = -1, opts: VariantOptions = {}): Tensor {
  return softmaxOp('softmax', x, axis, opts);
}

/** (x - max) - log(sum(exp(x - max))) along `axis` (default -1). */
export function logSoftmax(x: Tensor, axis = -1, opts: VariantOptions = {}): Tensor {
  return softmaxOp('logSoftmax', x, axis, opts);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Softmax along an axis (default the last; see softmax()). */
    softmax(axis?: number): Tensor;
    /** Log-softmax along an axis (default the last; see logSoftmax()). */
    logSoftmax(axis?: number): Tensor;
  }
}

Tensor.prototype.softmax = function (axis?: number) { return softmax(this, axis); };
Tensor.prototype.logSoftmax = function (axis?: number) { return logSoftmax(this, axis); };
