/**
 * `aunce doctor`: what WebGPU adapter this machine has, its limits and features, and measured
 * overheads (dispatch round trip, batched dispatch cost, read-back, timestamps), plus a short
 * throughput check of two kernels. Exits 2 with a remedy when there is no adapter.
 */
import { Command } from 'commander';
import { matmul } from '../ops/matmul.js';
import { aunceVariant } from '../ops/aunce.js';
import { layerNormVariant } from '../ops/layer_norm.js';
import { chooseMatmulVariant } from '../ops/matmul_variants.js';
import { windowAttentionKernels, windowAttentionUnsupported } from '../ops/window_attention.js';
import { binary } from '../ops/binary.js';
import { full } from '../ops/unary.js';
import type { Device } from '../runtime/device.js';
import { NoAdapterError } from '../runtime/errors.js';
import { openDevice } from '../runtime/node_gpu.js';
import { GpuTimer } from '../runtime/timer.js';
import { Tensor } from '../tensor/tensor.js';

const SHOWN_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'minUniformBufferOffsetAlignment',
];

export interface DoctorReport {
  adapter: Device['adapter'] & { name: string };
  features: string[];
  limits: Record<string, number>;
  /** whether buffer accesses are bounds-checked (AUNCE_ROBUSTNESS) */
  robustness: boolean;
  openMs: number;
  kernelFiles: number;
  /** one dispatch + submit + wait, median over repeats */
  dispatchRoundTripUs: number;
  /** cost per dispatch when many share one submit */
  batchedDispatchUs: number;
  /** 4 MiB read-back, median */
  readback4MiBMs: number;
  timestamps: { works: boolean; kernelGpuMs: number | null; note: string };
  throughput: { name: string; clock: 'gpu' | 'wall'; medianMs: number; rate: string }[];
  /** the kernels the ops will use on this device, each with why (see kernelChoices) */
  kernels: Record<string, string>;
}

/**
 * The kernel families the main ops choose on a device: the fused window attention (subgroup or
 * workgroup kernels, or the unfused ops and why), the fused AUNCE loss, layer norm, and the matmul
 * variant of a square product and of a Swin-T Linear. What runs on a GPU differs from lavapipe, and
 * this is where a user sees it.
 */
