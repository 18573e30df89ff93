/**
 * Per-dispatch GPU timing: while a Profiler is attached to a Device (Device.profile()), every
 * dispatch outside a GpuTimer region runs in a compute pass of its own whose start and end write
 * timestamps; collect() resolves them into milliseconds per kernel. Separate passes cost a little
 * time themselves, so profile a few steps, not a whole run. Needs `timestamp-query`.
 */
import { USAGE } from './buffer_pool.js';
import type { Device } from './device.js';

export interface KernelTime {
  /** `file:entry{overrides}` */
  kernel: string;
  ms: number;
  dispatches: number;
}

/** timestamp pairs per query set (WebGPU allows at most 4096 queries in one set) */
const PAIRS_PER_SET = 2048;

export class Profiler {
  private readonly querySets: GPUQuerySet[] = [];
  private readonly resolveBuf: GPUBuffer;
  private labels: string[] = [];
  /** dispatches left untimed because the query set was full */
  dropped = 0;

  constructor(
    private readonly device: Device,
    readonly capacity = 4096,
  ) {
    if (!device.has('timestamp-query')) throw new Error(`Profiler: the adapter ${device.name} has no timestamp-query`);
    for (let i = 0; i < capacity; i += PAIRS_PER_SET) {
      this.querySets.push(device.gpuDevice.createQuerySet({ type: 'timestamp', count: 2 * Math.min(PAIRS_PER_SET, capacity - i), label: `profiler ${i / PAIRS_PER_SET}` }));
    }
    this.resolveBuf = device.gpuDevice.createBuffer({ size: 16 * capacity, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC, label: 'profiler resolve' });
  }

  /** The timestamp writes for the next dispatch, or undefined when the set is full. */
  slot(kernel: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.capacity) {
      this.dropped++;
      return undefined;
    }
    const i = this.labels.length % PAIRS_PER_SET;
    const querySet = this.querySets[Math.floor(this.labels.length / PAIRS_PER_SET)]!;
    this.labels.push(kernel);
    return { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** GPU time per kernel since the last collect(), largest first. */
  async collect(): Promise<KernelTime[]> {
    const n = this.labels.length;
    if (n === 0) return [];
    for (let at = 0; at < n; at += PAIRS_PER_SET) {
      const count = Math.min(PAIRS_PER_SET, n - at);
      this.device.commandEncoder().resolveQuerySet(this.querySets[at / PAIRS_PER_SET]!, 0, 2 * count, this.resolveBuf, 16 * at);
    }
    const ticks = new BigInt64Array(await this.device.readBuffer(this.resolveBuf, 0, 16 * n));
    const by = new Map<string, KernelTime>();
    this.labels.forEach((kernel, i) => {
      const t = by.get(kernel) ?? { kernel, ms: 0, dispatches: 0 };
      t.ms += Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1e6;
      t.dispatches++;
      by.set(kernel, t);
    });
    this.labels = [];
    return [...by.values()].sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    for (const q of this.querySets) q.destroy();
    this.resolveBuf.destroy();
  }
}
