/**
 * GPU timer built on timestamp queries: each measured region is recorded as its own compute pass
 * whose start and end write timestamps; read() resolves them and returns milliseconds per label.
 * Where the device has no `timestamp-query`, read() returns wall time around submit and completion
 * instead, and says so (`clock: 'wall'`).
 */
import { USAGE } from './buffer_pool.js';
import type { Device } from './device.js';

export type Clock = 'gpu' | 'wall';

export interface TimedRegion {
  label: string;
  ms: number;
}

export class GpuTimer {
  readonly clock: Clock;
  private readonly querySet: GPUQuerySet | null = null;
  private readonly resolveBuf: GPUBuffer | null = null;
  private labels: string[] = [];

  constructor(
    private readonly device: Device,
    private readonly capacity = 256,
  ) {
    this.clock = device.has('timestamp-query') ? 'gpu' : 'wall';
    if (this.clock === 'gpu') {
      const d = device.gpuDevice;
      this.querySet = d.createQuerySet({ type: 'timestamp', count: 2 * capacity, label: 'gpu timer' });
      this.resolveBuf = d.createBuffer({ size: 16 * capacity, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC, label: 'gpu timer resolve' });
    }
  }

  /**
   * Records what `record` dispatches as one timed region. With the wall clock, the region is
   * flushed and awaited around, so call `measureWall` instead when the clock is 'wall'.
   */
  measure<T>(label: string, record: () => T): T {
    if (!this.querySet) throw new Error('GpuTimer.measure needs timestamp-query; use time() which falls back to wall time');
    if (this.labels.length >= this.capacity) throw new RangeError(`GpuTimer holds at most ${this.capacity} regions; call read() first`);
    const i = this.labels.length;
    this.labels.push(label);
    return this.device.timedPass({ querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 }, record);
  }

  /** Resolves the regions recorded since the last read, in order. */
  async read(): Promise<TimedRegion[]> {
    const n = this.labels.length;
    if (n === 0 || !this.querySet || !this.resolveBuf) return [];
    this.device.commandEncoder().resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0);
    const bytes = await this.device.readBuffer(this.resolveBuf, 0, 16 * n);
    const ticks = new BigInt64Array(bytes);
    const out = this.labels.map((label, i) => ({ label, ms: Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1e6 }));
    this.labels = [];
    return out;
  }

  /**
   * Times `record` `repeats` times and returns each duration in ms: GPU time from timestamps where
   * the device has them, else wall time from the flush to completion of each repetition.
   */
  async time(record: () => void, repeats: number): Promise<number[]> {
    if (this.clock === 'gpu') {
      for (let r = 0; r < repeats; r++) this.measure(`rep ${r}`, record);
      return (await this.read()).map((x) => x.ms);
    }
    const out: number[] = [];
    await this.device.sync();
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      record();
      await this.device.sync();
      out.push(performance.now() - t0);
    }
    return out;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuf?.destroy();
  }
}
