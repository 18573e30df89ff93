/**
 * Kernel registry: reads `kernels/*.wgsl`, compiles each file once as a shader module (raising
 * WGSL errors with file, function, line and column), reflects bindings and uniform layouts with
 * wgsl_reflect, and caches compute pipelines by `file:entry` plus the sorted override constants.
 */
import { WgslReflect, type FunctionInfo, type TypeInfo, type VariableInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { KernelBindingError, KernelCompileError } from './errors.js';

/** Where kernel sources come from (disk in Node, fetch in a browser). */
export interface KernelSource {
  describe(): string;
  list(): string[];
  read(file: string): string;
}

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';

export interface BindingInfo {
  name: string;
  group: number;
  binding: number;
  kind: BindingKind;
}

/** One field of a uniform struct, at the offset reflection reports. */
export interface UniformField {
  name: string;
  offset: number;
  scalar: 'u32' | 'i32' | 'f32';
  /** scalars per element (1 for a scalar, N for vecN) */
  components: number;
  /** elements (1 unless the field is an array) */
  count: number;
  /** bytes between array elements */
  stride: number;
}

export interface UniformLayout {
  size: number;
  fields: UniformField[];
}

export type OverrideValues = Record<string, number | boolean>;

export interface Kernel {
  /** `file:entry` */
  readonly name: string;
  /** cache key: `file:entry` plus sorted overrides */
  readonly key: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindings: readonly BindingInfo[];
  /** layouts of the uniform bindings, by binding name */
  readonly uniforms: ReadonlyMap<string, UniformLayout>;
  readonly workgroupSize: readonly [number, number, number];
  /** explicit layouts built from reflection; uniform bindings take dynamic offsets */
  readonly bindGroupLayouts: readonly GPUBindGroupLayout[];
  /** storage and uniform binding names, in binding order */
  readonly storageNames: readonly string[];
  readonly uniformNames: readonly string[];
}

interface ModuleInfo {
  file: string;
  code: string;
  module: GPUShaderModule | null;
  reflect: WgslReflect | null;
  /** features named by `enable` directives */
  enables: string[];
  /** why the module cannot be used on this device (a missing feature), or null */
  unavailable: string | null;
}

const ENABLE_TO_FEATURE: Record<string, string> = { f16: 'shader-f16', subgroups: 'subgroups' };

export interface RegistryOptions {
  device: GPUDevice;
  features: ReadonlySet<string>;
  maxInvocations: number;
  /** called with a pending validation check for every new pipeline */
  track: (what: string, check: Promise<GPUError | null>) => void;
  /** print each kernel's WGSL when it is first used (AUNCE_PRINT_KERNELS=1) */
  printKernels?: boolean;
}

export class KernelRegistry {
  private readonly modules = new Map<string, ModuleInfo>();
  private readonly pipelines = new Map<string, Kernel>();

  constructor(private readonly opts: RegistryOptions) {}

  /** Compiles every file of a source; rejects with the first WGSL error found. */
  async loadSource(source: KernelSource): Promise<void> {
    for (const file of source.list()) await this.addModule(file, source.read(file));
  }

  /** Compiles and reflects one WGSL module under a file name (replacing one of the same name). */
  async addModule(file: string, code: string): Promise<void> {
    const enables = [...code.matchAll(/^\s*enable\s+([\w\s,]+);/gm)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
    const missing = enables.map((e) => ENABLE_TO_FEATURE[e] ?? e).filter((f) => !this.opts.features.has(f));
    const info: ModuleInfo = { file, code, module: null, reflect: null, enables, unavailable: null };
    for (const key of [...this.pipelines.keys()]) if (key.startsWith(`${file}:`)) this.pipelines.delete(key);
    if (missing.length > 0) {
      info.unavailable = `needs the device feature(s) ${missing.join(', ')}, which this adapter lacks`;
      this.modules.set(file, info);
      return;
    }
    const device = this.opts.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code, label: file });
    const scopeError = await device.popErrorScope();
    const compilation = await module.getCompilationInfo();
    const firstError = compilation.messages.find((m) => m.type === 'error');
    if (firstError) {
      const fn = enclosingFunction(code, firstError.lineNum);
      throw new KernelCompileError(`${file}${fn ? `:${fn}` : ''}`, firstError.lineNum, firstError.linePos, firstError.message);
    }
    if (scopeError) throw new KernelCompileError(file, 0, 0, scopeError.message);
    let reflect: WgslReflect;
    try {
      reflect = new WgslReflect(code);
    } catch (err) {
      const msg = (err as Error).message;
      const line = Number(/Line: (\d+)/.exec(msg)?.[1] ?? 0);
      throw new KernelCompileError(`${file}${line ? `:${enclosingFunction(code, line) ?? ''}` : ''}`, line, 0, `reflection failed: ${msg}`);
    }
    checkShadowing(file, code, reflect);
    info.module = module;
    info.reflect = reflect;
    this.modules.set(file, info);
  }

  files(): string[] {
    return [...this.modules.keys()].sort();
  }

  /** Entry points of a file, or [] when the file is unavailable on this device. */
  entries(file: string): string[] {
    return this.module(file).reflect?.entry.compute.map((f) => f.name) ?? [];
  }

  /** The compiled module of a file (for tools and tests that build pipelines of their own). */
  shaderModule(file: string): GPUShaderModule | null {
    return this.module(file).module;
  }

  /** Why a file cannot be used on this device, or null. */
  unavailable(file: string): string | null {
    return this.module(file).unavailable;
  }

  has(file: string): boolean {
    return this.modules.has(file);
  }

  /** The pipeline of `file:entry` with the given override constants (built once, then cached). */
  get(file: string, entry: string, overrides: OverrideValues = {}): Kernel {
    const names = Object.keys(overrides).sort();
    const key = `${file}:${entry}${names.length ? `{${names.map((n) => `${n}=${Number(overrides[n])}`).join(',')}}` : ''}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const kernel = this.build(file, entry, overrides, key);
    this.pipelines.set(key, kernel);
    return kernel;
  }

  get cachedPipelines(): number {
    return this.pipelines.size;
  }

  private module(file: string): ModuleInfo {
    const info = this.modules.get(file);
    if (!info) throw new KernelBindingError(`kernel file '${file}' is not loaded (loaded: ${this.files().join(', ') || 'none'})`);
    return info;
  }

  private build(file: string, entry: string, overrides: OverrideValues, key: string): Kernel {
    const info = this.module(file);
    const name = `${file}:${entry}`;
    if (info.unavailable || !info.module || !info.reflect) throw new KernelBindingError(`${name} ${info.unavailable}`);
    const fn = info.reflect.entry.compute.find((f) => f.name === entry);
    if (!fn) {
      throw new KernelBindingError(`${name}: no compute entry point '${entry}' (entry points: ${this.entries(file).join(', ')})`);
    }
    const declared = new Set(info.reflect.overrides.map((o) => o.name));
    const unknown = Object.keys(overrides).filter((o) => !declared.has(o));
    if (unknown.length) {
      throw new KernelBindingError(`${name}: unknown override(s) ${unknown.join(', ')} (declared: ${[...declared].join(', ') || 'none'})`);
    }
    const workgroupSize = resolveWorkgroupSize(info, fn, overrides);
    const invocations = workgroupSize[0] * workgroupSize[1] * workgroupSize[2];
    if (invocations > this.opts.maxInvocations) {
      throw new KernelBindingError(`${name}: workgroup size ${workgroupSize.join('x')} = ${invocations} exceeds the device limit of ${this.opts.maxInvocations} invocations`);
    }
    const bindings = fn.resources
      .map((v) => bindingOf(name, v))
      .sort((a, b) => a.group - b.group || a.binding - b.binding);
    const uniforms = new Map<string, UniformLayout>();
    for (const v of fn.resources) if (v.resourceType === 0) uniforms.set(v.name, uniformLayout(name, v));
    if (this.opts.printKernels) console.error(`--- ${key}\n${info.code}`);
    const device = this.opts.device;
    device.pushErrorScope('validation');
    const constants: Record<string, number> = {};
    for (const [k, v] of Object.entries(overrides)) constants[k] = Number(v);
    // Explicit layouts (not 'auto'), so that uniforms can use dynamic offsets into the uniform
    // arena and bind groups can be cached across dispatches.
    const maxGroup = bindings.reduce((m, b) => Math.max(m, b.group), -1);
    const bindGroupLayouts: GPUBindGroupLayout[] = [];
    for (let g = 0; g <= maxGroup; g++) {
      bindGroupLayouts.push(
        device.createBindGroupLayout({
          label: `${key} group ${g}`,
          entries: bindings
            .filter((b) => b.group === g)
            .map((b) => ({
              binding: b.binding,
              visibility: 4 /* GPUShaderStage.COMPUTE */,
              buffer: b.kind === 'uniform' ? { type: 'uniform' as const, hasDynamicOffset: true } : { type: b.kind },
            })),
        }),
      );
    }
    const pipeline = device.createComputePipeline({
      label: key,
      layout: device.createPipelineLayout({ label: key, bindGroupLayouts }),
      compute: { module: info.module, entryPoint: entry, constants },
    });
    this.opts.track(`creating the pipeline ${key}`, device.popErrorScope());
    const storageNames = bindings.filter((b) => b.kind !== 'uniform').map((b) => b.name);
    const uniformNames = bindings.filter((b) => b.kind === 'uniform').map((b) => b.name);
    return { name, key, pipeline, bindings, uniforms, workgroupSize, bindGroupLayouts, storageNames, uniformNames };
  }
}

/** The function whose body holds a 1-based line, found by scanning the text (works when reflection fails). */
function enclosingFunction(code: string, line: number): string | null {
  const lines = code.split('\n');
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const m = /\bfn\s+(\w+)/.exec(lines[i]!);
    if (m) return m[1]!;
  }
  return null;
}

/**
 * wgsl_reflect decides which resources an entry point uses by name, so a parameter or local that
 * reuses a resource's name makes it report a binding the entry point does not have. Such code is
 * valid WGSL, but we refuse it with an error that says what to rename.
 */
function checkShadowing(file: string, code: string, reflect: WgslReflect): void {
  const globals = new Set([...reflect.uniforms, ...reflect.storage].map((v) => v.name));
  const lines = code.split('\n');
  for (const fn of reflect.functions) {
    for (let ln = Math.max(fn.startLine, 1); ln <= fn.endLine && ln <= lines.length; ln++) {
      const text = lines[ln - 1]!.replace(/\/\/.*$/, '');
      const names: [string, number][] = [];
      for (const m of text.matchAll(/\b(?:let|var|const)\s+(\w+)/g)) names.push([m[1]!, m.index! + m[0].length - m[1]!.length + 1]);
      if (ln === fn.startLine) {
        const params = /\bfn\s+\w+\s*\(([^)]*)\)/.exec(text);
        if (params) {
          const open = text.indexOf('(', params.index) + 1;
          for (const m of params[1]!.matchAll(/(?:^|,)\s*(?:@\w+(?:\([^)]*\))?\s*)*(\w+)\s*:/g)) {
            names.push([m[1]!, open + m.index! + m[0].lastIndexOf(m[1]!) + 1]);
          }
        }
      }
      for (const [name, col] of names) {
        if (globals.has(name)) {
          throw new KernelCompileError(`${file}:${fn.name}`, ln, col, `'${name}' reuses the name of a resource variable; rename it (resource reflection matches names)`);
        }
      }
    }
  }
}

function bindingOf(kernel: string, v: VariableInfo): BindingInfo {
  if (v.resourceType === 0) return { name: v.name, group: v.group, binding: v.binding, kind: 'uniform' };
  if (v.resourceType === 1) {
    return { name: v.name, group: v.group, binding: v.binding, kind: v.access === 'read' ? 'read-only-storage' : 'storage' };
  }
  throw new KernelBindingError(`${kernel}: binding '${v.name}' is a texture or sampler; only buffers are supported`);
}

const SCALARS = new Set(['u32', 'i32', 'f32']);

function elementOf(kernel: string, field: string, t: TypeInfo): { scalar: UniformField['scalar']; components: number } {
  const name = t.getTypeName();
  if (SCALARS.has(name)) return { scalar: name as UniformField['scalar'], components: 1 };
  const m = /^vec([234])([uif])$/.exec(name) ?? /^vec([234])<(u32|i32|f32)>$/.exec(name);
  if (m) {
    const s = m[2]!.length === 1 ? (`${m[2]}32` as UniformField['scalar']) : (m[2] as UniformField['scalar']);
    return { scalar: s, components: Number(m[1]) };
  }
  throw new KernelBindingError(`${kernel}: uniform field '${field}' has type ${name}; use u32, i32, f32, vecN of them, or arrays of those`);
}

function fieldOf(kernel: string, name: string, t: TypeInfo, offset: number, size: number): UniformField {
  if (t.isArray) {
    const a = t as TypeInfo & { format: TypeInfo; count: number; stride: number };
    const el = elementOf(kernel, name, a.format);
    return { name, offset, ...el, count: a.count, stride: a.stride };
  }
  const el = elementOf(kernel, name, t);
  return { name, offset, ...el, count: 1, stride: size };
}

function uniformLayout(kernel: string, v: VariableInfo): UniformLayout {
  const members = v.members;
  if (members) {
    return { size: v.size, fields: members.map((m) => fieldOf(kernel, m.name, m.type, m.offset, m.size)) };
  }
  return { size: v.size, fields: [fieldOf(kernel, v.name, v.type, 0, v.size)] };
}

function resolveWorkgroupSize(info: ModuleInfo, fn: FunctionInfo, overrides: OverrideValues): [number, number, number] {
  // wgsl_reflect resolves the sizes from the overrides' defaults; re-read the attribute so that
  // override values passed to this pipeline count.
  const lines = info.code.split('\n');
  const region = lines.slice(Math.max(0, fn.startLine - 6), fn.startLine).join('\n');
  const at = region.search(new RegExp(`\\bfn\\s+${fn.name}\\b`));
  const m = [...region.slice(0, at < 0 ? region.length : at).matchAll(/@workgroup_size\(([^)]*)\)/g)].pop();
  const fallback = fn.workgroupSize ?? [1, 1, 1];
  if (!m) return [fallback[0], fallback[1], fallback[2]];
  const parts = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  const out: [number, number, number] = [1, 1, 1];
  for (let i = 0; i < 3; i++) {
    const p = parts[i];
    if (p === undefined) continue;
    if (/^\d+u?$/.test(p)) out[i] = parseInt(p, 10);
    else if (p in overrides) out[i] = Number(overrides[p]);
    else out[i] = fallback[i] ?? 1;
  }
  return out;
}
