/**
 * Device: one WebGPU device with its adapter's real limits and optional features, a buffer pool,
 * the kernel registry, dispatch batching (one command encoder and one submit per flush), waiting
 * that does not spin the CPU, and error hooks. It owns the platform GPU handle (Dawn's `create()`
 * object in Node) for its whole life and releases it on destroy().
 */
import { BufferPool, USAGE } from './buffer_pool.js';
import { Profiler, type KernelTime } from './profiler.js';
import { DeviceLostError, GpuError, KernelBindingError, NoAdapterError } from './errors.js';
import { KernelRegistry, type Kernel, type KernelSource } from './kernels.js';
import { checkNames, UniformArena, writeUniform, type UniformValue } from './uniforms.js';
import { WaitEstimator } from './wait.js';

export const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  subgroupMinSize: number | null;
  subgroupMaxSize: number | null;
}

/** Measured choices (e.g. the fastest matmul variant per shape class), kept per adapter. */
export interface TuningStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  clear(): void;
  /** where the choices live, for messages */
  describe(): string;
}

/** A tuning store that lives as long as the process. */
export function memoryTuningStore(): TuningStore {
  const m = new Map<string, string>();
  return { get: (k) => m.get(k), set: (k, v) => void m.set(k, v), clear: () => m.clear(), describe: () => 'memory' };
}

export interface DeviceOptions {
  /** the platform's GPU object (navigator.gpu in a browser; Node: see node_gpu.ts) */
  gpu: GPU;
  /** called once on destroy(): releases the platform handle */
  release?: () => void;
  /** kernel files to compile at open */
  kernels?: KernelSource;
  powerPreference?: GPUPowerPreference;
  /** optional features to leave off even if the adapter has them (for tests of fallbacks) */
  disableFeatures?: OptionalFeature[];
  /** environment flags (AUNCE_PRINT_KERNELS, AUNCE_LOG_DISPATCH, AUNCE_MATMUL_VARIANT); defaults to none */
  env?: Record<string, string | undefined>;
  /** where measured kernel choices are kept, given the adapter (default: in memory) */
  tuning?: (adapter: AdapterDescription) => TuningStore;
  /**
   * Whether the platform checks buffer accesses (WebGPU's robustness). It only describes the GPU
   * object (in Node the Dawn toggle is chosen when it is created, see node_gpu.ts); true by default,
   * as in every browser.
   */
  robustness?: boolean;
}

export type BufferBinding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchArgs {
  /** storage buffers by their WGSL names */
  buffers: Record<string, BufferBinding>;
  /** uniform structs by their WGSL binding names, fields by member name */
  uniforms?: Record<string, Record<string, UniformValue>>;
  /** workgroup counts; a zero count records nothing */
  workgroups: number | [number, number?, number?];
}

interface PendingCheck {
  what: string;
  check: Promise<GPUError | null>;
}

/** bind groups kept for reuse (cleared when full: a training step reuses far fewer) */
const BIND_GROUP_CACHE = 8192;

const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

let nextDeviceId = 1;

export class Device {
  /** distinct per Device, for errors about tensors from two devices */
  readonly id = nextDeviceId++;
  readonly kernels: KernelRegistry;
  readonly pool: BufferPool;
  /** counters since creation */
  readonly counters = { dispatches: 0, submits: 0, readbacks: 0 };

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private passTimestamps: GPUComputePassTimestampWrites | undefined;
  /** per-dispatch timing while attached (profile()) */
  private profiler: Profiler | null = null;
  private profileMode: 'dispatch' | 'pass' = 'dispatch';
  /** inside timedSpan: what the passes after the first write (the end timestamp only) */
  private spanRest: GPUComputePassTimestampWrites | undefined;
  private batchKernels: string[] = [];
  private readonly arena: UniformArena;
  private readonly waiter = new WaitEstimator();
  private pendingChecks: PendingCheck[] = [];
  private errors: string[] = [];
  private readonly errorHooks: ((message: string) => void)[] = [];
  private destroyed = false;
  private lostReason: string | null = null;
  private readonly logDispatch: boolean;
  private readonly stagingFree: GPUBuffer[] = [];
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly dummies: (GPUBuffer | undefined)[] = [];
  /** commands submitted since the last wait: the key of the wait estimate */
  private sinceWait = 0;

