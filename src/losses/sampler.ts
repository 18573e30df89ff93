/**
 * The positive-type sampler of the AUNCE loss (spec §3.6, §4.2 rows 9–17, §5.8 "RNG"). The loss
 * kernel owns no random state: it takes the type per AU ([K]) or per anchor and AU ([N][K]) as an
 * input. This module draws those types, step by step, from given probabilities and a seed.
 *
 * The uniforms are bit-compatible with PyTorch's CPU generator: `torch.manual_seed(seed)` followed
 * by `torch.rand(K)` at every step (or `torch.rand(N, K)` per anchor, row-major). PyTorch seeds an
 * MT19937 with the low 32 bits of the seed and makes a float32 uniform from one 32-bit output as
 * (x & 0xffffff) / 2^24 (checked against torch 1.13 in test/data/goldens/sampler.json).
 *
 * Mapping of a uniform u to a type, first category whose cumulative probability exceeds u:
 *   paper    (spec §3.6):      max, aug, centroid, min   defaults (0.15, 0.15, 0.7, 0)
 *   official (spec §4.2, §5.8): max, mean, aug          defaults (0.2, 0.6, 0.2)
 * The comparisons are done in float32, as PyTorch does for `p < 0.2` with p a float32 tensor.
 * A category of probability 0 is never drawn; the last category of positive probability takes
 * every u above the previous thresholds.
 */
import type { AunceMode, PositiveType } from '../ref/aunce.js';

const MT_N = 624;
const MT_M = 397;

/** MT19937 seeded as PyTorch's CPU generator (at::mt19937): low 32 bits of the seed, standard init. */
export class TorchGenerator {
  private readonly mt: Uint32Array;
  private index: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`sampler: seed must be a non-negative safe integer, got ${seed}`);
    this.mt = new Uint32Array(MT_N);
    this.mt[0] = seed % 2 ** 32;
    for (let i = 1; i < MT_N; i++) {
      const p = this.mt[i - 1]!;
      this.mt[i] = Math.imul(1812433253, p ^ (p >>> 30)) + i;
    }
    this.index = MT_N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < MT_N; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % MT_N]! & 0x7fffffff);
      mt[i] = mt[(i + MT_M) % MT_N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** the next 32-bit output */
  nextUint32(): number {
    if (this.index >= MT_N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `torch.rand(n)` (float32 values, exactly representable as numbers): (x & 0xffffff) / 2^24 */
  rand(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`sampler: cannot draw ${n} uniforms`);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = (this.nextUint32() & 0xffffff) / 16777216;
    return out;
  }

  state(): { mt: number[]; index: number } {
    return { mt: Array.from(this.mt), index: this.index };
  }

  static fromState(s: { mt: readonly number[]; index: number }): TorchGenerator {
    if (!s || !Array.isArray(s.mt) || s.mt.length !== MT_N) throw new Error(`sampler: generator state must hold ${MT_N} words`);
    if (!s.mt.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) throw new Error('sampler: generator state words must be 32-bit unsigned integers');
    if (!Number.isInteger(s.index) || s.index < 0 || s.index > MT_N) throw new Error(`sampler: generator index must be in [0, ${MT_N}], got ${String(s.index)}`);
    const g = new TorchGenerator(0);
    g.mt.set(s.mt);
    g.index = s.index;
    return g;
  }
}

/** The type order of each mode's mapping and its default probabilities. */
export const SAMPLER_ORDER: Readonly<Record<AunceMode, readonly PositiveType[]>> = {
  paper: ['max', 'aug', 'centroid', 'min'],
  official: ['max', 'mean', 'aug'],
};
export const DEFAULT_PROBABILITIES: Readonly<Record<AunceMode, Readonly<Partial<Record<PositiveType, number>>>>> = {
  paper: { max: 0.15, aug: 0.15, centroid: 0.7, min: 0 },
  official: { max: 0.2, mean: 0.6, aug: 0.2 },
};

export type Probabilities = Partial<Record<PositiveType, number>>;
/** 'perAU': one type per AU per step (default, spec §3.6); 'perAnchor': one per anchor and AU. */
export type Granularity = 'perAU' | 'perAnchor';

export interface SamplerOptions {
  mode: AunceMode;
  /** per type; absent names are 0; defaults to the mode's DEFAULT_PROBABILITIES */
  probabilities?: Probabilities;
  /** torch.manual_seed(seed); default 0 */
  seed?: number;
  granularity?: Granularity;
}

/** A serialisable sampler state, for resumable training checkpoints (plain JSON). */
export interface SamplerState {
  version: 1;
  mode: AunceMode;
  probabilities: Probabilities;
  seed: number;
  granularity: Granularity;
  /** steps drawn so far */
  steps: number;
  generator: { mt: number[]; index: number };
}

/** Checks the probabilities against the mode (spec §3.6 / §4.2) and returns them complete. */
export function validateProbabilities(mode: AunceMode, probs: Probabilities): Record<string, number> {
  const order = SAMPLER_ORDER[mode];
  if (!order) throw new Error(`sampler: unknown mode '${String(mode)}' (paper | official)`);
  const out: Record<string, number> = {};
  for (const t of order) out[t] = 0;
  for (const [name, p] of Object.entries(probs)) {
    if (!order.includes(name as PositiveType)) {
      throw new Error(`sampler: positive type '${name}' is not available in ${mode} mode (${order.join(' | ')})`);
    }
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) throw new RangeError(`sampler: probability of '${name}' must be a finite number >= 0, got ${String(p)}`);
    out[name] = p;
  }
  const sum = order.reduce((s, t) => s + out[t]!, 0);
  if (Math.abs(sum - 1) > 1e-9) {
    throw new RangeError(`sampler: probabilities must sum to 1 (within 1e-9); ${order.map((t) => `${t} ${out[t]}`).join(', ')} sum to ${sum}`);
  }
  return out;
}

