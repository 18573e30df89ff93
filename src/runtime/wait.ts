/**
 * Waiting for the GPU without spinning the CPU. While a Dawn promise (onSubmittedWorkDone,
 * mapAsync) is pending, the Node bindings poll on setImmediate and burn most of a core, which on a
 * software adapter competes with the threads doing the GPU work. So we first sleep for most of the
 * time the work is expected to take, and only then await the promise.
 *
 * The expectation is learned per kind of wait (the caller's key: e.g. how many dispatches were
 * submitted), so that a training step learns its own duration and a one-off read-back after a big
 * job does not inherit it. When the promise resolves at once after the sleep we overslept, and the
 * estimate is halved; when work was still running, it becomes the measured time.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class WaitEstimator {
  private readonly estimates = new Map<string, number>();
  private last = 0;

  constructor(
    /** fraction of the estimate to sleep before awaiting (under 1: the await catches the rest) */
    private readonly fraction = 0.8,
    /** below this the sleep is not worth a timer */
    private readonly minSleepMs = 0.25,
    /** an await shorter than this after the sleep means the work had already finished */
    private readonly doneThresholdMs = 0.3,
  ) {}

  /** Sleeps, then awaits `done()`; `hintMs` overrides the learned estimate for this wait. */
  async wait<T>(done: () => Promise<T>, hintMs?: number, key = ''): Promise<T> {
    const expect = hintMs ?? this.estimates.get(key) ?? 0;
    const nap = expect * this.fraction;
    const start = performance.now();
    if (nap >= this.minSleepMs) await sleep(nap);
    const slept = performance.now() - start;
    const value = await done();
    const took = performance.now() - start;
    if (hintMs === undefined) {
      const afterSleep = took - slept;
      const next = slept > 0 && afterSleep < this.doneThresholdMs ? expect * 0.5 : took;
      this.estimates.set(key, next);
      this.last = next;
    }
    return value;
  }

  /** The estimate most recently learned (ms). */
  get lastEstimateMs(): number {
    return this.last;
  }
}
