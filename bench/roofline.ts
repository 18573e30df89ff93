/**
 * The roofline of the device under test, measured in the same run as the cases: the arithmetic
 * peak (bench/roofline.wgsl:fma_peak, independent multiply-add chains) and the memory bandwidth
 * (bench/roofline.wgsl:copy). Both are ceilings, so each is the best of five runs (other load on the
 * machine only ever lowers them), and the harness keeps the best of a probe before and one after
 * its runners. A case's limit is min(peak, intensity * bandwidth) with intensity =
 * FLOPs / compulsory bytes; each row reports the fraction of that limit it reaches.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Device } from '../src/runtime/device.js';
import type { Clock, GpuTimer } from '../src/runtime/timer.js';
import { grid1d } from '../src/ops/support.js';
import { median } from './timing.js';

export const ROOFLINE_FILE = 'roofline.wgsl';
const WG = 64;
/** invocations of the peak kernel: enough workgroups to keep every core of a CPU adapter busy */
const PEAK_INVOCATIONS = 256 * WG;
/** workgroups of the grid-stride copy */
const COPY_WORKGROUPS = 256;
/** FLOPs per invocation and loop iteration: 16 vec4 accumulators x 4 lanes x 2 (multiply, add) */
const FLOPS_PER_ITER = 128;

export interface Roofline {
  peakGflops: number;
  bandwidthGBs: number;
  clock: Clock;
  /** bytes of the copy probe (source and destination each) */
  copyBytes: number;
}

export interface RooflineOptions {
  /** smaller probes for a smoke test */
  quick?: boolean;
}

/** GFLOP/s a case of this intensity can reach at most. */
export function rooflineLimit(r: Roofline, flops: number, bytes: number): number {
  return Math.min(r.peakGflops, (flops / bytes) * r.bandwidthGBs);
}

/** The higher peak and the higher bandwidth of two measurements (either may be missing). */
export function bestRoofline(a: Roofline | null, b: Roofline): Roofline {
  if (!a) return b;
  return { ...b, peakGflops: Math.max(a.peakGflops, b.peakGflops), bandwidthGBs: Math.max(a.bandwidthGBs, b.bandwidthGBs) };
}

export async function measureRoofline(device: Device, timer: GpuTimer, opts: RooflineOptions = {}): Promise<Roofline> {
  if (!device.kernels.has(ROOFLINE_FILE)) {
    const here = dirname(fileURLToPath(import.meta.url));
    await device.kernels.addModule(ROOFLINE_FILE, readFileSync(join(here, ROOFLINE_FILE), 'utf8'));
  }
  const peakGflops = await measurePeak(device, timer, opts.quick ? 5 : 40);
  const copyBytes = (opts.quick ? 16 : 64) * 1024 * 1024;
  const bandwidthGBs = await measureBandwidth(device, timer, copyBytes);
  return { peakGflops, bandwidthGBs, clock: timer.clock, copyBytes };
}

async function measurePeak(device: Device, timer: GpuTimer, targetMs: number): Promise<number> {
  const k = device.kernels.get(ROOFLINE_FILE, 'fma_peak', { WG });
  const sink = device.pool.acquire(PEAK_INVOCATIONS * 4, 'roofline sink');
  const run = (iters: number) => () =>
    device.dispatch(k, {
      buffers: { sink },
      uniforms: { pk: { iters, mul: 0.999, add: 0.001, seed: 1e-3 } },
      workgroups: grid1d(device, PEAK_INVOCATIONS, WG),
    });
  try {
    // Calibrate the loop length to run for about targetMs, then take the best of five.
    let iters = 64;
    for (;;) {
      const ms = median(await timer.time(run(iters), 2));
      if (ms >= targetMs / 4 || iters >= 1 << 24) {
        iters = Math.max(iters, Math.round((iters * targetMs) / Math.max(ms, 1e-3)));
        break;
      }
      iters *= 8;
    }
    const ms = Math.min(...(await timer.time(run(iters), 5)));
    return (PEAK_INVOCATIONS * iters * FLOPS_PER_ITER) / ms / 1e6;
  } finally {
    device.pool.release(sink);
  }
}

async function measureBandwidth(device: Device, timer: GpuTimer, bytes: number): Promise<number> {
  const k = device.kernels.get(ROOFLINE_FILE, 'copy', { WG });
  const src = device.pool.acquire(bytes, 'roofline copy src');
  const dst = device.pool.acquire(bytes, 'roofline copy dst');
  const count = bytes / 16;
  const run = () => device.dispatch(k, { buffers: { src, dst }, uniforms: { cp: { count } }, workgroups: COPY_WORKGROUPS });
  try {
    await timer.time(run, 1);
    const ms = Math.min(...(await timer.time(run, 5)));
    return (2 * bytes) / ms / 1e6;
  } finally {
    device.pool.release(src);
    device.pool.release(dst);
  }
}
