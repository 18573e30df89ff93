/**
 * AU label sequences for the synthetic benchmark (a Gaussian copula over time):
 *
 *   z[t, au] = sum_k W[au, k] f_k(t) + sqrt(1 - |W[au]|^2 - v) e_au(t) + sqrt(v) u[subject, au]
 *
 * with f_k and e_au independent unit-variance AR(1) processes per sequence (lag-1 correlations
 * FACTOR_RHO and OWN_RHO: activations last several frames) and u a per-subject offset (centred over the
 * subjects). An AU is active where z exceeds the empirical (1 - rate) quantile of its z over the frames
 * of the subject's group (the synthetic folds), so the rate of every fold, and so of every train split
 * and of the whole run, equals its Table I target to a frame or two, however small the run, while shared
 * factors give co-occurrence (AU6 with AU12, AU25 with AU26) and AR(1) gives smooth sequences.
 * The rendered intensity of an AU follows z too: strong well above the threshold, a faint sub-threshold
 * trace just below it, nothing far below.
 */
import { Rng } from '../../util/rng.js';
import { ALL_AUS, FACTOR_LOADINGS, FACTOR_RHO, FACTORS, OWN_RHO, SUBJECT_VARIANCE, profileAus, profileRates, type SynthProfileName } from './profiles.js';

export interface SynthSequence {
  subject: number;
  sequence: number;
  /** first global frame index */
  start: number;
  length: number;
}

export interface LabelPlan {
  /** frames */
  n: number;
  /** labelled AUs (the profile's), in label order */
  aus: number[];
  /** [n * aus.length] labels after injected noise */
  labels: Uint8Array;
  /** [n * aus.length] labels before noise */
  clean: Uint8Array;
  /** [n * ALL_AUS.length] rendered intensity in [0, 1] of every AU, labelled or not */
  intensity: Float32Array;
  /** how many label cells the noise flipped */
  flipped: number;
}

/** k-th smallest threshold so that exactly `count` of `values` lie above it */
function thresholdFor(values: Float32Array, count: number): number {
  if (count <= 0) return Infinity;
  if (count >= values.length) return -Infinity;
  const s = Float32Array.from(values).sort();
  const i = values.length - count;
  return 0.5 * (s[i - 1]! + s[i]!);
}

export function planLabels(
  profile: SynthProfileName,
  sequences: SynthSequence[],
  subjects: number,
  seed: number,
  labelNoise = 0,
  groupOf: (subject: number) => number = () => 0,
): LabelPlan {
  if (!(labelNoise >= 0 && labelNoise <= 1)) throw new RangeError(`synth: label noise must be a fraction in [0, 1], got ${labelNoise}`);
  const aus = profileAus(profile);
  const rates = profileRates(profile);
  const U = ALL_AUS.length;
  const n = sequences.reduce((s, q) => s + q.length, 0);
  const rng = new Rng(seed ^ 0x1abe1);

  // per-subject offsets, centred over the subjects so they move no rate on average
  const offsets = new Float64Array(subjects * U);
  for (let i = 0; i < offsets.length; i++) offsets[i] = rng.normal();
  if (subjects > 1) {
    for (let a = 0; a < U; a++) {
      let m = 0;
      for (let s = 0; s < subjects; s++) m += offsets[s * U + a]!;
      m /= subjects;
      for (let s = 0; s < subjects; s++) offsets[s * U + a]! -= m;
    }
  }

  const own = ALL_AUS.map((a) => Math.sqrt(Math.max(0, 1 - FACTOR_LOADINGS[a].reduce((s, w) => s + w * w, 0) - SUBJECT_VARIANCE)));
  const sv = Math.sqrt(SUBJECT_VARIANCE);
  const fStep = Math.sqrt(1 - FACTOR_RHO * FACTOR_RHO), eStep = Math.sqrt(1 - OWN_RHO * OWN_RHO);
  const z = ALL_AUS.map(() => new Float32Array(n));
  const f = new Float64Array(FACTORS), e = new Float64Array(U);
  for (const q of sequences) {
    for (let k = 0; k < FACTORS; k++) f[k] = rng.normal();
    for (let a = 0; a < U; a++) e[a] = rng.normal();
    for (let t = 0; t < q.length; t++) {
      if (t > 0) {
        for (let k = 0; k < FACTORS; k++) f[k] = FACTOR_RHO * f[k]! + fStep * rng.normal();
        for (let a = 0; a < U; a++) e[a] = OWN_RHO * e[a]! + eStep * rng.normal();
      }
      for (let a = 0; a < U; a++) {
        const w = FACTOR_LOADINGS[ALL_AUS[a]!];
        let v = own[a]! * e[a]! + sv * offsets[q.subject * U + a]!;
        for (let k = 0; k < FACTORS; k++) v += w[k]! * f[k]!;
        z[a]![q.start + t] = v;
      }
    }
  }

  const A = aus.length;
  const clean = new Uint8Array(n * A);
  const intensity = new Float32Array(n * U);
  // frames of each group (a fold's test subjects): thresholds per group make every group's rate,
  // and so every train split's, match the target
  const groups = new Map<number, number[]>();
  for (const q of sequences) {
    const g = groupOf(q.subject);
    if (!groups.has(g)) groups.set(g, []);
    const list = groups.get(g)!;
    for (let t = 0; t < q.length; t++) list.push(q.start + t);
  }
  const thr = new Float64Array(n);
  for (let a = 0; a < U; a++) {
    const za = z[a]!;
    for (const frames of groups.values()) {
      const zg = Float32Array.from(frames, (i) => za[i]!);
      const t = thresholdFor(zg, Math.round(rates[a]! * frames.length));
      for (const i of frames) thr[i] = t;
    }
    const col = aus.indexOf(ALL_AUS[a]!);
    for (let i = 0; i < n; i++) {
      const d = za[i]! - thr[i]!;
      const on = d > 0;
      intensity[i * U + a] = on ? 0.55 + 0.45 * Math.tanh(d / 0.8) : 0.25 * Math.exp(d / 0.35);
      if (col >= 0 && on) clean[i * A + col] = 1;
    }
  }

  // label noise: exactly round(fraction * cells) distinct cells flipped (partial Fisher-Yates)
  const labels = clean.slice();
  const cells = n * A;
  const flipped = Math.round(labelNoise * cells);
  if (flipped > 0) {
    const idx = new Uint32Array(cells);
    for (let i = 0; i < cells; i++) idx[i] = i;
    for (let i = 0; i < flipped; i++) {
      const j = i + rng.int(cells - i);
      const c = idx[j]!;
      idx[j] = idx[i]!;
      idx[i] = c;
      labels[c] = 1 - labels[c]!;
    }
  }
  return { n, aus, labels, clean, intensity, flipped };
}