/** Draws positive types for the AUNCE loss from PyTorch-compatible uniforms. */
export class PositiveSampler {
  readonly mode: AunceMode;
  readonly seed: number;
  readonly granularity: Granularity;
  private readonly probs: Record<string, number>;
  /** float32 cumulative thresholds per category (Infinity for the last one of positive probability) */
  private readonly thresholds: number[];
  private readonly gen: TorchGenerator;
  private stepCount = 0;

  constructor(opts: SamplerOptions, gen?: TorchGenerator) {
    this.mode = opts.mode;
    this.probs = validateProbabilities(opts.mode, opts.probabilities ?? DEFAULT_PROBABILITIES[opts.mode] ?? {});
    this.seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(this.seed) || this.seed < 0) throw new RangeError(`sampler: seed must be a non-negative safe integer, got ${this.seed}`);
    this.granularity = opts.granularity ?? 'perAU';
    if (this.granularity !== 'perAU' && this.granularity !== 'perAnchor') {
      throw new Error(`sampler: unknown granularity '${String(this.granularity)}' (perAU | perAnchor)`);
    }
    this.gen = gen ?? new TorchGenerator(this.seed);
    const order = SAMPLER_ORDER[this.mode];
    let last = -1;
    order.forEach((t, i) => {
      if (this.probs[t]! > 0) last = i;
    });
    let cum = 0;
    this.thresholds = order.map((t, i) => {
      cum += this.probs[t]!;
      return i >= last ? Infinity : Math.fround(cum);
    });
  }

  /** The type a uniform u maps to (spec §3.6 paper, §4.2 official). */
  typeOf(u: number): PositiveType {
    if (!(u >= 0 && u < 1)) throw new RangeError(`sampler: uniform ${u} is outside [0, 1)`);
    const order = SAMPLER_ORDER[this.mode];
    let i = 0;
    while (!(this.probs[order[i]!]! > 0 && u < this.thresholds[i]!)) i++;
    return order[i]!;
  }

  /** One type per AU for the next step: the K uniforms of torch.rand(K). */
  nextPerAU(K: number): PositiveType[] {
    if (!Number.isInteger(K) || K < 1) throw new RangeError(`sampler: K must be a positive integer, got ${K}`);
    this.stepCount++;
    return this.gen.rand(K).map((u) => this.typeOf(u));
  }

  /** One type per anchor and AU for the next step: torch.rand(N, K), row-major. */
  nextPerAnchor(N: number, K: number): PositiveType[][] {
    if (!Number.isInteger(N) || N < 1 || !Number.isInteger(K) || K < 1) throw new RangeError(`sampler: [N, K] must be positive integers, got [${N}, ${K}]`);
    this.stepCount++;
    const u = this.gen.rand(N * K);
    return Array.from({ length: N }, (_, a) => u.slice(a * K, (a + 1) * K).map((x) => this.typeOf(x)));
  }

  /** The next step's types in the configured granularity ([K], or [N][K] with N = 2B), ready for AunceOptions.positive. */
  next(K: number, N?: number): PositiveType[] | PositiveType[][] {
    if (this.granularity === 'perAU') return this.nextPerAU(K);
    if (N === undefined) throw new RangeError('sampler: perAnchor granularity needs N (= 2B anchors)');
    return this.nextPerAnchor(N, K);
  }

  /** steps drawn so far */
  get steps(): number {
    return this.stepCount;
  }

  /** The probabilities in use, every name of the mode present. */
  get probabilities(): Probabilities {
    return { ...this.probs };
  }

  state(): SamplerState {
    return {
      version: 1,
      mode: this.mode,
      probabilities: this.probabilities,
      seed: this.seed,
      granularity: this.granularity,
      steps: this.stepCount,
      generator: this.gen.state(),
    };
  }

  /** Restores a sampler from state(): it continues exactly the same stream. */
  static fromState(s: SamplerState): PositiveSampler {
    if (!s || s.version !== 1) throw new Error(`sampler: unsupported state version ${String(s?.version)} (expected 1)`);
    if (!Number.isInteger(s.steps) || s.steps < 0) throw new Error(`sampler: state steps must be a non-negative integer, got ${String(s.steps)}`);
    const sampler = new PositiveSampler(
      { mode: s.mode, probabilities: s.probabilities, seed: s.seed, granularity: s.granularity },
      TorchGenerator.fromState(s.generator),
    );
    sampler.stepCount = s.steps;
    return sampler;
  }
}
