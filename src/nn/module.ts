/**
 * A minimal module system in the manner of torch.nn: a Module owns named parameters (leaf tensors
 * that require a gradient), named buffers (state without a gradient, e.g. BatchNorm statistics or
 * an index table) and named child modules. Names join with dots exactly as PyTorch's state_dict
 * does ('layers.0.blocks.1.attn.qkv.weight'), so checkpoints trained in PyTorch load by name.
 *
 * Buffers come in three kinds:
 *   persistent      in stateDict(), required by a strict loadStateDict()
 *   non-persistent  never in stateDict(); ignored if a file holds the key
 *   derived         computed from the configuration (Swin's relative_position_index and
 *                   attn_mask): in stateDict(), but optional when loading, and a value found in
 *                   the file is shape-checked and not copied (ours is the same by construction;
 *                   verifyDerived() compares the values)
 *
 * Also: Linear (weight [out, in] as PyTorch), LayerNorm, Sequential and ModuleList, and the
 * seeded initialisers the Swin code uses (trunc_normal(std .02) weights, zero biases).
 */
import type { Device } from '../runtime/device.js';
import { sameShape, shapeStr, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { layerNorm } from '../ops/layer_norm.js';
import { linear, type Activation } from '../ops/linear.js';
import type { Rng } from '../util/rng.js';

export type BufferKind = 'persistent' | 'non-persistent' | 'derived';

interface BufferEntry {
  tensor: Tensor;
  kind: BufferKind;
}

export interface LoadStateDictOptions {
  /** missing and unexpected keys are errors (default true); mis-shaped tensors always are */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** keys the module wants that the map lacked (only non-strict loads return any) */
  missing: string[];
  /** keys of the map the module does not know (only non-strict loads return any) */
  unexpected: string[];
  /** derived buffers found in the map (shape-checked, not copied) */
  derived: string[];
}

/** An error of loadStateDict(); `problems` lists one line per offending key. */
export class StateDictError extends Error {
  constructor(
    readonly module: string,
    readonly problems: readonly string[],
  ) {
    super(`loadStateDict (${module}): ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
    this.name = 'StateDictError';
  }
}

export type StateMap = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

function entriesOf(map: StateMap): [string, Tensor][] {
  return map instanceof Map ? [...map.entries()] : Object.entries(map as Record<string, Tensor>);
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, BufferEntry>();
  private readonly children = new Map<string, Module>();

  /** Sets training mode on this module and every descendant. */
  train(on = true): this {
    this.training = on;
    for (const m of this.children.values()) m.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  private checkName(what: string, name: string): void {
    if (!name || name.includes('.')) throw new Error(`${this.constructor.name}: ${what} name '${name}' must be non-empty and contain no '.'`);
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  /** Registers a parameter: an f32 tensor that requires a gradient (set here). */
  registerParameter(name: string, t: Tensor): Tensor {
    this.checkName('parameter', name);
    if (t.dtype !== 'f32') throw new TypeError(`${this.constructor.name}: parameter '${name}' must be f32, got ${t.describe()}`);
    t.requiresGrad = true;
    t.name ??= name;
    this.params.set(name, t);
    return t;
  }

  /**
   * Registers a buffer. `persistent` true (the default) puts it in stateDict(); false keeps it out;
   * 'derived' marks a buffer computed from the configuration (see the file comment).
   */
  registerBuffer(name: string, t: Tensor, persistent: boolean | 'derived' = true): Tensor {
    this.checkName('buffer', name);
    t.name ??= name;
    const kind: BufferKind = persistent === 'derived' ? 'derived' : persistent ? 'persistent' : 'non-persistent';
    this.buffers.set(name, { tensor: t, kind });
    return t;
  }

  registerModule<M extends Module>(name: string, m: M): M {
    this.checkName('module', name);
    this.children.set(name, m);
    return m;
  }

  /** Child modules in registration order, with their local names. */
  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
  }

  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [n, t] of m.params) out.push([path ? `${path}.${n}` : n, t]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Buffers of every kind with their dotted names (kinds: namedBufferKinds()). */
  namedBuffers(prefix = ''): [string, Tensor][] {
    return this.namedBufferEntries(prefix).map(([n, e]) => [n, e.tensor]);
  }

  namedBufferKinds(prefix = ''): [string, BufferKind][] {
    return this.namedBufferEntries(prefix).map(([n, e]) => [n, e.kind]);
  }

  private namedBufferEntries(prefix: string): [string, BufferEntry][] {
    const out: [string, BufferEntry][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [n, e] of m.buffers) out.push([path ? `${path}.${n}` : n, e]);
    }
    return out;
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /**
   * Parameters and persistent (and derived) buffers by dotted name, in PyTorch's order (each
   * module's parameters, then its buffers, then its children). The values are the module's own
   * tensors, not copies.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const walk = (m: Module, path: string) => {
      const key = (n: string) => (path ? `${path}.${n}` : n);
      for (const [n, t] of m.params) out.set(key(n), t);
      for (const [n, e] of m.buffers) if (e.kind !== 'non-persistent') out.set(key(n), e.tensor);
      for (const [n, c] of m.children) walk(c, key(n));
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies the values of `map` into this module's parameters and persistent buffers (a device copy
   * into the existing tensors, so optimisers holding them see the new values). Everything is
   * checked before anything is copied: a mis-shaped or mistyped tensor, or (strict, the default) a
   * missing or unexpected key, throws a StateDictError naming each key and both shapes.
   */
  loadStateDict(map: StateMap, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const own = new Map<string, { tensor: Tensor; kind: BufferKind | 'parameter' }>();
    for (const [n, t] of this.namedParameters()) own.set(n, { tensor: t, kind: 'parameter' });
    const nonPersistent = new Set<string>();
    for (const [n, e] of this.namedBufferEntries('')) {
      if (e.kind === 'non-persistent') nonPersistent.add(n);
      else own.set(n, { tensor: e.tensor, kind: e.kind });
    }
    const problems: string[] = [];
    const unexpected: string[] = [];
    const derived: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    const seen = new Set<string>();
    for (const [key, src] of entriesOf(map)) {
      seen.add(key);
      const dst = own.get(key);
      if (!dst) {
        if (!nonPersistent.has(key)) unexpected.push(key);
        continue;
      }
      if (!sameShape(src.shape, dst.tensor.shape)) {
        problems.push(`'${key}': shape ${shapeStr(src.shape)} in the state dict, ${shapeStr(dst.tensor.shape)} in the model`);
        continue;
      }
      if (dst.kind === 'derived') {
        derived.push(key);
        continue;
      }
      if (src.dtype !== dst.tensor.dtype) {
        problems.push(`'${key}': dtype ${src.dtype} in the state dict, ${dst.tensor.dtype} in the model`);
        continue;
      }
      if (src.disposed) {
        problems.push(`'${key}': the state dict's tensor was disposed`);
        continue;
      }
      if (src.device !== dst.tensor.device) {
        problems.push(`'${key}': the state dict's tensor is on device ${src.device.id}, the model on device ${dst.tensor.device.id}`);
        continue;
      }
      copies.push([src, dst.tensor]);
    }
    const missing = [...own.entries()].filter(([k, e]) => !seen.has(k) && e.kind !== 'derived').map(([k]) => k);
    if (strict) {
      for (const k of missing) problems.push(`'${k}': missing from the state dict (model shape ${shapeStr(own.get(k)!.tensor.shape)})`);
      for (const k of unexpected) problems.push(`'${k}': unexpected key (shape ${shapeStr(tensorOf(map, k).shape)}), the model has no such parameter or buffer`);
    }
    if (problems.length) throw new StateDictError(this.constructor.name, problems);
    for (const [src, dst] of copies) if (src !== dst) dst.device.copyBuffer(src.buffer, 0, dst.buffer, 0, dst.size * 4);
    return { missing: strict ? [] : missing, unexpected: strict ? [] : unexpected, derived };
  }

  /**
   * Compares the derived buffers found in `map` with this module's own, elementwise to `atol`;
   * returns one line per key that differs (empty: all agree). Reads back from the device.
   */
  async verifyDerived(map: StateMap, atol = 0): Promise<string[]> {
    const own = new Map(this.namedBufferEntries('').filter(([, e]) => e.kind === 'derived'));
    const out: string[] = [];
    for (const [key, src] of entriesOf(map)) {
      const e = own.get(key);
      if (!e) continue;
      if (!sameShape(src.shape, e.tensor.shape)) {
        out.push(`'${key}': shape ${shapeStr(src.shape)} in the state dict, ${shapeStr(e.tensor.shape)} in the model`);
        continue;
      }
      const [a, b] = await Promise.all([src.toArray(), e.tensor.toArray()]);
      let worst = -1;
      for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= atol) && (worst < 0 || Math.abs(a[i]! - b[i]!) > Math.abs(a[worst]! - b[worst]!))) worst = i;
      if (worst >= 0) out.push(`'${key}': element ${worst} is ${a[worst]} in the state dict, ${b[worst]} in the model`);
    }
    return out;
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees every parameter, buffer and gradient of this module and its descendants. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
    }
    for (const b of this.namedBuffers()) b[1].dispose();
  }
}

