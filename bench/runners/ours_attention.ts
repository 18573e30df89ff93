/**
 * This project's windowed attention, forward + backward (dQ, dK, dV, dBias from a fixed upstream
 * gradient dy), one row per variant: the fused op windowAttention (src/ops/window_attention.ts) as
 * 'ours' / 'fused', and the same computation composed from autograd primitives
 * (src/nn/attention_unfused.ts) as impl 'naive', variant 'unfused'. Both get the same q, k, v,
 * relative-position bias, Swin shift mask and dy, uploaded once per case.
 *
 * Each repetition is one span from the first dispatch of the forward to the end of the last of the
 * backward (bench/span_timer.ts), all repetitions recorded before one wait.
 */
import { attentionUnfused } from '../../src/nn/attention_unfused.js';
import { windowAttention, windowAttentionUnsupported, type WindowAttentionOptions } from '../../src/ops/window_attention.js';
import { swinShiftMask } from '../../src/ops/window_attention_swin.js';
import '../../src/ops/index.js';
import type { Device } from '../../src/runtime/device.js';
import { backward } from '../../src/tensor/tape.js';
import { Tensor, tidy } from '../../src/tensor/tensor.js';
import type { AttentionCase } from '../cases.js';
import { SpanTimer } from '../span_timer.js';
import { plannedRepeats, randomF32 } from '../timing.js';
import { eachCase, makeRow, type Impl, type Row, type Runner, type RunnerContext, type Unavailable } from '../types.js';

export interface AttentionBenchVariant {
  name: string;
  impl: Impl;
  attend(q: Tensor, k: Tensor, v: Tensor, opts: WindowAttentionOptions): Tensor;
  /** why the variant cannot run on this device, or null */
  unsupported?: (device: Device) => string | null;
}

/** timed repetitions per case at most */
const MAX_REPEATS = 256;

/** The fused op as users get it: the subgroup kernels on lavapipe, the workgroup ones on GPUs. */
export const FUSED_ATTENTION: AttentionBenchVariant = { name: 'fused', impl: 'ours', attend: windowAttention, unsupported: (d) => windowAttentionUnsupported(d) };
export const UNFUSED_ATTENTION: AttentionBenchVariant = { name: 'unfused', impl: 'naive', attend: attentionUnfused };

/** The inputs of a case as float32 arrays (the TF.js runner uploads the same values). */
export function attentionInputs(c: AttentionCase): { q: Float32Array; k: Float32Array; v: Float32Array; bias: Float32Array; dy: Float32Array } {
  const n = c.batch * c.windows * c.heads * c.t * c.dh;
  const half = (a: Float32Array) => a.map((x) => 0.5 * x);
  return { q: half(randomF32(n, 1)), k: half(randomF32(n, 2)), v: half(randomF32(n, 3)), bias: half(randomF32(c.heads * c.t * c.t, 4)), dy: randomF32(n, 5) };
}

export function oursAttentionRunner(variants: readonly AttentionBenchVariant[] = [FUSED_ATTENTION, UNFUSED_ATTENTION]) {
  return async (ctx: RunnerContext): Promise<Runner | Unavailable> => {
    const device = ctx.device;
    if (!device) return { impl: 'ours', unavailable: 'no WebGPU device was opened' };
    if (variants.length === 0) return { impl: 'ours', unavailable: 'no attention variant of the requested kind (bench/runners/ours_attention.ts)' };
    const timer = new SpanTimer(device, MAX_REPEATS);
    const measure = async (c: AttentionCase) => {
      const x = attentionInputs(c);
      const shape = [c.batch * c.windows, c.heads, c.t, c.dh];
      const q = Tensor.from(device, x.q, shape, { requiresGrad: true });
      const k = Tensor.from(device, x.k, shape, { requiresGrad: true });
      const v = Tensor.from(device, x.v, shape, { requiresGrad: true });
      const bias = Tensor.from(device, x.bias, [c.heads, c.t, c.t], { requiresGrad: true });
      const dy = Tensor.from(device, x.dy, shape);
      const mask = swinShiftMask(device, c.grid, c.grid, c.window, c.shift);
      const leaves = [q, k, v, bias];
      const clearGrads = () => {
        for (const t of leaves) {
          t.grad?.dispose();
          t.grad = null;
        }
      };
      const rows: Row[] = [];
      try {
        for (const variant of variants) {
          const why = variant.unsupported?.(device);
          if (why) {
            ctx.log(`${variant.impl}/${variant.name}: ${c.name}: skipped (${why})`);
            continue;
          }
          const once = () => {
            tidy(() => backward(variant.attend(q, k, v, { scale: c.dh ** -0.5, bias, mask }), dy));
            clearGrads();
          };
          const t0 = performance.now();
          once(); // untimed: compiles
          await device.sync();
          const estimate = await timer.spans(once, 1, performance.now() - t0);
          const samples = await timer.spans(once, Math.min(MAX_REPEATS, plannedRepeats(estimate[0]!, ctx.timing)), estimate[0]!);
          rows.push(makeRow(c, variant.impl, variant.name, samples, timer.clock, device.name));
        }
      } finally {
        clearGrads();
        for (const t of [...leaves, dy, mask]) t.dispose();
      }
      return rows;
    };
    return {
      impl: 'ours',
      device: device.name,
      runAll: (cases, emit) => eachCase('ours', 'attention', cases, ctx, measure, emit),
      close: () => timer.destroy(),
    };
  };
}
