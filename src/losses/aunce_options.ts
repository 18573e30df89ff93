/**
 * Options of the AUNCE loss on the device side: validation (every message names the op, the
 * offending row, AU or field, and the shapes) and the resolved per-AU tables the kernels read.
 * Defaults follow ../shared/AUNCE_SPEC.md: τ 0.5; β 1.2 for y = 1 anchors and 0.4 (paper, §3.4)
 * or 0.8 (official HEAD, §4.3) for y = 0 anchors; AU weights off unless given; mean over AUs.
 */
import type { AunceOptions, PositiveType } from '../ref/aunce.js';

/** Positive-type codes shared with kernels/aunce.wgsl. */
export const POSITIVE_CODE: Readonly<Record<PositiveType, number>> = { max: 0, aug: 1, centroid: 2, min: 3, mean: 4 };

export const PAPER_TYPES: readonly PositiveType[] = ['max', 'aug', 'centroid', 'min'];
export const OFFICIAL_TYPES: readonly PositiveType[] = ['max', 'mean', 'aug'];

export type Labels = readonly (readonly number[])[];

export interface ResolvedAunce {
  official: boolean;
  B: number;
  N: number;
  K: number;
  D: number;
  tau: number;
  /** β by AU and anchor label: beta[2k + y] (swap and by-frequency already applied) */
  beta: Float32Array;
  /** L = Σ_k coef[k] · perAU[k]: ω_k/K for the mean over AUs, ω_k for the sum */
  coef: Float32Array;
  /** labels [B, K] as 0/1 */
  labels: Uint32Array;
  /** positive type code of every anchor and AU, [N, K] */
  types: Uint32Array;
  r2: boolean;
  excludePartner: boolean;
  centroidRenormalise: boolean;
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Validates features of shape [2B, K, D], labels [B][K] and the options; resolves the tables. */
export function resolveAunce(op: string, shape: readonly number[], labels: Labels, opts: AunceOptions): ResolvedAunce {
  const mode = opts.mode;
  if (mode !== 'paper' && mode !== 'official') throw new Error(`${op}: unknown mode '${String(mode)}' (paper | official)`);
  const official = mode === 'official';
  const B = labels.length;
  const K = B > 0 ? labels[0]!.length : 0;
  if (B < 1 || K < 1) throw new RangeError(`${op}: labels must be [B, K] with B, K >= 1; got [${B}, ${K}] with features ${shapeText(shape)}`);
  if (shape.length !== 3 || shape[0] !== 2 * B || shape[1] !== K || shape[2]! < 1) {
    throw new RangeError(`${op}: features ${shapeText(shape)} do not match labels [${B}, ${K}] (expected [${2 * B}, ${K}, D >= 1])`);
  }
  const N = 2 * B;
  const D = shape[2]!;
  const lab = new Uint32Array(B * K);
  for (let b = 0; b < B; b++) {
    const row = labels[b]!;
    if (row.length !== K) throw new RangeError(`${op}: labels row ${b} has ${row.length} entries, expected K = ${K}`);
    for (let k = 0; k < K; k++) {
      const v = row[k];
      if (v !== 0 && v !== 1) throw new RangeError(`${op}: label at row ${b}, AU ${k} is ${String(v)}; labels must be 0 or 1`);
      lab[b * K + k] = v;
    }
  }
  const tau = opts.tau ?? 0.5;
  if (!(tau > 0) || !Number.isFinite(tau)) throw new RangeError(`${op}: tau must be a positive finite number, got ${tau}`);
  const betaAct = opts.betaActive ?? 1.2;
  const betaInact = opts.betaInactive ?? (official ? 0.8 : 0.4);
  if (!Number.isFinite(betaAct) || !Number.isFinite(betaInact)) throw new RangeError(`${op}: betas must be finite, got ${betaAct} and ${betaInact}`);
  const red = opts.reduction ?? 'mean';
  if (red !== 'mean' && red !== 'sum') throw new Error(`${op}: unknown reduction '${String(red)}' (mean | sum)`);
  if (opts.negWeighting !== undefined && opts.negWeighting !== 'R1' && opts.negWeighting !== 'R2') {
    throw new Error(`${op}: unknown negWeighting '${String(opts.negWeighting)}' (R1 | R2)`);
  }
  if (opts.betaBy !== undefined && opts.betaBy !== 'label' && opts.betaBy !== 'frequency') {
    throw new Error(`${op}: unknown betaBy '${String(opts.betaBy)}' (label | frequency)`);
  }
  if (official) {
    const paperOnly: [string, boolean][] = [
      ['negWeighting', (opts.negWeighting ?? 'R1') !== 'R1'],
      ['betaSwap', !!opts.betaSwap],
      ['betaBy', (opts.betaBy ?? 'label') !== 'label'],
      ['excludePartnerFromPool', !!opts.excludePartnerFromPool],
      ['centroidRenormalise', !!opts.centroidRenormalise],
    ];
    for (const [name, set] of paperOnly) if (set) throw new Error(`${op}: option ${name} exists only in paper mode (the official code has no such switch)`);
  }

  const coef = new Float32Array(K);
  const scale = red === 'mean' ? 1 / K : 1;
  if (opts.auWeight) {
    if (opts.auWeight.length !== K) throw new RangeError(`${op}: auWeight has ${opts.auWeight.length} entries, expected K = ${K}`);
    opts.auWeight.forEach((w, k) => {
      if (!Number.isFinite(w)) throw new RangeError(`${op}: auWeight[${k}] is ${w}; must be finite`);
      coef[k] = w * scale;
    });
  } else coef.fill(scale);

  const allowed = official ? OFFICIAL_TYPES : PAPER_TYPES;
  const code = (t: unknown, where: string): number => {
    if (!allowed.includes(t as PositiveType)) {
      throw new Error(`${op}: positive type '${String(t)}' at ${where} is not available in ${mode} mode (${allowed.join(' | ')})`);
    }
    return POSITIVE_CODE[t as PositiveType];
  };
  const types = new Uint32Array(N * K);
  const pos = opts.positive;
  if (pos.length === K && pos.every((t) => typeof t === 'string')) {
    const perAU = (pos as readonly PositiveType[]).map((t, k) => code(t, `AU ${k}`));
    for (let a = 0; a < N; a++) for (let k = 0; k < K; k++) types[a * K + k] = perAU[k]!;
  } else if (pos.length === N && pos.every((row) => Array.isArray(row))) {
    (pos as readonly (readonly PositiveType[])[]).forEach((row, a) => {
      if (row.length !== K) throw new RangeError(`${op}: positive row ${a} has ${row.length} entries, expected K = ${K}`);
      row.forEach((t, k) => (types[a * K + k] = code(t, `anchor ${a}, AU ${k}`)));
    });
  } else {
    throw new RangeError(`${op}: positive must hold K = ${K} types or N x K = ${N} x ${K}; got ${pos.length} entries`);
  }

  // β by anchor label (spec §3.4): y = 1 gets β_act unless swapped; by frequency, β_act goes to
  // the class whose training rate is below 0.5 (at exactly 0.5 the label rule stays).
  const beta = new Float32Array(2 * K);
  const swap = !official && !!opts.betaSwap;
  let rate: readonly number[] | null = null;
  if (!official && opts.betaBy === 'frequency') {
    rate = opts.auRate ?? null;
    if (!rate || rate.length !== K) throw new RangeError(`${op}: betaBy 'frequency' needs auRate with K = ${K} entries, got ${rate ? rate.length : 'none'}`);
  }
  for (let k = 0; k < K; k++) {
    const activeGetsAct = rate ? !(rate[k]! > 0.5) : true;
    for (const y of [0, 1]) {
      const getsAct = (y === 1) === activeGetsAct;
      beta[2 * k + y] = getsAct !== swap ? betaAct : betaInact;
    }
  }
  return {
    official,
    B,
    N,
    K,
    D,
    tau,
    beta,
    coef,
    labels: lab,
    types,
    r2: !official && opts.negWeighting === 'R2',
    excludePartner: !official && !!opts.excludePartnerFromPool,
    centroidRenormalise: !official && !!opts.centroidRenormalise,
  };
}
