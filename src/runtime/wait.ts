/**
 * Waiting for the GPU without spinning the CPU. While a Dawn promise (onSubmittedWorkDone,
 * mapAsync) is pending, the Node bindings poll on setImmediate and burn most of a core, which on a
 * software adapter competes with the threads doing the GPU work. So we first sleep for about as
 * long as the work is expected to take, and only then await the promise.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Learns how long the GPU takes to drain what was submitted since the last wait. */
export class WaitEstimator {
  private estimateMs = 0;

  constructor(
    /** fraction of the estimate to sleep before awaiting (under 1: the await catches the rest) */
    private readonly fraction = 0.8,
    /** below this the sleep is not worth a timer */
    private readonly minSleepMs = 0.25,
  ) {}

  /** Sleeps, then awaits `done()`; `hintMs` overrides the learned estimate. */
  async wait<T>(done: () => Promise<T>, hintMs?: number): Promise<T> {
    const start = performance.now();
    const expect = hintMs ?? this.estimateMs;
    const nap = expect * this.fraction;
    if (nap >= this.minSleepMs) await sleep(nap);
    const value = await done();
    const took = performance.now() - start;
    if (hintMs === undefined) this.estimateMs = this.estimateMs === 0 ? took : 0.5 * this.estimateMs + 0.5 * took;
    return value;
  }

  get lastEstimateMs(): number {
    return this.estimateMs;
  }
}
