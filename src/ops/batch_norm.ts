/**
 * Batch norm over one channel axis (PyTorch F.batch_norm / nn.BatchNorm1d): x is viewed as
 * [outer, C, inner] around `axis` (1 for PyTorch's [N, C] and [N, C, L]; -1 for the released
 * LinearBlock's [B, T, C], which PyTorch permutes to [B, C, T] first). Training mode normalises
 * with the batch mean and biased variance and, when running buffers are given, updates them in
 * place (momentum, unbiased variance), as PyTorch does. Eval mode normalises with the running
 * statistics. Statistics and parameter gradients are sums in a fixed chunk order
 * (kernels/batch_norm.wgsl).
 */
import type { Device } from '../runtime/device.js';
import { normAxis, shapeStr } from '../tensor/shape.js';
import { needsGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel, vec4Bindings } from './support.js';

const FILE = 'batch_norm.wgsl';
const WG = 64;
/** reduction positions per partial sum */
const CHUNK = 64;

export interface BatchNormOptions {
  /** the channel axis (default 1, PyTorch's) */
  axis?: number;
  /** batch statistics (true) or running statistics (false) */
  training: boolean;
  /** [C] buffers; required in eval mode, updated in place in training mode when given */
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  momentum?: number;
  eps?: number;
  /** an i32 scalar incremented by each training call (PyTorch's num_batches_tracked) */
  numBatchesTracked?: Tensor | null;
}

interface Layout {
  outer: number;
  channels: number;
  inner: number;
}

