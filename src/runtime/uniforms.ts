/**
 * Uniforms: the arena that holds one batch's uniform blocks (written to the GPU once per flush and
 * bound with dynamic offsets), and the writer that puts each field at the offset reflection gave.
 */
import { USAGE } from './buffer_pool.js';
import { KernelBindingError } from './errors.js';
import type { UniformLayout } from './kernels.js';

export type UniformValue = number | ArrayLike<number>;

const ARENA_CHUNK = 64 * 1024;

/** Uniform data of one batch: CPU copies written to GPU chunks at flush. */
export class UniformArena {
  private readonly chunks: { gpu: GPUBuffer; cpu: Uint8Array }[] = [];
  private chunk = 0;
  private used = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly align: number,
  ) {}

  /** Room for `size` bytes: the chunk's buffer, the offset, and a view to fill. */
  alloc(size: number): { buffer: GPUBuffer; offset: number; view: DataView } {
    if (size > ARENA_CHUNK) throw new RangeError(`a uniform block of ${size} bytes exceeds ${ARENA_CHUNK}`);
    if (this.used + size > ARENA_CHUNK) {
      this.chunk++;
      this.used = 0;
    }
    if (this.chunk === this.chunks.length) {
      this.chunks.push({
        gpu: this.device.createBuffer({ size: ARENA_CHUNK, usage: USAGE.UNIFORM | USAGE.COPY_DST, label: 'uniform arena' }),
        cpu: new Uint8Array(ARENA_CHUNK),
      });
    }
    const c = this.chunks[this.chunk]!;
    const offset = this.used;
    this.used = Math.ceil((offset + size) / this.align) * this.align;
    c.cpu.fill(0, offset, offset + size);
    return { buffer: c.gpu, offset, view: new DataView(c.cpu.buffer, offset, size) };
  }

  /** Writes what this batch used to the GPU (queue-ordered before the batch's submit). */
  upload(queue: GPUQueue): void {
    for (let i = 0; i <= this.chunk && i < this.chunks.length; i++) {
      const end = i === this.chunk ? this.used : ARENA_CHUNK;
      if (end > 0) queue.writeBuffer(this.chunks[i]!.gpu, 0, this.chunks[i]!.cpu, 0, end);
    }
    this.chunk = 0;
    this.used = 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.gpu.destroy();
    this.chunks.length = 0;
  }
}


export function checkNames(kernel: string, what: string, expected: readonly string[], given: readonly string[]): void {
  const missing = expected.filter((n) => !given.includes(n));
  const extra = given.filter((n) => !expected.includes(n));
  if (missing.length || extra.length) {
    throw new KernelBindingError(
      `${kernel}: ${what} do not match the WGSL: it declares [${expected.join(', ')}], the call gave [${given.join(', ')}]` +
        `${missing.length ? `; missing: ${missing.join(', ')}` : ''}${extra.length ? `; extra: ${extra.join(', ')}` : ''}`,
    );
  }
}

export function writeUniform(kernel: string, binding: string, layout: UniformLayout, values: Record<string, UniformValue>, view: DataView): void {
  checkNames(`${kernel} uniform '${binding}'`, 'fields', layout.fields.map((f) => f.name), Object.keys(values));
  for (const f of layout.fields) {
    const v = values[f.name]!;
    const flat: ArrayLike<number> = typeof v === 'number' ? [v] : v;
    const total = f.components * f.count;
    if (flat.length > total) {
      throw new KernelBindingError(`${kernel}: uniform ${binding}.${f.name} holds ${total} values, got ${flat.length}`);
    }
    for (let i = 0; i < flat.length; i++) {
      const at = f.offset + Math.floor(i / f.components) * f.stride + (i % f.components) * 4;
      const x = flat[i]!;
      if (f.scalar === 'f32') view.setFloat32(at, x, true);
      else if (f.scalar === 'u32') {
        if (!(x >= 0 && x <= 0xffffffff && Number.isInteger(x))) throw new KernelBindingError(`${kernel}: uniform ${binding}.${f.name}[${i}] = ${x} is not a u32`);
        view.setUint32(at, x, true);
      } else {
        if (!Number.isInteger(x)) throw new KernelBindingError(`${kernel}: uniform ${binding}.${f.name}[${i}] = ${x} is not an i32`);
        view.setInt32(at, x, true);
      }
    }
  }
}
