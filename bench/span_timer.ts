/**
 * GPU time of a region that spans several compute passes and submits: a whole forward + backward
 * graph. GpuTimer gives every pass of its region the same pair of timestamps, so where the region
 * is cut (a buffer copy ends the pass, an upload flushes) the later passes overwrite the beginning
 * and only the last part is measured. Here (Device.timedSpan) the first pass writes the beginning
 * and every pass the end, so a span runs from the start of the first dispatch to the end of the
 * last. Uploads an op makes before its first dispatch stay outside; one made between dispatches
 * splits the work into two submits, and whatever the queue does between them is inside.
 *
 * spans() records every repetition before it waits, so the GPU is still busy with one while the
 * next is recorded. Without `timestamp-query`: wall time around each repetition and its completion.
 */
import { USAGE } from '../src/runtime/buffer_pool.js';
import type { Device } from '../src/runtime/device.js';
import type { Clock } from '../src/runtime/timer.js';

export class SpanTimer {
  readonly clock: Clock;
  private readonly querySet: GPUQuerySet | null = null;
  private readonly resolveBuf: GPUBuffer | null = null;
  private open = 0;

  constructor(
    private readonly device: Device,
    readonly capacity = 256,
  ) {
    this.clock = device.has('timestamp-query') ? 'gpu' : 'wall';
    if (this.clock === 'gpu') {
      const d = device.gpuDevice;
      this.querySet = d.createQuerySet({ type: 'timestamp', count: 2 * capacity, label: 'span timer' });
      this.resolveBuf = d.createBuffer({ size: 16 * capacity, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC, label: 'span timer resolve' });
    }
  }

  /** Records `record` between a beginning and an end timestamp (GPU clock only). */
  span(record: () => void): void {
    if (!this.querySet) throw new Error('SpanTimer.span needs timestamp-query; use spans(), which falls back to wall time');
    if (this.open >= this.capacity) throw new RangeError(`SpanTimer holds at most ${this.capacity} spans; call read() first`);
    const i = this.open++;
    this.device.timedSpan(this.querySet, 2 * i, 2 * i + 1, record);
  }

  /** Milliseconds of each span recorded since the last read, in order. */
  async read(): Promise<number[]> {
    const n = this.open;
    if (n === 0 || !this.querySet || !this.resolveBuf) return [];
    this.device.commandEncoder().resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0);
    const ticks = new BigInt64Array(await this.device.readBuffer(this.resolveBuf, 0, 16 * n));
    this.open = 0;
    return Array.from({ length: n }, (_, i) => Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1e6);
  }

  /**
   * `n` timed repetitions of `record`: all recorded, then one wait (sleeping through about
   * n * expectMs first, as a pending Dawn promise polls and takes a core from a CPU adapter).
   */
  async spans(record: () => void, n: number, expectMs: number): Promise<number[]> {
    if (this.clock === 'wall') {
      const out: number[] = [];
      await this.device.sync();
      for (let r = 0; r < n; r++) {
        const t0 = performance.now();
        record();
        await this.device.sync(expectMs);
        out.push(performance.now() - t0);
      }
      return out;
    }
    const count = Math.min(n, this.capacity);
    for (let r = 0; r < count; r++) this.span(record);
    await this.device.sync(count * expectMs);
    return this.read();
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuf?.destroy();
  }
}
