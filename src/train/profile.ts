/**
 * Where a training step's time goes: one step is run with per-dispatch GPU timestamps
 * (Device.profile) and its kernels are grouped into matmul, attention, loss, optimizer, data
 * (augmentation), normalisation, layout copies, elementwise ops, reductions and other ops, as shares of that profiled GPU time (each dispatch
 * in its own pass, which adds per-pass overhead). A second step runs with ordinary batching and
 * only its passes timed: the GPU-busy fraction is that busy time over the step's wall time.
 */
import type { KernelTime } from '../runtime/profiler.js';
import type { Device } from '../runtime/device.js';

export const CATEGORIES: readonly [string, RegExp][] = [
  ['matmul', /^(matmul\w*|linear)\.wgsl/],
  ['attention', /^window_attention\w*\.wgsl/],
  ['loss', /^(aunce|wce)\.wgsl/],
  ['optimizer', /^adamw\.wgsl/],
  ['data', /^(augment|warp)\.wgsl/],
  ['normalisation', /^(layer_norm\w*|batch_norm|l2_normalize)\.wgsl/],
  ['layout (permute, slices, gathers)', /^(permute|gather)\.wgsl/],
  ['elementwise', /^(binary|unary)\.wgsl/],
  ['reductions and softmax', /^(reduce\w*|softmax\w*)\.wgsl/],
];

export interface StepProfile {
  /** GPU ms per category (plus 'other') */
  byCategory: Record<string, number>;
  /** sum of the per-dispatch GPU times (the profiled step) */
  gpuMs: number;
  /** GPU time of the passes of a step with ordinary batching */
  busyMs: number;
  /** wall time of that step (recorded and awaited) */
  wallMs: number;
  gpuBusy: number;
  dispatches: number;
  /** most bytes held by pooled buffers during the unprofiled step (tensors, saved activations) */
  peakBytes: number;
  kernels: KernelTime[];
}

export function categoryOf(kernelKey: string): string {
  for (const [name, re] of CATEGORIES) if (re.test(kernelKey)) return name;
  return 'other';
}

/** Profiles `step` (which records one whole training step) once, then times it once more. */
export async function profileStep(device: Device, step: () => void): Promise<StepProfile> {
  await device.sync();
  const kernels = await device.profile(() => {
    step();
  });
  await device.sync();
  device.pool.resetPeak();
  let wallMs = 0;
  const passes = await device.profile(
    async () => {
      const t0 = performance.now();
      step();
      await device.sync();
      wallMs = performance.now() - t0;
    },
    4096,
    'pass',
  );
  const busyMs = passes.reduce((s, p) => s + p.ms, 0);
  const peakBytes = device.pool.snapshot.peakInUseBytes;
  const byCategory: Record<string, number> = Object.fromEntries([...CATEGORIES.map(([n]) => n), 'other'].map((n) => [n, 0]));
  let gpuMs = 0;
  let dispatches = 0;
  for (const k of kernels) {
    byCategory[categoryOf(k.kernel)]! += k.ms;
    gpuMs += k.ms;
    dispatches += k.dispatches;
  }
  return { byCategory, gpuMs, busyMs, wallMs, gpuBusy: busyMs / wallMs, dispatches, peakBytes, kernels };
}

export function formatProfile(p: StepProfile, imagesPerStep: number, topKernels = 8): string {
  const rows = Object.entries(p.byCategory)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `| ${name} | ${ms.toFixed(1)} | ${((100 * ms) / p.gpuMs).toFixed(1)}% |`);
  return [
    `one step: ${p.wallMs.toFixed(0)} ms wall (${((1000 * imagesPerStep) / p.wallMs).toFixed(1)} images/s), GPU busy ${p.busyMs.toFixed(0)} ms = ${(100 * p.gpuBusy).toFixed(0)}% of the step; ${p.dispatches} dispatches; peak GPU memory in pooled buffers ${(p.peakBytes / 2 ** 20).toFixed(0)} MiB`,
    `shares of the kernels' GPU time (each dispatch timed in its own pass: ${p.gpuMs.toFixed(0)} ms in all, per-pass overhead included):`,
    '',
    '| part | GPU ms | share |',
    '|---|---|---|',
    ...rows,
    '',
    'the kernels that took most of it:',
    '',
    '| kernel | dispatches | GPU ms | share |',
    '|---|---|---|---|',
    ...[...p.kernels]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topKernels)
      .map((k) => `| ${k.kernel} | ${k.dispatches} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / p.gpuMs).toFixed(1)}% |`),
  ].join('\n');
}
