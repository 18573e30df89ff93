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
  /** with interleaved rounds (`--rounds`), before merging: which round measured this row (from 0) */
  round?: number;
  /** with interleaved rounds, after merging: how many rounds measured this variant */
  rounds?: number;
  /** with interleaved rounds, after merging: each round's median, in round order */
  roundMedianMs?: number[];
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
 * One row per (case, impl, variant) from rows measured in interleaved rounds: the median is the
 * median of the rounds' medians (so that one slow round moves it little), the minimum the smallest
 * sample of any round, the repeats their sum; GFLOP/s, GB/s and images/s follow the new median;
 * memory figures are the largest seen. Rows without `round` pass through unchanged, in order.
 */
export function mergeRounds(rows: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  const out: (Row | string)[] = [];
  for (const r of rows) {
    if (r.round === undefined) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.op, r.case, r.impl, r.variant]);
    const g = groups.get(key);
    if (g) g.push(r);
    else {
      groups.set(key, [r]);
      out.push(key);
    }
  }
  return out.map((x) => {
    if (typeof x !== 'string') return x;
    const g = groups.get(x)!.slice().sort((a, b) => a.round! - b.round!);
    const first = g[0]!;
    const ms = median(g.map((r) => r.medianMs));
    const scale = first.medianMs / ms;
    const maxOf = (f: (r: Row) => number | undefined) => {
      const v = g.map(f).filter((n): n is number => n !== undefined);
      return v.length ? Math.max(...v) : undefined;
    };
    const { round: _round, ...rest } = first;
    const merged: Row = {
      ...rest,
      medianMs: ms,
      minMs: Math.min(...g.map((r) => r.minMs)),
      repeats: g.reduce((n, r) => n + r.repeats, 0),
      gflops: first.gflops * scale,
      gbps: first.gbps * scale,
      rounds: g.length,
      roundMedianMs: g.map((r) => r.medianMs),
    };
    if (first.imagesPerS !== undefined) merged.imagesPerS = first.imagesPerS * scale;
    const kept = maxOf((r) => r.keptBytes);
    if (kept !== undefined) merged.keptBytes = kept;
    const peak = maxOf((r) => r.peakBytes);
    if (peak !== undefined) merged.peakBytes = peak;
    return merged;
  });
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
