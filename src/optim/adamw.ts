/**
 * Adam and AdamW with PyTorch's semantics (torch.optim.Adam / AdamW, single-tensor path), updating
 * parameters in place on the device (kernels/adamw.wgsl). Optional gradient clipping by the global
 * L2 norm (torch.nn.utils.clip_grad_norm_) is computed on the device too: no read-back per step.
 * The moments and per-parameter step counts form the state that checkpoints save and restore.
 */
import { grid1d, kernel } from '../ops/support.js';
import { full } from '../ops/unary.js';
import '../ops/index.js';
import type { Device } from '../runtime/device.js';
import { noGrad } from '../tensor/tape.js';
import { keep, Tensor } from '../tensor/tensor.js';

const FILE = 'adamw.wgsl';
const WG = 64;

export interface AdamWOptions {
  lr: number;
  /** (β1, β2), default (0.9, 0.999) */
  betas?: readonly [number, number];
  /** default 1e-8 */
  eps?: number;
  /** default 0.01 for AdamW (PyTorch's default), 0 for Adam */
  weightDecay?: number;
  /** true (default): AdamW, decay decoupled from the gradient; false: Adam with an L2 penalty */
  decoupled?: boolean;
  /** clip the gradients' global L2 norm to this before the update (null: no clipping) */
  maxGradNorm?: number | null;
}

interface Slot {
  name: string;
  param: Tensor;
  m: Tensor | null;
  v: Tensor | null;
  steps: number;
}

/** What a checkpoint keeps: per parameter the two moments and its step count. */
export interface OptimizerState {
  steps: Record<string, number>;
  tensors: Map<string, Tensor>;
}

export class AdamW {
  private readonly slots: Slot[];
  private readonly device: Device;
  private one: Tensor | null = null;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  readonly maxGradNorm: number | null;
  lr: number;

  constructor(params: readonly (readonly [string, Tensor])[], opts: AdamWOptions) {
    if (params.length === 0) throw new RangeError('AdamW: no parameters to optimise');
    const names = new Set<string>();
    for (const [name, t] of params) {
      if (names.has(name)) throw new Error(`AdamW: parameter name '${name}' appears twice`);
      names.add(name);
      if (t.dtype !== 'f32') throw new TypeError(`AdamW: parameter '${name}' is ${t.describe()}; parameters must be f32`);
    }
    this.device = params[0]![1].device;
    this.slots = params.map(([name, param]) => ({ name, param, m: null, v: null, steps: 0 }));
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.decoupled = opts.decoupled ?? true;
    this.weightDecay = opts.weightDecay ?? (this.decoupled ? 0.01 : 0);
    this.maxGradNorm = opts.maxGradNorm ?? null;
    const [b1, b2] = this.betas;
    const bad = (what: string, v: number, ok: boolean) => {
      if (!ok || !Number.isFinite(v)) throw new RangeError(`AdamW: ${what} ${v} is out of range`);
    };
    bad('lr', this.lr, this.lr >= 0);
    bad('beta1', b1, b1 >= 0 && b1 < 1);
    bad('beta2', b2, b2 >= 0 && b2 < 1);
    bad('eps', this.eps, this.eps >= 0);
    bad('weightDecay', this.weightDecay, this.weightDecay >= 0);
    if (this.maxGradNorm !== null) bad('maxGradNorm', this.maxGradNorm, this.maxGradNorm > 0);
  }

  /** Updates every parameter that has a gradient (recorded on the device; nothing is read back). */
  step(): void {
    const live = this.slots.filter((s) => s.param.grad);
    if (live.length === 0) return;
    noGrad(() => {
      const scale = this.clipScale(live.map((s) => s.param.grad!));
      const [b1, b2] = this.betas;
      const k = kernel(this.device, FILE, 'update', { WG, DECOUPLED: this.decoupled });
      for (const s of live) {
        const n = s.param.size;
        // state outlives any tidy() scope the step runs in
        s.m ??= keep(full(this.device, s.param.shape, 0));
        s.v ??= keep(full(this.device, s.param.shape, 0));
        s.steps += 1;
        this.device.dispatch(k, {
          buffers: { param: s.param.buffer, grad: s.param.grad!.buffer, m1: s.m.buffer, m2: s.v.buffer, gscale: scale.buffer },
          uniforms: {
            p: { n, lr: this.lr, b1, b2, eps: this.eps, wd: this.weightDecay, bc1: 1 - Math.pow(b1, s.steps), bc2: 1 - Math.pow(b2, s.steps) },
          },
          workgroups: grid1d(this.device, n, WG),
        });
      }
      if (scale !== this.one) scale.dispose();
    });
  }

  /** Frees every parameter's gradient. */
  zeroGrad(): void {
    for (const s of this.slots) {
      s.param.grad?.dispose();
      s.param.grad = null;
    }
  }

  /** min(1, maxGradNorm / (‖g‖ + 1e-6)) over all gradients, as a one-element tensor (1 without clipping). */
  private clipScale(grads: readonly Tensor[]): Tensor {
    if (this.maxGradNorm === null) return (this.one ??= keep(full(this.device, [1], 1)));
    let total: Tensor | null = null;
    for (const g of grads) {
      const sq = g.mul(g).sum();
      total = total ? total.add(sq) : sq;
    }
    const norm = total!.sqrt().add(1e-6);
    return full(this.device, [1], this.maxGradNorm).div(norm.maximum(this.maxGradNorm).reshape([1]));
  }

  /** The moments (`<name>.exp_avg`, `<name>.exp_avg_sq`, PyTorch's names) and step counts. */
  state(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    for (const s of this.slots) {
      steps[s.name] = s.steps;
      if (s.m && s.v) {
        tensors.set(`${s.name}.exp_avg`, s.m);
        tensors.set(`${s.name}.exp_avg_sq`, s.v);
      }
    }
    return { steps, tensors };
  }

  /** Restores a state saved by state(); errors name a missing or mis-shaped entry. */
  loadState(st: OptimizerState): void {
    for (const s of this.slots) {
      const steps = st.steps[s.name];
      if (steps === undefined) throw new Error(`AdamW.loadState: no step count for parameter '${s.name}'`);
      s.steps = steps;
      if (steps === 0) continue;
      for (const [suffix, key] of [
        ['exp_avg', 'm'],
        ['exp_avg_sq', 'v'],
      ] as const) {
        const t = st.tensors.get(`${s.name}.${suffix}`);
        if (!t) throw new Error(`AdamW.loadState: missing '${s.name}.${suffix}'`);
        if (t.size !== s.param.size) throw new RangeError(`AdamW.loadState: '${s.name}.${suffix}' has ${t.size} values, parameter has ${s.param.size}`);
        const mine = (s[key] ??= keep(Tensor.empty(this.device, s.param.shape)));
        this.device.copyBuffer(t.buffer, 0, mine.buffer, 0, t.size * 4);
      }
    }
    const known = new Set(this.slots.flatMap((s) => [`${s.name}.exp_avg`, `${s.name}.exp_avg_sq`]));
    for (const key of st.tensors.keys()) if (!known.has(key)) throw new Error(`AdamW.loadState: unexpected entry '${key}'`);
  }
}
