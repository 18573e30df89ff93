/**
 * Layer norm over the last dimension (PyTorch nn.LayerNorm semantics: biased variance), with an
 * optional weight and bias of shape [C]. The forward saves each row's mean and rstd for the
 * backward. Two variants of the row kernels: one row per subgroup (kernels/layer_norm_subgroup.wgsl)
 * where the adapter has subgroups, one row per invocation (kernels/layer_norm.wgsl) elsewhere. The weight and bias gradients are column sums over rows
 * done in a fixed order: partial sums per chunk of rows, then the chunks added in order.
 */
import type { Device } from '../runtime/device.js';
import { shapeStr } from '../tensor/shape.js';
import { needsGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel, vec4Bindings } from './support.js';

const FILE = 'layer_norm.wgsl';
const SUBGROUP_FILE = 'layer_norm_subgroup.wgsl';
const WG = 64;
/** rows per partial sum of the weight and bias gradients */
const CHUNK = 64;

export type LayerNormVariant = 'subgroup' | 'plain';

/**
 * The row-kernel variant layerNorm uses on a device: one row per subgroup where the device has
 * subgroups and WG is a multiple of the largest subgroup size, one row per invocation elsewhere.
 * On a CPU (fallback) adapter the plain kernel is used: on lavapipe it measured faster at every
 * size tried ([3136, 96]: 0.65 vs 0.90 ms; [25088, 96]: 4.6 vs 6.8 ms, forward).
 */
export function layerNormVariant(device: Device): LayerNormVariant {
  const max = device.adapter.subgroupMaxSize;
  if (device.adapter.isFallbackAdapter) return 'plain';
  return device.has('subgroups') && max !== null && max > 0 && max <= WG && WG % max === 0 ? 'subgroup' : 'plain';
}

/** The plain kernels' row bindings that forward4 and backward_x4 read or write as vec4. */
const VEC4_ROW_BINDINGS = ['x', 'weight', 'bias', 'y', 'bx', 'bw', 'dy', 'dx'];

/**
 * Dispatches a row kernel (forward or backward_x) of the chosen variant over `rows` rows of `cols`
 * values; the plain variant reads and writes 4 columns at a time where cols is a multiple of 4.
 */
function dispatchRows(device: Device, variant: LayerNormVariant, entry: string, rows: number, cols: number, args: { buffers: Record<string, GPUBuffer>; uniforms: Record<string, Record<string, number>> }): void {
  if (variant === 'subgroup') {
    // enough workgroups for one row per subgroup at the largest subgroup size; any count is correct
    const rowsPerGroup = WG / device.adapter.subgroupMaxSize!;
    device.dispatch(kernel(device, SUBGROUP_FILE, entry, { WG }), { ...args, workgroups: grid1d(device, rows, rowsPerGroup) });
  } else if (cols % 4 === 0) {
    device.dispatch(kernel(device, FILE, `${entry}4`, { WG }), { ...args, buffers: vec4Bindings(args.buffers, VEC4_ROW_BINDINGS), workgroups: grid1d(device, rows, WG) });
  } else {
    device.dispatch(kernel(device, FILE, entry, { WG }), { ...args, workgroups: grid1d(device, rows, WG) });
  }
}

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension of x. `weight` and
 * `bias` (each [C], or null) are optional.
 */
