/**
 * This project's AUNCE loss, forward + backward (loss.backward() down to dL/dZ), one row per
 * variant: the fused op (src/ops/aunce.ts) with the kernel variant aunceLoss() picks on this device
 * ('fused'), each other kernel variant the device supports forced ('fused shuffle', ...), and the
 * same loss built from autograd primitives (src/losses/aunce_unfused.ts), reported as impl 'naive',
 * variant 'unfused'. With a case's `normalize`, the fused op normalises inside its kernels and the
 * unfused graph starts with the l2Normalize op.
 *
 * Z is uploaded once per case; each repetition is one span from the first dispatch of the forward
 * to the end of the last of the backward (bench/span_timer.ts), all repetitions recorded before
 * one wait. Both losses upload their per-call tables (the fused op's labels and types, a few KiB;
 * the unfused graph's [K, N, N] masks) before their first dispatch, so outside the span; with
 * `normalize` the unfused graph's l2Normalize dispatch comes first, and the submit its uploads
 * cause is inside. Each row also says how many device bytes the forward leaves allocated for the
 * backward (untimed run, buffer pool counters).
 */
import { aunceLoss, aunceVariant, type AunceVariant } from '../../src/ops/aunce.js';
import { l2Normalize } from '../../src/ops/l2_normalize.js';
import { aunceLossUnfused } from '../../src/losses/aunce_unfused.js';
import '../../src/ops/index.js';
import type { Device } from '../../src/runtime/device.js';
import { Tensor, tidy } from '../../src/tensor/tensor.js';
import { aunceLabels, type AunceCase } from '../cases.js';
import { SpanTimer } from '../span_timer.js';
import { plannedRepeats, randomF32 } from '../timing.js';
import { eachCase, makeRow, type Impl, type Row, type Runner, type RunnerContext, type Unavailable } from '../types.js';

export interface AunceBenchVariant {
  name: string;
  /** 'ours' for the fused op, 'naive' for the unfused graph */
  impl: Impl;
  /** the scalar loss of z on the tape (z has unit rows, or raw rows when the case normalises) */
  loss(z: Tensor, labels: number[][], c: AunceCase): Tensor;
  /** why the variant cannot run on this device, or null */
  unsupported?: (device: Device) => string | null;
}

/** timed repetitions per case at most */
const MAX_REPEATS = 256;
const KERNEL_VARIANTS: readonly AunceVariant[] = ['broadcast', 'shuffle'];

const options = (c: AunceCase) => ({ mode: c.mode, positive: c.positive });

/** The fused op; `forced` pins a kernel variant, else aunceLoss() picks. */
export function fusedVariant(forced?: AunceVariant): AunceBenchVariant {
  return {
    name: forced ? `fused ${forced}` : 'fused',
    impl: 'ours',
    loss: (z, labels, c) => aunceLoss(z, labels, { ...options(c), normalize: c.normalize, variant: forced }).loss,
    unsupported: (device) => {
      const v = aunceVariant(device, forced);
      return v === 'broadcast' || v === 'shuffle' ? null : v;
    },
  };
}

export const UNFUSED: AunceBenchVariant = {
  name: 'unfused',
  impl: 'naive',
  loss: (z, labels, c) => aunceLossUnfused(c.normalize ? l2Normalize(z, -1) : z, labels, options(c)).loss,
};

/** What is measured by default: the fused op as users get it, its other kernel variants forced, the unfused graph. */
export function aunceBenchVariants(device: Device | null): AunceBenchVariant[] {
  const auto = device ? aunceVariant(device) : null;
  const others = KERNEL_VARIANTS.filter((v) => v !== auto).map(fusedVariant);
  return [fusedVariant(), ...others, UNFUSED];
}

/** Features of a case: unit rows per (anchor, AU), or raw values in [-1, 1) when the case normalises. */
export function aunceFeatures(c: AunceCase, seed = 1): Float32Array {
  const z = randomF32(2 * c.b * c.k * c.d, seed);
  if (c.normalize) return z;
  for (let r = 0; r < 2 * c.b * c.k; r++) {
    const row = z.subarray(r * c.d, (r + 1) * c.d);
    const norm = Math.hypot(...row);
    for (let i = 0; i < c.d; i++) row[i]! /= norm;
  }
  return z;
}

export function oursAunceRunner(variants?: readonly AunceBenchVariant[]) {
  return async (ctx: RunnerContext): Promise<Runner | Unavailable> => {
    const device = ctx.device;
    if (!device) return { impl: 'ours', unavailable: 'no WebGPU device was opened' };
    const list = variants ?? aunceBenchVariants(device);
    if (list.length === 0) return { impl: 'ours', unavailable: 'no AUNCE variant of the requested kind (bench/runners/ours_aunce.ts)' };
    const timer = new SpanTimer(device, MAX_REPEATS);
    const picked = aunceVariant(device);
    if (list.some((v) => v.name === 'fused')) ctx.log(`ours/fused: aunceLoss() runs its ${picked} kernel variant on this device`);
    const measure = async (c: AunceCase) => {
      const z = Tensor.from(device, aunceFeatures(c), [2 * c.b, c.k, c.d], { requiresGrad: true });
      const labels = aunceLabels(c);
      const rows: Row[] = [];
      try {
        for (const v of list) {
          const why = v.unsupported?.(device);
          if (why) {
            ctx.log(`${v.impl}/${v.name}: ${c.name}: skipped (${why})`);
            continue;
          }
          const clearGrad = () => {
            z.grad?.dispose();
            z.grad = null;
          };
          const once = () => {
            tidy(() => v.loss(z, labels, c).backward());
            clearGrad();
          };
          // untimed: compiles, and measures what the forward leaves for the backward
          const t0 = performance.now();
          let keptBytes = 0;
          tidy(() => {
            const before = device.pool.snapshot.inUseBytes;
            const loss = v.loss(z, labels, c);
            keptBytes = device.pool.snapshot.inUseBytes - before;
            loss.backward();
          });
          clearGrad();
          await device.sync();
          const estimate = await timer.spans(once, 1, performance.now() - t0);
          const samples = await timer.spans(once, Math.min(MAX_REPEATS, plannedRepeats(estimate[0]!, ctx.timing)), estimate[0]!);
          rows.push({ ...makeRow(c, v.impl, v.name, samples, timer.clock, device.name), keptBytes });
        }
      } finally {
        z.grad?.dispose();
        z.dispose();
      }
      return rows;
    };
    return {
      impl: 'ours',
      device: device.name,
      runAll: (cases, emit) => eachCase('ours', 'aunce', cases, ctx, measure, emit),
      close: () => timer.destroy(),
    };
  };
}