function tensorOf(map: StateMap, key: string): Tensor {
  return map instanceof Map ? map.get(key)! : (map as Record<string, Tensor>)[key]!;
}

// ---------------------------------------------------------------------------------------------
// Initialisers (seeded, on the CPU, uploaded once)

/**
 * timm's trunc_normal_(std, a, b): N(0, std) restricted to [a, b] (absolute bounds, -2 and 2 by
 * default, as Swin calls it), by rejection.
 */
export function truncNormal(rng: Rng, n: number, std: number, a = -2, b = 2): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal() * std;
    while (v < a || v > b);
    out[i] = v;
  }
  return out;
}

export function normalValues(rng: Rng, n: number, std: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * std);
}

export function uniformValues(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
}

/** A parameter-to-be: uploaded f32 values (the caller registers it). */
export function tensorOfValues(device: Device, values: Float32Array, shape: Shape): Tensor {
  return Tensor.from(device, values, shape, { requiresGrad: true });
}

// ---------------------------------------------------------------------------------------------
// Layers

/** A module with one tensor in and one out (what Sequential chains). */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

export type LinearInit =
  | { kind: 'truncNormal'; std: number }
  | { kind: 'normal'; std: number }
  /** PyTorch's default: kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), bias the same */
  | { kind: 'torchDefault' };

