/**
 * The one module that knows it runs in Node: it creates Dawn's GPU object (npm `webgpu`) and reads
 * kernel sources from disk. Everything else uses the standard WebGPU API, so that it also runs in a
 * browser page given `navigator.gpu` and a `KernelSource` that fetches the files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, globals } from 'webgpu';
import { Device, type AdapterDescription, type DeviceOptions, type TuningStore } from './device.js';
import type { KernelSource } from './kernels.js';

let globalsInstalled = false;

export interface NodeGpuHandle {
  gpu: GPU;
  /** Drops the reference that keeps Dawn (and so the Node process) alive. */
  release(): void;
}

/** Dawn toggles we always want: exact timestamps (Dawn otherwise rounds them to ~65 us). */
export const DEFAULT_DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];

/** The Dawn device toggle that turns off robust buffer access (Tint's index clamping and Vulkan's robustBufferAccess). */
export const NO_ROBUSTNESS_FLAG = 'enable-dawn-features=disable_robustness';

/**
 * Whether devices check every buffer access (WebGPU's robustness). Off unless AUNCE_ROBUSTNESS is
 * `on` (or `1`): our kernels keep their own accesses in bounds (tests check every op against a
 * float64 reference, and the kernels were audited for it), and the checks cost 1.25-1.3x on the
 * lavapipe matmul. Native runtimes built on Dawn make the same choice. Turn it on to debug a kernel.
 */
export function robustnessFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.AUNCE_ROBUSTNESS?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'off' || v === '0') return false;
  if (v === 'on' || v === '1') return true;
  throw new Error(`AUNCE_ROBUSTNESS=${env.AUNCE_ROBUSTNESS}: expected on or off`);
}

/** The flags for Dawn's `create()`: the defaults, plus the robustness toggle when robustness is off. */
export function dawnFlags(robustness: boolean = robustnessFromEnv()): string[] {
  return robustness ? [...DEFAULT_DAWN_FLAGS] : [...DEFAULT_DAWN_FLAGS, NO_ROBUSTNESS_FLAG];
}

export function createNodeGpu(flags: string[] = dawnFlags()): NodeGpuHandle {
  if (!globalsInstalled) {
    // GPUBufferUsage, GPUMapMode, ... are globals in browsers; install Dawn's once.
    Object.assign(globalThis, globals);
    globalsInstalled = true;
  }
  // Mesa warns when XDG_RUNTIME_DIR is unset; any writable directory silences it.
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  let gpu: GPU | null = create(flags) as GPU;
  return {
    get gpu() {
      if (!gpu) throw new Error('the Dawn GPU handle was released');
      return gpu;
    },
    release() {
      gpu = null;
    },
  };
}

/** The folder that holds the project's `kernels/*.wgsl`. */
export const KERNELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'kernels');

/** Reads `*.wgsl` files from a folder on disk (the project's `kernels/` by default). */
export function diskKernelSource(dir: string = KERNELS_DIR): KernelSource {
  return {
    describe: () => dir,
    list: () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.wgsl'))
        .sort(),
    read: (file: string) => readFileSync(join(dir, file), 'utf8'),
  };
}

/** The folder of measured choices: AUNCE_CACHE_DIR, else $XDG_CACHE_HOME/aunce-webgpu, else ~/.cache/aunce-webgpu. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUNCE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'aunce-webgpu');
}

/** A JSON file of measured choices per adapter, written atomically (temporary file, then rename). */
export function fileTuningStore(adapter: AdapterDescription, dir: string = cacheDir()): TuningStore {
  const id = createHash('sha256').update(JSON.stringify([adapter.vendor, adapter.architecture, adapter.device, adapter.description])).digest('hex').slice(0, 16);
  const file = join(dir, `tuning-${id}.json`);
  let data: Record<string, string> = {};
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    data = {};
  }
  const save = () => {
    try {
      mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ ...data }, null, 1)}\n`);
      renameSync(tmp, file);
    } catch (err) {
      console.error(`aunce: could not write the tuning cache ${file}: ${(err as Error).message}`);
    }
  };
  return {
    get: (k) => data[k],
    set: (k, v) => {
      data[k] = v;
      save();
    },
    clear: () => {
      data = {};
      rmSync(file, { force: true });
    },
    describe: () => file,
  };
}

export type OpenOptions = Omit<DeviceOptions, 'gpu' | 'release'> & {
  /** Dawn's `create()` flags (default: `dawnFlags(robustness)`); `robustness` must then describe them */
  dawnFlags?: string[];
};

export async function openDevice(opts: OpenOptions = {}): Promise<Device> {
  const robustness = opts.robustness ?? robustnessFromEnv();
  const handle = createNodeGpu(opts.dawnFlags ?? dawnFlags(robustness));
  return Device.open({
    robustness,
    kernels: diskKernelSource(),
    env: process.env,
    tuning: (adapter) => fileTuningStore(adapter),
    ...opts,
    gpu: handle.gpu,
    release: () => handle.release(),
  });
}
