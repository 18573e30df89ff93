/**
 * The kernel benchmark harness: selects cases from the shared list, opens the WebGPU device (or
 * uses the one given), measures the device's roofline, runs each requested runner over the cases,
 * and prints a header and one table per case. `aunce bench` (src/cli/bench.ts) is its command line.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Device } from '../src/runtime/device.js';
import { createNodeGpu, dawnFlags, diskKernelSource, robustnessFromEnv, type NodeGpuHandle } from '../src/runtime/node_gpu.js';
import { GpuTimer } from '../src/runtime/timer.js';
import { CASES, selectCases, type BenchCase, type Op } from './cases.js';
import { cpuName } from './optional.js';
import { bestRoofline, measureRoofline, type Roofline } from './roofline.js';
import { onnxruntimeRunner } from './runners/onnxruntime.js';
import { oursRunner, oursVariants, type OursVariant } from './runners/ours.js';
import { aunceBenchVariants, oursAunceRunner, type AunceBenchVariant } from './runners/ours_aunce.js';
import { FUSED_ATTENTION, oursAttentionRunner, UNFUSED_ATTENTION, type AttentionBenchVariant } from './runners/ours_attention.js';
import { oursEncoderRunner } from './runners/ours_encoder.js';
import { tfjsWasmRunner } from './runners/tfjs_wasm.js';
import { tfjsWebgpuRunner } from './runners/tfjs_webgpu.js';
import { torchRunner } from './runners/torch.js';
import { annotateRoofline, RATIO_LEGEND, resultTables, rooflineLine } from './table.js';
import { DEFAULT_TIMING, type TimingOptions } from './timing.js';
import { IMPLS, isUnavailable, mergeRounds, type Impl, type Row, type Runner, type RunnerContext, type RunnerFactory, type Unavailable } from './types.js';

/** A runner and the ops it measures: it gets only those cases, and the others are logged as skipped. */
export interface RunnerEntry {
  ops: readonly Op[];
  factory: RunnerFactory;
}

/**
 * The reference runners in the order they run, after this project's (whose 'naive' rows are
 * variants of the ours runners: the naive matmul kernel, the unfused AUNCE graph).
 */
export const RUNNERS: Partial<Record<Impl, RunnerEntry>> = {
  'tfjs-webgpu': { ops: ['matmul', 'attention'], factory: tfjsWebgpuRunner },
  'tfjs-wasm': { ops: ['matmul'], factory: tfjsWasmRunner },
  onnxruntime: { ops: ['matmul'], factory: onnxruntimeRunner },
  torch: { ops: ['matmul', 'aunce'], factory: torchRunner },
};

const GPU_IMPLS: readonly Impl[] = ['ours', 'naive', 'tfjs-webgpu'];
export const DEFAULT_IMPLS: readonly Impl[] = ['ours', 'naive', 'tfjs-webgpu', 'tfjs-wasm', 'onnxruntime', 'torch'];

interface OpenRunner {
  impl: Impl;
  ops: readonly Op[];
  runner: Runner;
  /** it threw: no more cases for it */
  failed: boolean;
}

export interface BenchOptions {
  op?: string;
  /** substring of case names */
  caseFilter?: string;
  impls?: readonly Impl[];
  quick?: boolean;
  timing?: Partial<TimingOptions>;
  /** our matmul variants (default: matmul() itself plus every registered kernel variant) */
  variants?: readonly OursVariant[];
  /** our AUNCE variants (default: the fused op, its other kernel variants, the unfused graph) */
  aunceVariants?: readonly AunceBenchVariant[];
  /** our windowed-attention variants (default: the fused op, the unfused composition) */
  attentionVariants?: readonly AttentionBenchVariant[];
  /** skip the roofline probes */
  noRoofline?: boolean;
  /**
   * how many times to measure the whole sequence (every case, every runner), interleaved; each
   * row's median is then the median of its rounds' medians (default 1)
   */
  rounds?: number;
  /** write the rows here as a JSON array */
  json?: string;
}

export interface BenchIo {
  /** an open device to use (else the harness opens one and destroys it at the end) */
  device?: Device;
  /** the GPU object `device` came from, for TF.js WebGPU (else it makes its own) */
  gpu?: GPU;
  /** the report (stdout by default) */
  out?: (line: string) => void;
  /** progress and notes (stderr by default) */
  log?: (line: string) => void;
}