  private constructor(
    readonly gpuDevice: GPUDevice,
    readonly adapter: AdapterDescription,
    readonly features: ReadonlySet<string>,
    readonly limits: Readonly<Record<string, number>>,
    private readonly release: (() => void) | undefined,
    readonly env: Readonly<Record<string, string | undefined>>,
    readonly tuning: TuningStore,
    /** whether buffer accesses are bounds-checked by the platform (DeviceOptions.robustness) */
    readonly robustness: boolean,
  ) {
    this.pool = new BufferPool(gpuDevice, limits.maxBufferSize ?? 256 * 1024 * 1024);
    this.arena = new UniformArena(gpuDevice, limits.minUniformBufferOffsetAlignment ?? 256);
    this.logDispatch = env.AUNCE_LOG_DISPATCH === '1';
    this.kernels = new KernelRegistry({
      device: gpuDevice,
      features,
      maxInvocations: limits.maxComputeInvocationsPerWorkgroup ?? 256,
      track: (what, check) => this.pendingChecks.push({ what, check }),
      printKernels: env.AUNCE_PRINT_KERNELS === '1',
    });
    gpuDevice.lost.then((info) => {
      if (!this.destroyed) {
        this.lostReason = `${info.reason}: ${info.message}`;
        this.report(`device lost (${this.lostReason})`);
      }
    });
    gpuDevice.onuncapturederror = (ev: GPUUncapturedErrorEvent) => this.report(ev.error.message);
  }