export function kernelChoices(device: Device): Record<string, string> {
  const mm = (m: number, k: number, n: number) => chooseMatmulVariant(device, { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: m * k, bBatchStride: k * n }).name;
  const why = windowAttentionUnsupported(device);
  const aunce = aunceVariant(device);
  return {
    'window attention (T 49, dh 32)': why ? `unfused ops (${why})` : `fused, ${windowAttentionKernels(device, 49, 32)} kernels`,
    'AUNCE loss': aunce === 'broadcast' || aunce === 'shuffle' ? `fused, ${aunce} variant` : `unfused ops (${aunce})`,
    'layer norm': `${layerNormVariant(device)} kernels`,
    'matmul 1024x1024x1024': mm(1024, 1024, 1024),
    'matmul [25088x96]x[96x288] (a Swin-T Linear)': mm(25088, 96, 288),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function timeWall(repeats: number, fn: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function runDoctor(log: (line: string) => void): Promise<DoctorReport> {
  const t0 = performance.now();
  const device = await openDevice();
  const openMs = performance.now() - t0;
  try {
    log(`adapter:    ${device.name}`);
    log(`features:   ${[...device.features].sort().join(', ')}`);
    log(`robustness: ${device.robustness ? 'on (every buffer access is bounds-checked)' : 'off (set AUNCE_ROBUSTNESS=on to bounds-check every buffer access)'}`);
    const limits: Record<string, number> = {};
    for (const k of SHOWN_LIMITS) if (k in device.limits) limits[k] = device.limits[k]!;
    log(`limits:     ${Object.entries(limits).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    log(`opened in ${openMs.toFixed(0)} ms, ${device.kernels.files().length} kernel files compiled`);
    const kernels = kernelChoices(device);
    for (const [op, choice] of Object.entries(kernels)) log(`kernels:    ${op}: ${choice}`);

    const one = Tensor.empty(device, [1]);
    const fillOne = () => full(device, [1], 1).dispose();
    // warm up the pipeline and the pool
    fillOne();
    await device.sync();
    const rt = await timeWall(50, async () => {
      fillOne();
      await device.sync();
    });
    const dispatchRoundTripUs = median(rt) * 1000;
    log(`dispatch round trip (1 dispatch, submit, wait): median ${dispatchRoundTripUs.toFixed(0)} us over 50`);

    const batch = 500;
    const bt = await timeWall(5, async () => {
      for (let i = 0; i < batch; i++) fillOne();
      await device.sync();
    });
    const batchedDispatchUs = (median(bt) * 1000) / batch;
    log(`batched dispatches (${batch} in one submit): ${batchedDispatchUs.toFixed(1)} us each`);

    const big = Tensor.empty(device, [1024 * 1024]);
    await big.toArray();
    const rb = await timeWall(10, async () => {
      await big.toArray();
    });
    const readback4MiBMs = median(rb);
    log(`read-back of 4 MiB: median ${readback4MiBMs.toFixed(2)} ms`);

    const timer = new GpuTimer(device);
    const n = 1 << 22;
    const a = full(device, [n], 1);
    const b = full(device, [n], 2);
    const addOnce = () => binary('add', a, b).dispose();
    let timestamps: DoctorReport['timestamps'];
    if (timer.clock === 'gpu') {
      const ms = await timer.time(addOnce, 5);
      const works = ms.every((x) => Number.isFinite(x) && x > 0);
      timestamps = { works, kernelGpuMs: median(ms), note: works ? 'timestamp queries return plausible GPU times' : `timestamp queries returned ${ms.join(', ')}` };
    } else {
      timestamps = { works: false, kernelGpuMs: null, note: 'the adapter has no timestamp-query feature: benchmarks use wall time' };
    }
    log(`timestamps: ${timestamps.works ? 'work' : 'do not work'} (${timestamps.note})`);

    const throughput: DoctorReport['throughput'] = [];
    const addMs = median(await timer.time(addOnce, 7));
    throughput.push({ name: `add [${n}] + [${n}]`, clock: timer.clock, medianMs: addMs, rate: `${((3 * 4 * n) / addMs / 1e6).toFixed(1)} GB/s` });
    const m = 512;
    const x = full(device, [m, m], 0.5);
    const y = full(device, [m, m], 0.25);
    const mmOnce = () => matmul(x, y).dispose();
    const chosen = chooseMatmulVariant(device, { batch: 1, m, n: m, k: m, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }).name;
    mmOnce();
    const mmMs = median(await timer.time(mmOnce, 5));
    throughput.push({ name: `matmul ${m}x${m}x${m} (variant ${chosen})`, clock: timer.clock, medianMs: mmMs, rate: `${((2 * m * m * m) / mmMs / 1e6).toFixed(1)} GFLOP/s` });
    for (const t of throughput) log(`throughput: ${t.name}: ${t.medianMs.toFixed(3)} ms (${t.clock} clock) = ${t.rate}`);
    timer.destroy();
    for (const t of [one, big, a, b, x, y]) t.dispose();
    await device.sync();
    return {
      adapter: { ...device.adapter, name: device.name },
      features: [...device.features].sort(),
      limits,
      robustness: device.robustness,
      openMs,
      kernelFiles: device.kernels.files().length,
      dispatchRoundTripUs,
      batchedDispatchUs,
      readback4MiBMs,
      timestamps,
      throughput,
      kernels,
    };
  } finally {
    device.destroy();
  }
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('name the WebGPU adapter, its limits and features, and measure dispatch overheads')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      try {
        const report = await runDoctor(opts.json ? () => {} : (l) => console.log(l));
        if (opts.json) console.log(JSON.stringify(report, null, 2));
      } catch (err) {
        if (err instanceof NoAdapterError) {
          console.error(`aunce doctor: ${err.message}`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
    });
}
