/**
 * Tensor: a shape, a dtype and a buffer on one Device. f32 tensors take part in autograd; i32
 * tensors carry indices (argmax, gather). Buffers come from the device's pool and return to it on
 * dispose(), when the last view of the storage goes, or when the tensor is garbage collected.
 */
import type { Device } from '../runtime/device.js';
import { GpuError } from '../runtime/errors.js';
import { checkShape, numel, shapeStr, type Shape } from './shape.js';
import type { TapeNode } from './tape.js';

export type DType = 'f32' | 'i32';

/** A pooled buffer shared by a tensor and its views. */
class Storage {
  private refs = 1;
  constructor(
    readonly device: Device,
    readonly buffer: GPUBuffer,
  ) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0 && this.device.alive) this.device.pool.release(this.buffer);
  }
}

const finalizer = new FinalizationRegistry<Storage>((s) => s.release());

/** Scopes opened by tidy(): every tensor created inside is disposed at the end unless kept. */
const scopes: Set<Tensor>[] = [];

export interface TensorOptions {
  requiresGrad?: boolean;
  name?: string;
}

export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  requiresGrad: boolean;
  /** gradient accumulated by backward() on a leaf tensor */
  grad: Tensor | null = null;
  /** the op that produced this tensor, while the graph is kept */
  node: TapeNode | null = null;
  name: string | undefined;
  private storage: Storage | null;

  private constructor(
    readonly device: Device,
    shape: Shape,
    readonly dtype: DType,
    storage: Storage,
    opts: TensorOptions = {},
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.storage = storage;
    this.requiresGrad = opts.requiresGrad ?? false;
    this.name = opts.name;
    if (this.requiresGrad && dtype !== 'f32') throw new TypeError(`a ${dtype} tensor cannot require a gradient`);
    finalizer.register(this, storage, this);
    scopes[scopes.length - 1]?.add(this);
  }

  /** A tensor with uninitialised contents. */
  static empty(device: Device, shape: Shape, dtype: DType = 'f32', opts?: TensorOptions): Tensor {
    checkShape('Tensor.empty', shape);
    device.assertAlive('Tensor.empty');
    const bytes = Math.max(4, numel(shape) * 4);
    return new Tensor(device, shape, dtype, new Storage(device, device.pool.acquire(bytes, opts?.name)), opts);
  }

  /** Uploads data (row-major) as a tensor of the given shape. */
  static from(device: Device, data: ArrayLike<number>, shape: Shape, opts: TensorOptions & { dtype?: DType } = {}): Tensor {
    const dtype = opts.dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
    checkShape('Tensor.from', shape);
    if (data.length !== numel(shape)) {
      throw new RangeError(`Tensor.from: ${data.length} values do not fill shape ${shapeStr(shape)} (${numel(shape)} elements)`);
    }
    const t = Tensor.empty(device, shape, dtype, opts);
    if (data.length > 0) {
      const arr = dtype === 'f32' ? Float32Array.from(data) : Int32Array.from(data);
      if (dtype === 'i32' && !(data instanceof Int32Array)) {
        for (let i = 0; i < data.length; i++) {
          if (!Number.isInteger(data[i])) throw new TypeError(`Tensor.from: value ${data[i]} at index ${i} is not an integer (dtype i32)`);
        }
      }
      device.writeBuffer(t.buffer, 0, arr);
    }
    return t;
  }

  /** The buffer; throws if the tensor was disposed or its device destroyed. */
  get buffer(): GPUBuffer {
    if (!this.storage) throw new GpuError(`tensor ${this.describe()} was disposed`);
    return this.storage.buffer;
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  /** Returns the buffer to the pool (when no other view shares it). Safe to call twice. */
  dispose(): void {
    if (!this.storage) return;
    finalizer.unregister(this);
    this.storage.release();
    this.storage = null;
    this.node = null;
  }

  /** A tensor of another shape over the same storage (no copy; the element count must match). */
  view(shape: Shape): Tensor {
    const storage = this.storageOrThrow();
    checkShape('view', shape);
    if (numel(shape) !== this.size) throw new RangeError(`view: cannot view ${shapeStr(this.shape)} as ${shapeStr(shape)}`);
    return new Tensor(this.device, shape, this.dtype, storage.retain());
  }

  /** The same storage, cut off from the graph. */
  detach(): Tensor {
    return this.view(this.shape);
  }

  private storageOrThrow(): Storage {
    if (!this.storage) throw new GpuError(`tensor ${this.describe()} was disposed`);
    return this.storage;
  }

  /** Reads the values back (flushing pending work). */
  async toArray(): Promise<Float32Array | Int32Array> {
    const bytes = await this.device.readBuffer(this.buffer, 0, this.size * 4);
    return this.dtype === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  async toFloat32(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new TypeError(`toFloat32: tensor ${this.describe()} is ${this.dtype}`);
    return (await this.toArray()) as Float32Array;
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new RangeError(`item: tensor ${this.describe()} has ${this.size} elements, not 1`);
    return (await this.toArray())[0]!;
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${this.dtype}${shapeStr(this.shape)}`;
  }

  toString(): string {
    return `Tensor(${this.describe()}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it except those it returns (found in the
 * returned value, arrays and plain objects) and those passed to keep().
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) throw new TypeError('tidy: the function must be synchronous');
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) {
    if (kept.has(t)) scopes[scopes.length - 1]?.add(t);
    else t.dispose();
  }
  return result;
}

/** Exempts tensors from the enclosing tidy() scopes. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collectTensors(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) {
    out.add(v);
    if (v.grad) out.add(v.grad);
  } else if (Array.isArray(v)) for (const x of v) collectTensors(x, out);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collectTensors(x, out);
  }
}