  /** Requests an adapter and a device with the adapter's own limits and the optional features it has. */
  static async open(opts: DeviceOptions): Promise<Device> {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await opts.gpu.requestAdapter({ powerPreference: opts.powerPreference });
    } catch (err) {
      opts.release?.();
      throw new NoAdapterError(`requestAdapter() failed: ${(err as Error).message}. ${NO_ADAPTER_REMEDY}`);
    }
    if (!adapter) {
      opts.release?.();
      throw new NoAdapterError(`no WebGPU adapter was found. ${NO_ADAPTER_REMEDY}`);
    }
    const disabled = new Set<string>(opts.disableFeatures ?? []);
    const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const key in adapter.limits) {
      const v = (adapter.limits as unknown as Record<string, unknown>)[key];
      if (typeof v === 'number') requiredLimits[key] = v;
    }
    let gpuDevice: GPUDevice;
    try {
      gpuDevice = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'aunce' });
    } catch {
      // Some adapters refuse a few of their own maxima; fall back to the ones compute work needs.
      const compute: Record<string, number> = {};
      for (const k of COMPUTE_LIMITS) if (k in requiredLimits) compute[k] = requiredLimits[k]!;
      gpuDevice = await adapter.requestDevice({ requiredFeatures, requiredLimits: compute, label: 'aunce' });
    }
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean; subgroupMinSize?: number; subgroupMaxSize?: number };
    const description: AdapterDescription = {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: Boolean(info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      subgroupMinSize: info.subgroupMinSize ?? null,
      subgroupMaxSize: info.subgroupMaxSize ?? null,
    };
    const limits: Record<string, number> = {};
    for (const key in gpuDevice.limits) {
      const v = (gpuDevice.limits as unknown as Record<string, unknown>)[key];
      if (typeof v === 'number') limits[key] = v;
    }
    const features = new Set(gpuDevice.features as unknown as Iterable<string>);
    const tuning = opts.tuning ? opts.tuning(description) : memoryTuningStore();
    const device = new Device(gpuDevice, description, features, limits, opts.release, opts.env ?? {}, tuning, opts.robustness ?? true);
    try {
      if (opts.kernels) await device.kernels.loadSource(opts.kernels);
    } catch (err) {
      device.destroy();
      throw err;
    }
    return device;
  }

  /** A one-line name of the adapter: vendor, architecture, device, description, fallback or not. */
  get name(): string {
    const a = this.adapter;
    const parts = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
    return `${parts}${a.description ? ` (${a.description})` : ''}${a.isFallbackAdapter ? ' [fallback adapter]' : ''}`;
  }

  get alive(): boolean {
    return !this.destroyed && this.lostReason === null;
  }

  has(feature: OptionalFeature): boolean {
    return this.features.has(feature);
  }

  /** Throws if the device was destroyed or lost; `what` names the caller in the message. */
  assertAlive(what: string): void {
    if (this.destroyed) throw new DeviceLostError(`${what}: the device was destroyed`);
    if (this.lostReason) throw new DeviceLostError(`${what}: the device was lost (${this.lostReason})`);
  }

  /** Registers a hook for errors the GPU reports asynchronously (they are also thrown at the next sync). */
  onError(hook: (message: string) => void): void {
    this.errorHooks.push(hook);
  }

  private report(message: string): void {
    this.errors.push(message);
    for (const h of this.errorHooks) h(message);
  }

  // ---------------------------------------------------------------- recording

  private currentPass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.gpuDevice.createCommandEncoder({ label: 'aunce batch' });
    if (!this.pass) {
      // pass-level profiling: every pass of ordinary batching gets its own timestamps
      const stamps = this.passTimestamps ?? (this.profiler && this.profileMode === 'pass' && !this.spanRest ? this.profiler.slot('pass') : undefined);
      this.pass = this.encoder.beginComputePass(stamps ? { timestampWrites: stamps } : {});
      if (this.spanRest) this.passTimestamps = this.spanRest;
    }
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Records one dispatch of a kernel. Bindings are checked by name against the kernel's WGSL. */
  dispatch(kernel: Kernel, args: DispatchArgs): void {
    this.assertAlive(kernel.name);
    const wg = typeof args.workgroups === 'number' ? [args.workgroups, 1, 1] : [args.workgroups[0], args.workgroups[1] ?? 1, args.workgroups[2] ?? 1];
    const maxPerDim = this.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    for (const n of wg) {
      if (!Number.isInteger(n) || n! < 0) throw new KernelBindingError(`${kernel.name}: workgroup count ${wg.join('x')} is not a whole number`);
      if (n! > maxPerDim) throw new KernelBindingError(`${kernel.name}: workgroup count ${wg.join('x')} exceeds the device limit ${maxPerDim} per dimension`);
    }
    checkNames(kernel.name, 'storage buffers', kernel.storageNames, Object.keys(args.buffers));
    checkNames(kernel.name, 'uniforms', kernel.uniformNames, Object.keys(args.uniforms ?? {}));
    if (wg[0] === 0 || wg[1] === 0 || wg[2] === 0) return;

    // profiling: a pass of its own with timestamps (not inside a GpuTimer region or span)
    const profiled = this.profiler && this.profileMode === 'dispatch' && !this.passTimestamps && !this.spanRest ? this.profiler.slot(kernel.key) : undefined;
    if (profiled) {
      this.endPass();
      this.passTimestamps = profiled;
    }
    const pass = this.currentPass();
    pass.setPipeline(kernel.pipeline);
    let group = -1;
    let entries: GPUBindGroupEntry[] = [];
    let offsets: number[] = [];
    let key = '';
    const finish = () => {
      if (group >= 0) pass.setBindGroup(group, this.bindGroup(kernel, group, key, entries), offsets);
    };
    for (const b of kernel.bindings) {
      if (b.group !== group) {
        finish();
        group = b.group;
        entries = [];
        offsets = [];
        key = '';
      }
      if (b.kind === 'uniform') {
        const layout = kernel.uniforms.get(b.name)!;
        const slot = this.arena.alloc(layout.size);
        writeUniform(kernel.name, b.name, layout, args.uniforms![b.name]!, slot.view);
        entries.push({ binding: b.binding, resource: { buffer: slot.buffer, offset: 0, size: layout.size } });
        offsets.push(slot.offset);
        key += `u${bufferId(slot.buffer)},`;
      } else {
        const given = args.buffers[b.name]!;
        const res: GPUBufferBinding = 'buffer' in given ? given : { buffer: given };
        entries.push({ binding: b.binding, resource: res });
        key += `${bufferId(res.buffer)}:${res.offset ?? 0}:${res.size ?? ''},`;
      }
    }
    finish();
    pass.dispatchWorkgroups(wg[0]!, wg[1]!, wg[2]!);
    if (profiled) {
      this.endPass();
      this.passTimestamps = undefined;
    }
    this.counters.dispatches++;
    this.batchKernels.push(kernel.key);
    if (this.logDispatch) console.error(`[dispatch] ${kernel.key} ${wg.join('x')}`);
  }

  /**
   * Times the work recorded while `fn` runs and returns the GPU time per label. Needs
   * `timestamp-query`. 'dispatch' (default): every dispatch runs in its own pass with timestamps,
   * labelled by kernel (per-pass overhead included, so the sum exceeds the batched run's GPU time);
   * 'pass': the passes of ordinary batching are timed as they are, all labelled 'pass' (the GPU's
   * busy time without the profiling overhead).
   */
  async profile(fn: () => void | Promise<void>, capacity = 4096, mode: 'dispatch' | 'pass' = 'dispatch'): Promise<KernelTime[]> {
    if (this.profiler) throw new Error('profile: already profiling');
    this.endPass();
    const p = new Profiler(this, capacity);
    this.profiler = p;
    this.profileMode = mode;
    try {
      await fn();
    } finally {
      this.endPass();
      this.profiler = null;
    }
    try {
      return await p.collect();
    } finally {
      p.destroy();
    }
  }

  /**
   * A small buffer to bind where a kernel declares a binding that this call does not use (an
   * epilogue's bias, say). One serves every read-only binding; writable ones must not alias each
   * other, so a call that leaves several writable bindings unused gives each its own `slot`.
   */
  dummyBuffer(writable = false, slot = 0): GPUBuffer {
    const i = writable ? 1 + slot : 0;
    this.dummies[i] ??= this.gpuDevice.createBuffer({ size: 256, usage: USAGE.STORAGE | USAGE.COPY_DST, label: writable ? `unused (writable ${slot})` : 'unused' });
    return this.dummies[i]!;
  }

  /** Bind groups are cached by kernel, group and buffers (uniform offsets are dynamic). */
  private bindGroup(kernel: Kernel, group: number, key: string, entries: GPUBindGroupEntry[]): GPUBindGroup {
    const full = `${kernel.key}|${group}|${key}`;
    let bg = this.bindGroups.get(full);
    if (!bg) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      bg = this.gpuDevice.createBindGroup({ layout: kernel.bindGroupLayouts[group]!, entries });
      this.bindGroups.set(full, bg);
    }
    return bg;
  }

  /** Records a buffer-to-buffer copy (in order with the dispatches around it). */
  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.assertAlive('copyBuffer');
    if (size === 0) return;
    this.endPass();
    if (!this.encoder) this.encoder = this.gpuDevice.createCommandEncoder({ label: 'aunce batch' });
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.batchKernels.push('copy');
  }

  /**
   * Writes data into a buffer. Work recorded before this call is submitted first, so it sees the
   * buffer's old contents and work recorded after sees the new ones.
   */
  writeBuffer(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.assertAlive('writeBuffer');
    if (this.encoder) this.flush();
    this.gpuDevice.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Runs `record` so that everything it records lands in one compute pass whose start and end
   * write timestamps (used by GpuTimer).
   */
  timedPass<T>(timestampWrites: GPUComputePassTimestampWrites, record: () => T): T {
    this.endPass();
    const outer = this.passTimestamps;
    this.passTimestamps = timestampWrites;
    try {
      this.currentPass();
      return record();
    } finally {
      this.endPass();
      this.passTimestamps = outer;
    }
  }

  /**
   * Runs `record` as one timed span that may cover several passes and submits (a forward and
   * backward graph; bench/span_timer.ts): the first pass it opens writes the beginning timestamp
   * and every pass writes the end one, so the last pass's end stays. No pass is opened before the
   * first dispatch, so uploads ahead of it neither split the span nor fall inside it.
   */
  timedSpan<T>(querySet: GPUQuerySet, beginIndex: number, endIndex: number, record: () => T): T {
    this.endPass();
    const outer = { first: this.passTimestamps, rest: this.spanRest };
    const first = { querySet, beginningOfPassWriteIndex: beginIndex, endOfPassWriteIndex: endIndex };
    this.passTimestamps = first;
    this.spanRest = { querySet, endOfPassWriteIndex: endIndex };
    try {
      const r = record();
      if (this.passTimestamps === first) this.currentPass(); // nothing dispatched: an empty pass writes both
      return r;
    } finally {
      this.endPass();
      this.passTimestamps = outer.first;
      this.spanRest = outer.rest;
    }
  }

  /** Low-level access for helpers that must add commands of their own (timers, read-back). */
  commandEncoder(): GPUCommandEncoder {
    this.endPass();
    if (!this.encoder) this.encoder = this.gpuDevice.createCommandEncoder({ label: 'aunce batch' });
    return this.encoder;
  }

  /** Submits everything recorded since the last flush as one command buffer. */
  flush(): void {
    this.assertAlive('flush');
    if (!this.encoder) return;
    this.endPass();
    const encoder = this.encoder;
    this.encoder = null;
    const kernels = this.batchKernels;
    this.batchKernels = [];
    this.arena.upload(this.gpuDevice.queue);
    this.gpuDevice.pushErrorScope('validation');
    this.gpuDevice.queue.submit([encoder.finish()]);
    this.counters.submits++;
    this.sinceWait += kernels.length;
    const list = kernels.length > 6 ? `${kernels.slice(0, 6).join(', ')} and ${kernels.length - 6} more` : kernels.join(', ');
    this.pendingChecks.push({ what: `a batch of ${kernels.length} commands (${list})`, check: this.gpuDevice.popErrorScope() });
  }

  /** Flushes, waits until the GPU has finished all submitted work, and raises any error it reported. */
  async sync(hintMs?: number): Promise<void> {
    this.flush();
    await this.waiter.wait(() => this.gpuDevice.queue.onSubmittedWorkDone(), hintMs, this.waitKey());
    await this.raiseErrors();
  }

  /** Waits are learned per power-of-two bucket of the commands submitted since the last wait. */
  private waitKey(): string {
    const n = this.sinceWait;
    this.sinceWait = 0;
    return n === 0 ? '0' : String(Math.ceil(Math.log2(n + 1)));
  }

  /** Throws the first error the GPU reported since the last check (pipeline creation, submits, uncaptured). */
  async raiseErrors(): Promise<void> {
    const checks = this.pendingChecks;
    this.pendingChecks = [];
    const found: string[] = [];
    for (const { what, check } of checks) {
      const err = await check;
      if (err) found.push(`${what}: ${err.message}`);
    }
    found.push(...this.errors);
    this.errors = [];
    if (found.length) throw new GpuError(found.join('\n'));
  }

  /** Copies `size` bytes of a buffer to the CPU (flushing what was recorded before). */
  async readBuffer(buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    this.assertAlive('readBuffer');
    const padded = Math.ceil(Math.max(size, 4) / 4) * 4;
    let staging = this.stagingFree.findIndex((b) => b.size >= padded && b.size <= 4 * padded);
    const buf = staging >= 0 ? this.stagingFree.splice(staging, 1)[0]! : this.gpuDevice.createBuffer({ size: padded, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: 'read-back' });
    staging = -1;
    if (size > 0) this.commandEncoder().copyBufferToBuffer(buffer, offset, buf, 0, padded);
    else this.commandEncoder();
    this.flush();
    this.counters.readbacks++;
    await this.waiter.wait(() => buf.mapAsync(1 /* GPUMapMode.READ */, 0, padded), undefined, this.waitKey());
    const out = buf.getMappedRange(0, padded).slice(0, size);
    buf.unmap();
    if (this.stagingFree.length < 8) this.stagingFree.push(buf);
    else buf.destroy();
    await this.raiseErrors();
    return out;
  }

  /** Destroys the device and releases the platform handle; further calls throw DeviceLostError. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.bindGroups.clear();
    for (const b of this.dummies) b?.destroy();
    this.pool.trim();
    this.arena.destroy();
    for (const b of this.stagingFree) b.destroy();
    this.stagingFree.length = 0;
    this.gpuDevice.onuncapturederror = null;
    this.gpuDevice.destroy();
    this.release?.();
  }
}

const COMPUTE_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
];

export const NO_ADAPTER_REMEDY =
  'On Linux without a GPU, install a Vulkan driver new enough for Dawn (Mesa >= 24, lavapipe): run `sudo bash scripts/setup.sh`. ' +
  'With a GPU, check that its Vulkan driver is installed (`vulkaninfo --summary`).';