export function layerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5, opts: { variant?: LayerNormVariant } = {}): Tensor {
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const device = checkInputs('layerNorm', inputs);
  const variant = opts.variant ?? layerNormVariant(device);
  const max = device.adapter.subgroupMaxSize;
  if (variant === 'subgroup' && !(device.has('subgroups') && max !== null && max > 0 && WG % max === 0)) {
    throw new Error(`layerNorm: the subgroup variant needs the 'subgroups' feature with subgroups of at most ${WG} lanes, which device ${device.id} lacks`);
  }
  if (x.rank === 0) throw new RangeError(`layerNorm: x ${shapeStr(x.shape)} must have at least one dimension`);
  const cols = x.shape[x.rank - 1]!;
  for (const [what, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== cols)) {
      throw new RangeError(`layerNorm: ${what} ${shapeStr(t.shape)} does not match the last dimension of x ${shapeStr(x.shape)} (expected [${cols}])`);
    }
  }
  if (!(eps >= 0 && Number.isFinite(eps))) throw new RangeError(`layerNorm: eps must be finite and >= 0, got ${eps}`);
  const rows = cols === 0 ? 0 : x.size / cols;
  const y = Tensor.empty(device, x.shape);
  const mean = Tensor.empty(device, [rows]);
  const rstd = Tensor.empty(device, [rows]);
  dispatchRows(device, variant, 'forward', rows, cols, {
    buffers: { x: x.buffer, weight: (weight ?? x).buffer, bias: (bias ?? x).buffer, y: y.buffer, mean: mean.buffer, rstd: rstd.buffer },
    uniforms: { p: { rows, cols, eps, has_weight: weight ? 1 : 0, has_bias: bias ? 1 : 0 } },
  });
  if (!needsGrad(inputs)) {
    mean.dispose();
    rstd.dispose();
    return y;
  }
  return record('layerNorm', inputs, y, (dy) => {
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = Tensor.empty(device, x.shape);
      dispatchRows(device, variant, 'backward_x', rows, cols, {
        buffers: { bx: x.buffer, bw: (weight ?? x).buffer, bmean: mean.buffer, brstd: rstd.buffer, dy: dy.buffer, dx: dx.buffer },
        uniforms: { bp: { rows, cols, has_weight: weight ? 1 : 0 } },
      });
    }
    const wantW = Boolean(weight?.requiresGrad);
    const wantB = Boolean(bias?.requiresGrad);
    const [dw, db] = wantW || wantB ? weightBiasGrads(device, x, mean, rstd, dy, rows, cols) : [null, null];
    if (!wantW) dw?.dispose();
    if (!wantB) db?.dispose();
    const grads: (Tensor | null)[] = [dx];
    if (weight) grads.push(wantW ? dw : null);
    if (bias) grads.push(wantB ? db : null);
    return grads;
  });
}

/** dweight = sum over rows of dy * xhat, dbias = sum over rows of dy, both in a fixed order. */
function weightBiasGrads(device: Device, x: Tensor, mean: Tensor, rstd: Tensor, dy: Tensor, rows: number, cols: number): [Tensor, Tensor] {
  const chunks = Math.ceil(rows / CHUNK);
  const partW = Tensor.empty(device, [chunks, cols]);
  const partB = Tensor.empty(device, [chunks, cols]);
  if (cols % 4 === 0) {
    device.dispatch(kernel(device, FILE, 'backward_wb_partial4', { WG }), {
      buffers: { px4: x.buffer, pmean: mean.buffer, prstd: rstd.buffer, pdy4: dy.buffer, part_w4: partW.buffer, part_b4: partB.buffer },
      uniforms: { pp: { rows, cols, chunk: CHUNK, n: (chunks * cols) / 4 } },
      workgroups: grid1d(device, (chunks * cols) / 4, WG),
    });
  } else {
    device.dispatch(kernel(device, FILE, 'backward_wb_partial', { WG }), {
      buffers: { px: x.buffer, pmean: mean.buffer, prstd: rstd.buffer, pdy: dy.buffer, part_w: partW.buffer, part_b: partB.buffer },
      uniforms: { pp: { rows, cols, chunk: CHUNK, n: chunks * cols } },
      workgroups: grid1d(device, chunks * cols, WG),
    });
  }
  const dw = Tensor.empty(device, [cols]);
  const db = Tensor.empty(device, [cols]);
  device.dispatch(kernel(device, FILE, 'backward_wb_final', { WG }), {
    buffers: { fin_w: partW.buffer, fin_b: partB.buffer, dweight: dw.buffer, dbias: db.buffer },
    uniforms: { fp: { cols, chunks } },
    workgroups: grid1d(device, cols, WG),
  });
  partW.dispose();
  partB.dispose();
  return [dw, db];
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Layer norm over the last dimension (see layerNorm()). */
    layerNorm(weight: Tensor | null, bias: Tensor | null, eps?: number): Tensor;
  }
}

Tensor.prototype.layerNorm = function (weight: Tensor | null, bias: Tensor | null, eps?: number) {
  return layerNorm(this, weight, bias, eps);
};