/** y = (x - mean) / sqrt(var + eps) * weight + bias per channel; weight and bias ([C] or null) optional. */
export function batchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, opts: BatchNormOptions): Tensor {
  const { runningMean = null, runningVar = null, momentum = 0.1, eps = 1e-5, training, numBatchesTracked = null } = opts;
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const device = checkInputs('batchNorm', [...inputs, ...(runningMean ? [runningMean] : []), ...(runningVar ? [runningVar] : [])]);
  if (x.rank < 2) throw new RangeError(`batchNorm: x ${shapeStr(x.shape)} needs a batch and a channel dimension`);
  const ax = normAxis('batchNorm', opts.axis ?? 1, x.rank);
  const channels = x.shape[ax]!;
  const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const total = outer * inner;
  for (const [what, t] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== channels)) {
      throw new RangeError(`batchNorm: ${what} ${shapeStr(t.shape)} does not match the ${channels} channels of x ${shapeStr(x.shape)} along axis ${ax}`);
    }
  }
  if (Boolean(runningMean) !== Boolean(runningVar)) throw new RangeError('batchNorm: runningMean and runningVar must be given together');
  if (!training && !runningMean) throw new RangeError(`batchNorm: eval mode needs runningMean and runningVar (x ${shapeStr(x.shape)})`);
  if (training && total <= 1 && channels > 0) {
    throw new RangeError(`batchNorm: training needs more than 1 value per channel, got x ${shapeStr(x.shape)} with channel axis ${ax}`);
  }
  if (numBatchesTracked) {
    checkInputs('batchNorm', [numBatchesTracked], 'i32');
    if (numBatchesTracked.size !== 1) throw new RangeError(`batchNorm: numBatchesTracked ${shapeStr(numBatchesTracked.shape)} must hold one value`);
  }
  if (!(eps >= 0 && Number.isFinite(eps))) throw new RangeError(`batchNorm: eps must be finite and >= 0, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new RangeError(`batchNorm: momentum must be in [0, 1], got ${momentum}`);
  const layout: Layout = { outer, channels, inner };

  const mean = Tensor.empty(device, [channels]);
  const rstd = Tensor.empty(device, [channels]);
  if (training) {
    batchStats(device, x, layout, mean, rstd, eps, momentum, runningMean, runningVar);
    if (numBatchesTracked) device.dispatch(kernel(device, FILE, 'count_batch'), { buffers: { counter: numBatchesTracked.buffer }, workgroups: [1, 1] });
  } else {
    device.dispatch(kernel(device, FILE, 'eval_stats', { WG }), {
      buffers: { erun_mean: runningMean!.buffer, erun_var: runningVar!.buffer, emean: mean.buffer, erstd: rstd.buffer },
      uniforms: { ep: { channels, eps } },
      workgroups: grid1d(device, channels, WG),
    });
  }
  const y = Tensor.empty(device, x.shape);
  const v4 = vec4Mode(layout);
  // invocations: one per value, or one per 4 values with the vec4 kernels
  const n = v4 === '' ? x.size : x.size / 4;
  const forwardArgs = { x: x.buffer, mean: mean.buffer, rstd: rstd.buffer, weight: (weight ?? x).buffer, bias: (bias ?? x).buffer, y: y.buffer };
  device.dispatch(kernel(device, FILE, `forward${v4}`, { WG }), {
    buffers: v4 === '' ? forwardArgs : vec4Bindings(forwardArgs, v4 === '4c' ? Object.keys(forwardArgs) : ['x', 'y']),
    uniforms: { p: { n, channels, inner, has_weight: weight ? 1 : 0, has_bias: bias ? 1 : 0 } },
    workgroups: grid1d(device, n, WG),
  });
  if (!needsGrad(inputs)) {
    mean.dispose();
    rstd.dispose();
    return y;
  }
  return record('batchNorm', inputs, y, (dy) => {
    const [sumDy, sumDyX] = channelSums(device, x, dy, mean, rstd, layout);
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = Tensor.empty(device, x.shape);
      const args = { xx: x.buffer, xmean: mean.buffer, xrstd: rstd.buffer, xw: (weight ?? x).buffer, xsum_dy: sumDy.buffer, xsum_dyx: sumDyX.buffer, xdy: dy.buffer, dx: dx.buffer };
      device.dispatch(kernel(device, FILE, `backward_x${v4}`, { WG }), {
        buffers: v4 === '' ? args : vec4Bindings(args, v4 === '4c' ? Object.keys(args) : ['xx', 'xdy', 'dx']),
        uniforms: { bx: { n, channels, inner, total, training: training ? 1 : 0, has_weight: weight ? 1 : 0 } },
        workgroups: grid1d(device, n, WG),
      });
    }
    const grads: (Tensor | null)[] = [dx];
    if (weight) grads.push(weight.requiresGrad ? sumDyX : null);
    if (bias) grads.push(bias.requiresGrad ? sumDy : null);
    if (!weight?.requiresGrad) sumDyX.dispose();
    if (!bias?.requiresGrad) sumDy.dispose();
    return grads;
  });
}

/**
 * Which 4-values-per-invocation kernels apply (kernels/batch_norm.wgsl): '4c' where the channels
 * are innermost and a multiple of 4 (4 neighbouring values, 4 channels), '4i' where the positions
 * inside a channel come in runs of a multiple of 4 (4 neighbouring values, one channel), else ''.
 */
function vec4Mode(l: Layout): '' | '4c' | '4i' {
  if (l.inner === 1 && l.channels % 4 === 0) return '4c';
  if (l.inner % 4 === 0) return '4i';
  return '';
}

/** Batch mean and rstd per channel, and the running-stat update when buffers are given. */
function batchStats(device: Device, x: Tensor, l: Layout, mean: Tensor, rstd: Tensor, eps: number, momentum: number, runningMean: Tensor | null, runningVar: Tensor | null): void {
  const total = l.outer * l.inner;
  const chunks = Math.ceil(total / CHUNK);
  const partMean = Tensor.empty(device, [chunks, l.channels]);
  const partM2 = Tensor.empty(device, [chunks, l.channels]);
  device.dispatch(kernel(device, FILE, 'stats_partial', { WG }), {
    buffers: { sx: x.buffer, part_mean: partMean.buffer, part_m2: partM2.buffer },
    uniforms: { sp: { ...l, chunk: CHUNK, n: chunks * l.channels } },
    workgroups: grid1d(device, chunks * l.channels, WG),
  });
  // without running buffers the update is off and any writable buffers are bound
  const scratch = runningMean ? [] : [0, 1].map(() => Tensor.empty(device, [Math.max(l.channels, 1)]));
  device.dispatch(kernel(device, FILE, 'stats_final', { WG }), {
    buffers: {
      fin_mean: partMean.buffer,
      fin_m2: partM2.buffer,
      smean: mean.buffer,
      srstd: rstd.buffer,
      run_mean: (runningMean ?? scratch[0]!).buffer,
      run_var: (runningVar ?? scratch[1]!).buffer,
    },
    uniforms: { sf: { channels: l.channels, chunks, chunk: CHUNK, total, eps, momentum, update: runningMean ? 1 : 0 } },
    workgroups: grid1d(device, l.channels, WG),
  });
  partMean.dispose();
  partM2.dispose();
  for (const t of scratch) t.dispose();
}

/** [sum of dy, sum of dy * xhat] per channel, in chunk order. */
function channelSums(device: Device, x: Tensor, dy: Tensor, mean: Tensor, rstd: Tensor, l: Layout): [Tensor, Tensor] {
  const total = l.outer * l.inner;
  const chunks = Math.ceil(total / CHUNK);
  const partDy = Tensor.empty(device, [chunks, l.channels]);
  const partDyX = Tensor.empty(device, [chunks, l.channels]);
  device.dispatch(kernel(device, FILE, 'backward_partial', { WG }), {
    buffers: { px: x.buffer, pmean: mean.buffer, prstd: rstd.buffer, pdy: dy.buffer, part_dy: partDy.buffer, part_dyx: partDyX.buffer },
    uniforms: { bp: { ...l, chunk: CHUNK, n: chunks * l.channels } },
    workgroups: grid1d(device, chunks * l.channels, WG),
  });
  const sumDy = Tensor.empty(device, [l.channels]);
  const sumDyX = Tensor.empty(device, [l.channels]);
  device.dispatch(kernel(device, FILE, 'backward_final', { WG }), {
    buffers: { fin_dy: partDy.buffer, fin_dyx: partDyX.buffer, dbias: sumDy.buffer, dweight: sumDyX.buffer },
    uniforms: { bf: { channels: l.channels, chunks } },
    workgroups: grid1d(device, l.channels, WG),
  });
  partDy.dispose();
  partDyX.dispose();
  return [sumDy, sumDyX];
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Batch norm over a channel axis (see batchNorm()). */
    batchNorm(weight: Tensor | null, bias: Tensor | null, opts: BatchNormOptions): Tensor;
  }
}

Tensor.prototype.batchNorm = function (weight: Tensor | null, bias: Tensor | null, opts: BatchNormOptions) {
  return batchNorm(this, weight, bias, opts);
};
