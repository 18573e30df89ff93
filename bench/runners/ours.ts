/**
 * This project's matmul, one row per variant. GPU time from the project's GpuTimer (timestamp
 * queries; wall time where the adapter has none): the operands are uploaded and the kernel warmed
 * up before timing, every repetition is its own timed pass in one submit, nothing but the
 * timestamps is read back. While the GPU works the harness sleeps for about the expected time
 * instead of awaiting at once: a pending Dawn promise polls on setImmediate and takes a core from
 * a CPU adapter (WEBGPU_ON_CPU.md); the TF.js WebGPU runner gets the same treatment. The variants
 * of a case take turns, in blocks of repetitions, so that they meet the host's drift alike.
 */
import { matmul, matmulRaw } from '../../src/ops/matmul.js';
import { matmulVariants, type MatmulVariant } from '../../src/ops/matmul_variants.js';
import '../../src/ops/index.js';
import type { Device } from '../../src/runtime/device.js';
import { GpuTimer } from '../../src/runtime/timer.js';
import { noGrad } from '../../src/tensor/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { operandShapes, problemOf, type MatmulCase } from '../cases.js';
import { plannedRepeats, randomF32 } from '../timing.js';
import { eachCase, makeRow, type Impl, type Runner, type RunnerContext, type Unavailable } from '../types.js';

export interface OursVariant {
  name: string;
  /** the row's impl: 'ours' (default) or 'naive' for the baseline kernel */
  impl?: Impl;
  /** op(a) @ op(b) with a and b in their stored layout (see operandShapes) */
  run(a: Tensor, b: Tensor, c: MatmulCase): Tensor;
  /** whether run() handles transA / transB (cases that need them are skipped otherwise) */
  transposes?: boolean;
  /** why the variant cannot run a case on this device, or null */
  unsupported?: (device: Device, c: MatmulCase) => string | null;
}

/** timed repetitions per case at most (one timestamp pair each) */
const MAX_REPEATS = 256;
/** blocks the repetitions of a case are split into, the variants taking turns (see measure) */
const INTERLEAVE = 4;

/** What matmul() runs: the variant chosen for the case's shape class on this device. */
export const AUTO: OursVariant = {
  name: 'auto',
  transposes: true,
  run: (a, b, c) => (c.transA || c.transB ? matmulRaw(a, b, { transA: c.transA, transB: c.transB }) : matmul(a, b)),
};

/** One registered kernel variant, called directly (the naive one reports as impl 'naive'). */
export function variantRunner(v: MatmulVariant): OursVariant {
  return {
    name: v.name,
    impl: v.name === 'naive' ? 'naive' : 'ours',
    transposes: true,
    run: (a, b, c) => {
      const p = problemOf(c);
      const out = Tensor.empty(a.device, [c.batch, c.m, c.n]);
      v.record(a.device, p, a.buffer, b.buffer, out.buffer);
      return out;
    },
    unsupported: (device, c) => v.unsupported(device, problemOf(c)),
  };
}

/** The variants measured by default: matmul() as users get it, then every registered kernel. */
export function oursVariants(): OursVariant[] {
  return [AUTO, ...matmulVariants().map(variantRunner)];
}

export function oursRunner(variants: readonly OursVariant[] = oursVariants()) {
  return async (ctx: RunnerContext): Promise<Runner | Unavailable> => {
    const device = ctx.device;
    if (!device) return { impl: 'ours', unavailable: 'no WebGPU device was opened' };
    if (variants.length === 0) return { impl: 'ours', unavailable: 'no variant of the requested kind is registered (bench/runners/ours.ts)' };
    const timer = new GpuTimer(device, MAX_REPEATS);
    /** n timed repetitions in one submit; sleeps through about n * expectMs before collecting them */
    const timed = async (once: () => void, n: number, expectMs: number): Promise<number[]> => {
      if (timer.clock === 'wall') return timer.time(once, n);
      for (let r = 0; r < n; r++) timer.measure(`rep ${r}`, once);
      await device.sync(n * expectMs);
      return (await timer.read()).map((x) => x.ms);
    };
    const measure = async (c: MatmulCase) => {
      const s = operandShapes(c);
      const a = Tensor.from(device, randomF32(c.batch * c.m * c.k, 1), s.a);
      const b = Tensor.from(device, randomF32(c.batch * c.k * c.n, 2), s.b);
      try {
        // warm-up and a cost estimate for every variant that can run the case
        const ready: { v: OursVariant; once: () => void; estimate: number; repeats: number; samples: number[] }[] = [];
        for (const v of variants) {
          if ((c.transA || c.transB) && !v.transposes) {
            ctx.log(`${v.impl ?? 'ours'}/${v.name}: ${c.name}: skipped (the variant has no transposed operands)`);
            continue;
          }
          const why = v.unsupported?.(device, c);
          if (why) {
            ctx.log(`${v.impl ?? 'ours'}/${v.name}: ${c.name}: skipped (${why})`);
            continue;
          }
          const once = () => noGrad(() => v.run(a, b, c).dispose());
          const t0 = performance.now();
          once();
          await device.sync();
          const estimate = (await timed(once, 1, performance.now() - t0))[0]!;
          ready.push({ v, once, estimate, repeats: Math.min(MAX_REPEATS, plannedRepeats(estimate, ctx.timing)), samples: [] });
        }
        // The repetitions in INTERLEAVE blocks, the variants taking turns (each block starting at
        // the next one), so that the host's drift during a case and the place in the order fall
        // on every variant alike. Measured one after the other, auto (always first) came out
        // slower than subgroup32 in all 10 Swin-T Linear cases of one run, though it runs the
        // same kernel there: the host's phases last seconds and change speed up to 2x.
        for (let block = 0; block < INTERLEAVE; block++) {
          for (let i = 0; i < ready.length; i++) {
            const r = ready[(block + i) % ready.length]!;
            const n = Math.ceil(((block + 1) * r.repeats) / INTERLEAVE) - Math.ceil((block * r.repeats) / INTERLEAVE);
            if (n > 0) r.samples.push(...(await timed(r.once, n, r.estimate)));
          }
        }
        return ready.map((r) => makeRow(c, r.v.impl ?? 'ours', r.v.name, r.samples, timer.clock, device.name));
      } finally {
        a.dispose();
        b.dispose();
      }
    };
    return {
      impl: 'ours',
      device: device.name,
      runAll: (cases, emit) => eachCase('ours', 'matmul', cases, ctx, measure, emit),
      close: () => timer.destroy(),
    };
  };
}