export interface LinearOptions {
  /** the source of the initial values */
  rng: Rng;
  bias?: boolean;
  /** weight initialisation: trunc_normal(std .02) as Swin's _init_weights by default */
  init?: LinearInit;
  /** bias initialisation: zeros (Swin) by default, or PyTorch's default U(-1/sqrt(in), 1/sqrt(in)) */
  biasInit?: 'zeros' | 'torchDefault';
}

/** y = x W^T + b with W [out, in] and b [out], as torch.nn.Linear (keys 'weight', 'bias'). */
export class Linear extends Module implements UnaryModule {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    device: Device,
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions,
  ) {
    super();
    const n = inFeatures * outFeatures;
    const init = opts.init ?? { kind: 'truncNormal', std: 0.02 };
    const bound = 1 / Math.sqrt(Math.max(inFeatures, 1));
    const w =
      init.kind === 'truncNormal' ? truncNormal(opts.rng, n, init.std) : init.kind === 'normal' ? normalValues(opts.rng, n, init.std) : uniformValues(opts.rng, n, -bound, bound);
    this.weight = this.registerParameter('weight', tensorOfValues(device, w, [outFeatures, inFeatures]));
    const biasInit = opts.biasInit ?? 'zeros';
    this.bias =
      opts.bias === false
        ? null
        : this.registerParameter('bias', tensorOfValues(device, biasInit === 'zeros' ? new Float32Array(outFeatures) : uniformValues(opts.rng, outFeatures, -bound, bound), [outFeatures]));
  }

  forward(x: Tensor, act: Activation = 'none'): Tensor {
    return linear(x, this.weight, this.bias, act);
  }
}

/** Layer norm over the last dimension with weight (ones) and bias (zeros) of [dim], as torch.nn.LayerNorm. */
export class LayerNorm extends Module implements UnaryModule {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    device: Device,
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.registerParameter('weight', tensorOfValues(device, new Float32Array(dim).fill(1), [dim]));
    this.bias = this.registerParameter('bias', tensorOfValues(device, new Float32Array(dim), [dim]));
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** A list of modules named '0', '1', ... (torch.nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: readonly M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): M {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new RangeError(`ModuleList: index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** Modules applied in order, named '0', '1', ... (torch.nn.Sequential). */
export class Sequential extends ModuleList<UnaryModule> implements UnaryModule {
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}
