/** What the runners share: the row format, the runner interface and the context a run gets. */
import type { Device } from '../src/runtime/device.js';
import type { Clock } from '../src/runtime/timer.js';
import { shapeKey, type BenchCase, type CaseOf, type Op } from './cases.js';
import { median, type TimingOptions } from './timing.js';

export const IMPLS = ['ours', 'naive', 'tfjs-webgpu', 'tfjs-wasm', 'onnxruntime', 'torch'] as const;
export type Impl = (typeof IMPLS)[number];

export interface Row {
  op: string;
  /** the case name from bench/cases.ts */
  case: string;
  /** 'MxKxN' or 'BxMxKxN' (plus ' NT' / ' TN' for transposed operands); aunce: '2BxKxD'; attention: 'BwxHxTxD'; encoder: 'Bx3xHxW' */
  shape: string;
  impl: Impl;
  variant: string;
  medianMs: number;
  minMs: number;
  repeats: number;
  gflops: number;
  gbps: number;
  /** 'gpu': timestamp queries (kernel time only); 'wall': wall clock around the call */
  clock: Clock;
  device: string;
  /** percent of the roofline limit of this case on the device under test (null without one) */
  roofPct: number | null;
  /**
   * aunce rows of this project: device bytes the forward leaves allocated for the backward (the
   * buffer pool's in-use bytes after the forward minus before it: saved tensors, the graph's
   * intermediates and constants, the outputs)
   */
  keptBytes?: number;
  /** encoder rows: images per second (batch / median time) */
  imagesPerS?: number;
  /** encoder rows: most device bytes in use during one step (buffer pool peak, weights included) */
  peakBytes?: number;
}

export interface RunnerContext {
  /** the project's device (GPU runners) */
  device: Device | null;
  /** the platform GPU object that device came from (shared with TF.js WebGPU) */
  gpu: GPU | null;
  timing: TimingOptions;
  /** progress and notes (stderr) */
  log: (line: string) => void;
}

export interface Runner {
  impl: Impl;
  /** what it runs on, for the header */
  device: string;
  /** measures each case, calling `emit` per row; failures of one case are logged, not thrown */
  runAll(cases: readonly BenchCase[], emit: (row: Row) => void): Promise<void>;
  close(): Promise<void> | void;
}

/** A runner that could not start, with one line saying why and how to fix it. */
export interface Unavailable {
  impl: Impl;
  unavailable: string;
}

export type RunnerFactory = (ctx: RunnerContext) => Promise<Runner | Unavailable>;

export function isUnavailable(r: Runner | Unavailable): r is Unavailable {
  return 'unavailable' in r;
}

export function makeRow(c: BenchCase, impl: Impl, variant: string, samples: readonly number[], clock: Clock, device: string): Row {
  const ms = median(samples);
  return {
    op: c.op,
    case: c.name,
    shape: shapeKey(c),
    impl,
    variant,
    medianMs: ms,
    minMs: Math.min(...samples),
    repeats: samples.length,
    gflops: c.flops / ms / 1e6,
    gbps: c.bytes / ms / 1e6,
    clock,
    device,
    roofPct: null,
  };
}

/**
 * runAll for runners that measure one case at a time, of one op: cases of other ops are skipped
 * with a line in the log (the harness hands a runner only the ops it declares; this guards direct use).
 */
export async function eachCase<O extends Op>(
  impl: Impl,
  op: O,
  cases: readonly BenchCase[],
  ctx: RunnerContext,
  measure: (c: CaseOf<O>) => Promise<Row[]>,
  emit: (row: Row) => void,
): Promise<void> {
  for (const c of cases) {
    if (c.op !== op) {
      ctx.log(`${impl}: ${c.name}: skipped (this runner measures ${op} cases only)`);
      continue;
    }
    try {
      for (const row of await measure(c as CaseOf<O>)) emit(row);
    } catch (err) {
      ctx.log(`${impl}: ${c.name}: failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}