export interface BenchResult {
  cases: BenchCase[];
  rows: Row[];
  roofline: Roofline | null;
  unavailable: Unavailable[];
  devices: Partial<Record<Impl, string>>;
}

/** Parses a comma list of runner names; throws naming the unknown ones and the known ones. */
export function parseImpls(list: string): Impl[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(IMPLS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`unknown runner(s) ${bad.join(', ')} (runners: ${IMPLS.join(', ')})`);
  return names as Impl[];
}

/**
 * Parses a comma list of our matmul variants ('auto' is matmul() as users get it; the others are
 * the registered kernels and the naive baseline); throws naming the unknown ones and the known ones.
 */
export function parseVariants(list: string): OursVariant[] {
  const all = oursVariants();
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !all.some((v) => v.name === n));
  if (bad.length) throw new Error(`unknown matmul variant(s) ${bad.join(', ')} (variants: ${all.map((v) => v.name).join(', ')})`);
  return all.filter((v) => names.includes(v.name));
}

/**
 * Opens a device on a fresh Dawn GPU object and compiles the project's kernels one file at a
 * time, so that a file that does not compile (work in progress elsewhere) costs only the ops that
 * use it, with a note, instead of the whole benchmark.
 */
async function openBenchDevice(log: (line: string) => void): Promise<{ device: Device; handle: NodeGpuHandle }> {
  const robustness = robustnessFromEnv();
  const handle = createNodeGpu(dawnFlags(robustness));
  const device = await Device.open({ gpu: handle.gpu, release: () => handle.release(), env: process.env, robustness });
  const source = diskKernelSource();
  for (const file of source.list()) {
    try {
      await device.kernels.addModule(file, source.read(file));
    } catch (err) {
      log(`bench: kernels/${file} was not loaded: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { device, handle };
}

const loadText = () => loadavg().map((x) => x.toFixed(2)).join(' ');

export async function runBench(opts: BenchOptions = {}, io: BenchIo = {}): Promise<BenchResult> {
  const out = io.out ?? ((l: string) => console.log(l));
  const log = io.log ?? ((l: string) => console.error(l));
  const cases = selectCases({ op: opts.op, name: opts.caseFilter, quick: opts.quick });
  if (cases.length === 0) {
    const ops = [...new Set(CASES.map((c) => c.op))].join(', ');
    throw new Error(`no case matches (op ${opts.op ?? 'any'}, name containing '${opts.caseFilter ?? ''}'${opts.quick ? ', quick' : ''}); ops: ${ops}`);
  }
  const impls = opts.impls ?? DEFAULT_IMPLS;
  const timing: TimingOptions = { ...DEFAULT_TIMING, ...opts.timing };
  const rounds = opts.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${String(opts.rounds)}`);
  const wantGpu = impls.some((i) => GPU_IMPLS.includes(i));
  let device = io.device ?? null;
  let owned: { device: Device; handle: NodeGpuHandle } | null = null;
  if (!device && wantGpu) {
    owned = await openBenchDevice(log);
    device = owned.device;
  }
  const gpu = io.gpu ?? owned?.handle.gpu ?? null;
  const rows: Row[] = [];
  const unavailable: Unavailable[] = [];
  const devices: Partial<Record<Impl, string>> = {};
  const load = loadText();
  let roofline: Roofline | null = null;
  try {
    const probe = async (when: string) => {
      if (!device || opts.noRoofline) return;
      log(`bench: measuring the roofline (${when})`);
      const timer = new GpuTimer(device);
      try {
        roofline = bestRoofline(roofline, await measureRoofline(device, timer, { quick: opts.quick }));
      } finally {
        timer.destroy();
      }
    };
    await probe('before the runners');
    const ctx: RunnerContext = { device, gpu, timing, log };
    const entries: [Impl, RunnerEntry][] = [];
    if (impls.includes('ours') || impls.includes('naive')) {
      const variants = (opts.variants ?? oursVariants()).filter((v: OursVariant) => impls.includes(v.impl ?? 'ours'));
      entries.push(['ours', { ops: ['matmul'], factory: oursRunner(variants) }]);
      const aunce = (opts.aunceVariants ?? aunceBenchVariants(device)).filter((v) => impls.includes(v.impl));
      entries.push(['ours', { ops: ['aunce'], factory: oursAunceRunner(aunce) }]);
      const attention = (opts.attentionVariants ?? [FUSED_ATTENTION, UNFUSED_ATTENTION]).filter((v) => impls.includes(v.impl));
      entries.push(['ours', { ops: ['attention'], factory: oursAttentionRunner(attention) }]);
      if (impls.includes('ours')) entries.push(['ours', { ops: ['encoder'], factory: oursEncoderRunner() }]);
      else if (cases.some((c) => c.op === 'encoder')) log("bench: the encoder cases run under impl 'ours' only");
    }
    for (const impl of Object.keys(RUNNERS) as Impl[]) if (impls.includes(impl)) entries.push([impl, RUNNERS[impl]!]);
    // Every runner is opened first. Then the cases are measured one at a time, each by every runner
    // back to back, so that the machine's drift in speed (large on a shared 2-core machine) falls
    // on all the rows of a case alike. With rounds > 1 the whole sequence repeats, each round
    // starting at the next runner, and mergeRounds() reduces the rounds to one row per variant.
    const open: OpenRunner[] = [];
    for (const [impl, { ops, factory }] of entries) {
      const mine = cases.filter((c) => ops.includes(c.op));
      const others = [...new Set(cases.filter((c) => !ops.includes(c.op)).map((c) => c.op))];
      if (others.length && impl !== 'ours') {
        log(`bench: ${impl}: skips ${cases.length - mine.length} ${others.join(' and ')} case(s): this runner measures ${ops.join(' and ')} only`);
        if (mine.length === 0) unavailable.push({ impl, unavailable: `it measures ${ops.join(' and ')} cases only` });
      }
      if (mine.length === 0) continue;
      log(`bench: ${impl}: ${mine.length} case(s)`);
      const runner = await factory(ctx);
      if (isUnavailable(runner)) {
        unavailable.push(runner);
        log(`bench: ${impl} skipped: ${runner.unavailable}`);
        continue;
      }
      open.push({ impl, ops, runner, failed: false });
    }
    const raw: Row[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        if (rounds > 1) log(`bench: round ${round + 1} of ${rounds}`);
        for (const c of cases) {
          const here = open.filter((o) => !o.failed && o.ops.includes(c.op));
          const start = here.length ? round % here.length : 0;
          for (const o of [...here.slice(start), ...here.slice(0, start)]) {
            try {
              await o.runner.runAll([c], (row) => {
                raw.push(rounds > 1 ? { ...row, round } : row);
                log(`  ${row.impl}/${row.variant}  ${row.case}: ${row.medianMs.toFixed(3)} ms, ${row.gflops.toFixed(1)} GFLOP/s (${row.clock}, ${row.repeats} reps)`);
              });
            } catch (err) {
              o.failed = true;
              unavailable.push({ impl: o.impl, unavailable: `failed: ${(err as Error).message}` });
              log(`bench: ${o.impl} failed: ${(err as Error).message}`);
            }
          }
        }
      }
    } finally {
      for (const o of open) {
        if (!o.failed) devices[o.impl] = o.runner.device;
        await o.runner.close();
      }
    }
    rows.push(...mergeRounds(raw));
    // Again at the end: other load on the machine only lowers a ceiling, so the better one counts.
    if (!opts.quick) await probe('after the runners');
  } finally {
    if (owned) owned.device.destroy();
  }
  annotateRoofline(rows, cases, roofline);
  const header = [
    `aunce bench: op ${opts.op ?? 'all'}, ${cases.length} case(s), runners ${impls.join(', ')}, up to ${timing.repeats} repetitions per case after warm-up (medians)` +
      (rounds > 1 ? `, ${rounds} interleaved rounds (median of the rounds' medians)` : ''),
    `WebGPU device: ${device ? `${device.name}; Dawn robustness ${device.robustness ? 'on' : 'off'} (AUNCE_ROBUSTNESS), for every WebGPU runner` : 'none'}`,
    `CPU: ${cpuName()}; load average ${load} at the start, ${loadText()} at the end (other work on the machine makes every number noisy)`,
    ...Object.entries(devices).map(([impl, d]) => `  ${impl}: ${d}`),
    ...unavailable.map((u) => `  ${u.impl}: not run: ${u.unavailable}`),
  ];
  if (roofline) header.push(rooflineLine(roofline, device?.name ?? 'none'));
  out([...header, RATIO_LEGEND, '', resultTables(cases, rows, roofline)].join('\n'));
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify(rows, null, 1)}\n`);
    log(`bench: wrote ${rows.length} rows to ${opts.json}`);
  }
  return { cases, rows, roofline, unavailable, devices };
}
