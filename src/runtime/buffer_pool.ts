/**
 * A pool of storage buffers grouped in size classes (steps of 2^(1/4) above 4 KiB, 256 B below),
 * so that tensors freed during a training step are reused by the next one instead of being
 * reallocated. Buffers are reused in queue order, which WebGPU keeps: a buffer released while
 * recorded work still reads it is only overwritten by work recorded after that.
 */

/** Buffer usage bits from the WebGPU spec (the GPUBufferUsage global need not exist yet at import). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80, QUERY_RESOLVE: 0x200 } as const;
export const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

export function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 16);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const step = Math.pow(2, Math.floor(Math.log2(b)) - 2); // quarter of the power of two below
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  /** bytes held by buffers handed out now */
  inUseBytes: number;
  /** most bytes handed out at once since the last resetPeak() */
  peakInUseBytes: number;
  /** bytes kept for reuse */
  pooledBytes: number;
  /** buffers created / reused since creation */
  created: number;
  reused: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly stats: PoolStats = { inUseBytes: 0, peakInUseBytes: 0, pooledBytes: 0, created: 0, reused: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  /** A buffer of at least `bytes` bytes (usage STORAGE | COPY_SRC | COPY_DST). Contents are undefined. */
  acquire(bytes: number, label?: string): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.maxBufferSize) {
      throw new RangeError(`a buffer of ${bytes} bytes exceeds the device's maxBufferSize of ${this.maxBufferSize}${label ? ` (${label})` : ''}`);
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.stats.reused++;
      this.stats.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.stats.created++;
    }
    this.stats.inUseBytes += size;
    this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.stats.inUseBytes -= size;
    this.stats.pooledBytes += size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
  }

  /** Destroys the buffers kept for reuse. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.pooledBytes = 0;
  }

  resetPeak(): void {
    this.stats.peakInUseBytes = this.stats.inUseBytes;
  }

  get snapshot(): Readonly<PoolStats> {
    return { ...this.stats };
  }
}
