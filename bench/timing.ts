/**
 * Timing shared by the runners: warm-up, a repetition count that fits a time budget, medians.
 * GPU runners pass their own timer (timestamp queries); CPU runners time wall clock here.
 */

export interface TimingOptions {
  /** most timed repetitions per case */
  repeats: number;
  /** stop adding repetitions past this many milliseconds per case (at least MIN_REPEATS run) */
  budgetMs: number;
}

export const MIN_REPEATS = 3;

export const DEFAULT_TIMING: TimingOptions = { repeats: 10, budgetMs: 3000 };

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : 0.5 * (s[h - 1]! + s[h]!);
}

/** How many repetitions fit the budget given one run's estimated time. */
export function plannedRepeats(estimateMs: number, opts: TimingOptions): number {
  const fit = estimateMs > 0 ? Math.floor(opts.budgetMs / estimateMs) : opts.repeats;
  return Math.max(Math.min(MIN_REPEATS, opts.repeats), Math.min(opts.repeats, fit));
}

/**
 * Wall-clock samples of `run`: one warm-up (compilation, first-touch allocation), one run that
 * estimates the cost, then the planned repetitions. `run` must finish its work before it resolves.
 */
export async function timeWall(run: () => unknown, opts: TimingOptions): Promise<number[]> {
  await run();
  let t0 = performance.now();
  await run();
  const n = plannedRepeats(performance.now() - t0, opts);
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    t0 = performance.now();
    await run();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Fills a Float32Array with reproducible values in [-1, 1) (xorshift; fast for tens of millions). */
export function randomF32(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) / 2147483648 - 1;
  }
  return out;
}
