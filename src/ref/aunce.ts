/**
 * float64 CPU reference of the AUNCE contrastive loss and its exact gradient dL/dZ, for both
 * semantics of ../shared/AUNCE_SPEC.md: `paper` (spec §3) and `official` (the released
 * `au_infonce_loss`, spec §4). Independent of the GPU: nothing here imports the runtime.
 *
 * Layout (spec §1): Z is [N, K, D] with N = 2B; rows 0..B-1 are view 1, rows B..2B-1 view 2, and
 * the partner of anchor a is π(a) = a ± B. Labels are [B][K] in {0,1}, shared by both views.
 * The loss does not normalise Z (spec §4.5, §3.9 item 10): c_ab = <z_a, z_b> as given.
 *
 * Everything is evaluated in the log domain (spec §5.7): logQ is a log-sum-exp over negatives,
 * ℓ = softplus(logQ − logP), q = sigmoid(logQ − logP). The gradient is the analytic one of spec
 * §5.1: dL/dZ_k = (G_k + G_kᵀ) Z_k, with G from the boxed formula, plus the non-bilinear term of the
 * re-normalised centroid (spec §5.5).
 */
import { nd, type NDArray } from './ndarray.js';

export type AunceMode = 'paper' | 'official';
/** paper: max | aug | centroid | min (spec §3.5); official: max | mean | aug (spec §4.2). */
export type PositiveType = 'max' | 'aug' | 'centroid' | 'min' | 'mean';

export interface AunceOptions {
  mode: AunceMode;
  /** Positive type per AU ([K], spec §3.6 default granularity) or per anchor and AU ([N][K], PER_ANCHOR). */
  positive: readonly PositiveType[] | readonly (readonly PositiveType[])[];
  /** temperature τ (default 0.5, spec §1) */
  tau?: number;
  /** β for anchors with y = 1 (default 1.2, spec §3.4 / §4.2) */
  betaActive?: number;
  /** β for anchors with y = 0 (default 0.4 in paper mode, spec §3.4; 0.8 in official mode = C-HEAD, spec §4.3) */
  betaInactive?: number;
  /**
   * AU weight w_k ([K]). paper: default all ones when absent (spec §3.7 uses w from §2.1, which the
   * caller must supply). official: applied only when given (C-ORIG / `--probability False`, spec §4.2 #22).
   */
  auWeight?: readonly number[] | null;
  /** reduction over AUs (spec §5.1, §5.8): 'mean' (default) divides by K, 'sum' does not. */
  reduction?: 'mean' | 'sum';
  /** paper only: R1 power form (default) or R2 HCL-normalised (spec §3.3, §5.5). */
  negWeighting?: 'R1' | 'R2';
  /** paper only: the §III-B reading, y=0 → βActive and y=1 → βInactive (spec §3.4 `beta_swap`). */
  betaSwap?: boolean;
  /** paper only: 'label' (default) or 'frequency' (spec §3.4 `beta_by`); frequency needs auRate. */
  betaBy?: 'label' | 'frequency';
  /** paper only, with betaBy 'frequency': training-set occurrence rate r_k of y = 1 for each AU. */
  auRate?: readonly number[];
  /** paper only: remove π(a) from Pos(a), falling back to {π(a)} if empty (spec §3.5). */
  excludePartnerFromPool?: boolean;
  /** paper only: centroid positive c⁺ = <z_a, μ_a/‖μ_a‖> (spec §3.5, gradient §5.5). */
  centroidRenormalise?: boolean;
}

export interface AunceForward {
  /** the scalar loss L */
  loss: number;
  /** per AU, the unweighted mean over the N anchors: (1/N) Σ_a ℓ_{a,k}. L = (1/K or 1) Σ_k ω_k perAU[k]. */
  perAU: number[];
  /** ℓ_{a,k}, [N, K] */
  perAnchor: NDArray;
  /** log P_{a,k}, log Q_{a,k} (−∞ without negatives), log D_{a,k}; each [N, K] (spec §5.8 "saved for backward") */
  logP: NDArray;
  logQ: NDArray;
  logD: NDArray;
  /** the selected positive index for max/min/aug (lowest index on ties, spec §4.5); −1 for mean/centroid. [N, K] */
  argIdx: Int32Array;
}

export interface AunceBackward extends AunceForward {
  /** dL/dZ, [N, K, D] */
  grad: NDArray;
  /** G_k = dL/dC_k per AU, [K, N, N] (spec §5.1). Excludes the re-normalised-centroid term, which is not bilinear. */
  G: NDArray;
}

interface Resolved {
  B: number;
  N: number;
  K: number;
  D: number;
  tau: number;
  betaAct: number;
  betaInact: number;
  omega: number[];
  kScale: number; // 1/K for mean, 1 for sum
  r2: boolean;
  renorm: boolean;
  excludePartner: boolean;
  posType: (a: number, k: number) => PositiveType;
  y: (a: number, k: number) => number;
  beta: (a: number, k: number) => number;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Validates inputs and resolves defaults (throws with the offending row/AU/index named). */
function resolve(z: NDArray, labels: readonly (readonly number[])[], opts: AunceOptions): Resolved {
  const mode = opts.mode;
  if (mode !== 'paper' && mode !== 'official') throw new Error(`aunce: unknown mode '${String(mode)}' (paper | official)`);
  const B = labels.length;
  const K = B > 0 ? labels[0]!.length : 0;
  const lshape = [B, K];
  if (z.shape.length !== 3) throw new RangeError(`aunce: features must be [2B, K, D]; got shape ${fmt(z.shape)} with labels of shape ${fmt(lshape)}`);
  const [N, Kz, D] = z.shape as [number, number, number];
  if (B < 1 || K < 1) throw new RangeError(`aunce: labels must be [B, K] with B, K >= 1; got shape ${fmt(lshape)} with features of shape ${fmt(z.shape)}`);
  if (N !== 2 * B || Kz !== K || D < 1) {
    throw new RangeError(`aunce: features of shape ${fmt(z.shape)} do not match labels of shape ${fmt(lshape)} (expected [${2 * B}, ${K}, D >= 1])`);
  }
  if (z.data.length !== N * K * D) throw new RangeError(`aunce: features hold ${z.data.length} values for shape ${fmt(z.shape)}`);
  for (let b = 0; b < B; b++) {
    const row = labels[b]!;
    if (row.length !== K) throw new RangeError(`aunce: labels row ${b} has ${row.length} entries, expected K = ${K} (labels shape ${fmt(lshape)})`);
    for (let k = 0; k < K; k++) {
      const v = row[k];
      if (v !== 0 && v !== 1) throw new RangeError(`aunce: label at row ${b}, AU ${k} is ${String(v)}; labels must be 0 or 1`);
    }
  }
  for (let i = 0; i < z.data.length; i++) {
    const v = z.data[i]!;
    if (!Number.isFinite(v)) {
      const d = i % D;
      const k = Math.floor(i / D) % K;
      const a = Math.floor(i / (D * K));
      throw new RangeError(`aunce: feature at index ${i} ([${a}, ${k}, ${d}] of shape ${fmt(z.shape)}) is ${v}; features must be finite`);
    }
  }
  const tau = opts.tau ?? 0.5;
  if (!(tau > 0) || !Number.isFinite(tau)) throw new RangeError(`aunce: tau must be a positive finite number, got ${tau}`);
  const betaAct = opts.betaActive ?? 1.2;
  const betaInact = opts.betaInactive ?? (mode === 'paper' ? 0.4 : 0.8);
  if (!Number.isFinite(betaAct) || !Number.isFinite(betaInact)) throw new RangeError(`aunce: betas must be finite, got ${betaAct} and ${betaInact}`);

  let omega: number[];
  if (opts.auWeight) {
    if (opts.auWeight.length !== K) throw new RangeError(`aunce: auWeight has shape [${opts.auWeight.length}], labels have shape ${fmt(lshape)} (expected [${K}])`);
    omega = opts.auWeight.map((w, k) => {
      if (!Number.isFinite(w)) throw new RangeError(`aunce: auWeight[${k}] is ${w}; must be finite`);
      return w;
    });
  } else omega = new Array<number>(K).fill(1);
  const red = opts.reduction ?? 'mean';
  if (red !== 'mean' && red !== 'sum') throw new Error(`aunce: unknown reduction '${String(red)}' (mean | sum)`);

  const paperOnly: [keyof AunceOptions, boolean][] = [
    ['negWeighting', (opts.negWeighting ?? 'R1') !== 'R1'],
    ['betaSwap', !!opts.betaSwap],
    ['betaBy', (opts.betaBy ?? 'label') !== 'label'],
    ['excludePartnerFromPool', !!opts.excludePartnerFromPool],
    ['centroidRenormalise', !!opts.centroidRenormalise],
  ];
  if (mode === 'official') {
    for (const [name, set] of paperOnly) if (set) throw new Error(`aunce: option ${name} exists only in paper mode (the official code has no such switch, spec §4)`);
  }
  if (opts.negWeighting !== undefined && opts.negWeighting !== 'R1' && opts.negWeighting !== 'R2') {
    throw new Error(`aunce: unknown negWeighting '${String(opts.negWeighting)}' (R1 | R2)`);
  }

  // positive types: [K] or [N][K]
  const allowed: readonly PositiveType[] = mode === 'paper' ? ['max', 'aug', 'centroid', 'min'] : ['max', 'mean', 'aug'];
  const pos = opts.positive;
  const check = (t: unknown, where: string): PositiveType => {
    if (!allowed.includes(t as PositiveType)) {
      throw new Error(`aunce: positive type '${String(t)}' at ${where} is not available in ${mode} mode (${allowed.join(' | ')})`);
    }
    return t as PositiveType;
  };
  let posType: (a: number, k: number) => PositiveType;
  if (pos.length === K && pos.every((p) => typeof p === 'string')) {
    const t = (pos as readonly PositiveType[]).map((p, k) => check(p, `AU ${k}`));
    posType = (_a, k) => t[k]!;
  } else if (pos.length === N && pos.every((p) => Array.isArray(p))) {
    const t = (pos as readonly (readonly PositiveType[])[]).map((row, a) => {
      if (row.length !== K) throw new RangeError(`aunce: positive row ${a} has ${row.length} entries, expected K = ${K}`);
      return row.map((p, k) => check(p, `anchor ${a}, AU ${k}`));
    });
    posType = (a, k) => t[a]![k]!;
  } else {
    throw new RangeError(`aunce: positive must be [K] = [${K}] types or [N, K] = [${N}, ${K}]; got ${pos.length} entries`);
  }

  const y = (a: number, k: number): number => labels[a % B]![k]!;
  // β per anchor (spec §3.4 for paper, §4.2 #20 for official)
  let activeGetsAct: (k: number) => boolean = () => true;
  if (mode === 'paper' && opts.betaBy === 'frequency') {
    const rate = opts.auRate;
    if (!rate || rate.length !== K) throw new RangeError(`aunce: betaBy 'frequency' needs auRate of shape [${K}], got ${rate ? `[${rate.length}]` : 'none'}`);
    // β_act goes to the class whose training rate is < 0.5; at exactly 0.5 keep the label rule.
    activeGetsAct = (k) => !(rate[k]! > 0.5);
  }
  const swap = mode === 'paper' && !!opts.betaSwap;
  const beta = (a: number, k: number): number => {
    const getsAct = (y(a, k) === 1) === activeGetsAct(k);
    return getsAct !== swap ? betaAct : betaInact;
  };

  return {
    B,
    N,
    K,
    D,
    tau,
    betaAct,
    betaInact,
    omega,
    kScale: red === 'mean' ? 1 / K : 1,
    r2: mode === 'paper' && opts.negWeighting === 'R2',
    renorm: mode === 'paper' && !!opts.centroidRenormalise,
    excludePartner: mode === 'paper' && !!opts.excludePartnerFromPool,
    posType,
    y,
    beta,
  };
}

/** log Σ exp(x_i) over the given values; −∞ for an empty list (spec §5.7). */
function lse(xs: readonly number[]): number {
  if (xs.length === 0) return -Infinity;
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** softplus(x) = log(1 + e^x), stable: max(x,0) + log1p(exp(−|x|)) (spec §5.7). */
const softplus = (x: number): number => (x === -Infinity ? 0 : Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
/** sigmoid(x), stable; sigmoid(−∞) = 0. */
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

interface AnchorState {
  logP: number;
  logQ: number;
  logD: number;
  ell: number;
  q: number;
  arg: number;
  /** positive-gradient distribution W_{a,·} (spec §5.1 table) as (index, weight) pairs */
  W: [number, number][];
  neg: number[];
  pool: number[];
  /** renormalised centroid: μ_a, r_a = ‖μ_a‖, c⁺ */
  mu?: Float64Array;
  r?: number;
  cPlus?: number;
}

/** One AU: the Gram matrix and every anchor's positive, negatives and loss terms. */
function auForward(z: NDArray, R: Resolved, k: number, mode: AunceMode): { C: Float64Array; anchors: AnchorState[] } {
  const { N, K, D, B, tau } = R;
  const row = (a: number): number => (a * K + k) * D;
  const C = new Float64Array(N * N);
  for (let a = 0; a < N; a++) {
    for (let b = a; b < N; b++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += z.data[row(a) + d]! * z.data[row(b) + d]!;
      C[a * N + b] = s;
      C[b * N + a] = s;
    }
  }
  const anchors: AnchorState[] = [];
  for (let a = 0; a < N; a++) {
    const ya = R.y(a, k);
    const partner = a < B ? a + B : a - B;
    const beta = R.beta(a, k);
    const neg: number[] = [];
    const same: number[] = []; // Same(a), includes a (spec §1)
    for (let b = 0; b < N; b++) (R.y(b, k) === ya ? same : neg).push(b);

    // negatives: R1 logQ = LSE_b β c_ab/τ (spec §3.3 / §5.7); R2 logQ = log n + LSE((1+β)c/τ) − LSE(βc/τ) (spec §5.5)
    let logQ: number;
    if (R.r2 && neg.length > 0) {
      logQ = Math.log(neg.length) + lse(neg.map((b) => ((1 + beta) * C[a * N + b]!) / tau)) - lse(neg.map((b) => (beta * C[a * N + b]!) / tau));
    } else logQ = lse(neg.map((b) => (beta * C[a * N + b]!) / tau));

    // positive (spec §3.5 for paper, §4.2 rows 10–17 for official)
    const type = R.posType(a, k);
    let pool: number[];
    if (mode === 'official') pool = same;
    else {
      pool = same.filter((b) => b !== a); // Pos(a) = Same(a) \ {a}; always contains π(a)
      if (R.excludePartner) {
        const p2 = pool.filter((b) => b !== partner);
        pool = p2.length > 0 ? p2 : [partner];
      }
    }
    let logP: number;
    let arg = -1;
    let W: [number, number][];
    const st: Partial<AnchorState> = {};
    switch (type) {
      case 'max':
      case 'min': {
        // largest (smallest) value, lowest index on ties (spec §4.5)
        arg = pool[0]!;
        for (const b of pool) {
          const c = C[a * N + b]!;
          if (type === 'max' ? c > C[a * N + arg]! : c < C[a * N + arg]!) arg = b;
        }
        logP = C[a * N + arg]! / tau;
        W = [[arg, 1]];
        break;
      }
      case 'aug':
        arg = partner;
        logP = C[a * N + partner]! / tau;
        W = [[partner, 1]];
        break;
      case 'mean': {
        // official: log((1/N) Σ_{Same(a)} s_ab) = LSE(c/τ) − log N, W = softmax over Same(a) (spec §5.1, §5.7)
        const xs = pool.map((b) => C[a * N + b]! / tau);
        const l = lse(xs);
        logP = l - Math.log(N);
        W = pool.map((b, i) => [b, Math.exp(xs[i]! - l)]);
        break;
      }
      case 'centroid': {
        const M = pool.length;
        if (!R.renorm) {
          // c⁺ = <z_a, mean_{Pos} z_b> = mean_{Pos} c_ab, W uniform (spec §3.5, §5.1)
          let s = 0;
          for (const b of pool) s += C[a * N + b]!;
          logP = s / M / tau;
          W = pool.map((b) => [b, 1 / M]);
        } else {
          const mu = new Float64Array(D);
          for (const b of pool) for (let d = 0; d < D; d++) mu[d]! += z.data[row(b) + d]! / M;
          let r2 = 0;
          let dot = 0;
          for (let d = 0; d < D; d++) {
            r2 += mu[d]! ** 2;
            dot += z.data[row(a) + d]! * mu[d]!;
          }
          const r = Math.sqrt(r2);
          if (!(r > 0)) throw new RangeError(`aunce: the centroid of anchor ${a}, AU ${k} has zero norm and cannot be re-normalised`);
          st.mu = mu;
          st.r = r;
          st.cPlus = dot / r;
          logP = st.cPlus / tau;
          W = []; // handled outside G (spec §5.5)
        }
        break;
      }
    }
    const delta = logQ - logP;
    const ell = softplus(delta);
    anchors.push({ logP, logQ, logD: logP + ell, ell, q: sigmoid(delta), arg, W, neg, pool, ...st });
  }
  return { C, anchors };
}

function run(z: NDArray, labels: readonly (readonly number[])[], opts: AunceOptions, withGrad: boolean, gOut: number): AunceBackward {
  const R = resolve(z, labels, opts);
  const { N, K, D, tau } = R;
  const perAnchor = nd([N, K]);
  const logP = nd([N, K]);
  const logQ = nd([N, K]);
  const logD = nd([N, K]);
  const argIdx = new Int32Array(N * K);
  const perAU: number[] = [];
  const grad = nd([N, K, D]);
  const G = nd(withGrad ? [K, N, N] : [K, 0, 0]);
  let loss = 0;
  for (let k = 0; k < K; k++) {
    const { C, anchors } = auForward(z, R, k, opts.mode);
    let sum = 0;
    anchors.forEach((s, a) => {
      perAnchor.data[a * K + k] = s.ell;
      logP.data[a * K + k] = s.logP;
      logQ.data[a * K + k] = s.logQ;
      logD.data[a * K + k] = s.logD;
      argIdx[a * K + k] = s.arg;
      sum += s.ell;
    });
    perAU.push(sum / N);
    // spec §3.7 / §4.2: L = (1/K) Σ_k ω_k (1/N) Σ_a ℓ_{a,k}
    loss += R.kScale * R.omega[k]! * (sum / N);
    if (!withGrad) continue;

    // G_ab = g_a [ (β_a/τ) e^{β_a c_ab/τ − log D_a} 1[b∈Neg] − (q_a/τ) W_ab ]   (spec §5.1 box)
    const Gk = G.data.subarray(k * N * N, (k + 1) * N * N);
    const row = (a: number): number => (a * K + k) * D;
    anchors.forEach((s, a) => {
      const g = (gOut * R.omega[k]! * R.kScale) / N;
      const beta = R.beta(a, k);
      if (s.neg.length > 0) {
        if (!R.r2) {
          for (const b of s.neg) Gk[a * N + b]! += ((g * beta) / tau) * Math.exp((beta * C[a * N + b]!) / tau - s.logD);
        } else {
          // R2 (spec §5.5): G_ab = g (q/τ) [(1+β) softmax_b((1+β)c/τ) − β softmax_b(βc/τ)]
          const x1 = s.neg.map((b) => ((1 + beta) * C[a * N + b]!) / tau);
          const x0 = s.neg.map((b) => (beta * C[a * N + b]!) / tau);
          const l1 = lse(x1);
          const l0 = lse(x0);
          s.neg.forEach((b, i) => {
            Gk[a * N + b]! += ((g * s.q) / tau) * ((1 + beta) * Math.exp(x1[i]! - l1) - beta * Math.exp(x0[i]! - l0));
          });
        }
      }
      for (const [b, w] of s.W) Gk[a * N + b]! -= ((g * s.q) / tau) * w;
      if (s.mu && s.r !== undefined && s.cPlus !== undefined) {
        // re-normalised centroid (spec §5.5): h = −g q/τ; dz_a += h μ̂; dz_b += (h/M)(z_a − c⁺ μ̂)/r, b ∈ Pos(a)
        const h = (-g * s.q) / tau;
        const M = s.pool.length;
        for (let d = 0; d < D; d++) {
          const muHat = s.mu[d]! / s.r;
          grad.data[row(a) + d]! += h * muHat;
          const t = ((h / M) * (z.data[row(a) + d]! - s.cPlus * muHat)) / s.r;
          for (const b of s.pool) grad.data[row(b) + d]! += t;
        }
      }
    });
    // dL/dZ_k = (G + Gᵀ) Z_k   (spec §5.1)
    for (let a = 0; a < N; a++) {
      for (let b = 0; b < N; b++) {
        const m = Gk[a * N + b]! + Gk[b * N + a]!;
        if (m === 0) continue;
        for (let d = 0; d < D; d++) grad.data[row(a) + d]! += m * z.data[row(b) + d]!;
      }
    }
  }
  return { loss, perAU, perAnchor, logP, logQ, logD, argIdx, grad, G };
}

/** The AUNCE loss (spec §3.8 paper, §4.2 official) on features z [2B, K, D] and labels [B][K]. */
export function aunceLossRef(z: NDArray, labels: readonly (readonly number[])[], opts: AunceOptions): AunceForward {
  const { grad: _g, G: _G, ...fwd } = run(z, labels, opts, false, 1);
  return fwd;
}

/** The loss and its analytic gradient dL/dz [2B, K, D] (spec §5.1–§5.5), scaled by the upstream gradient gOut. */
export function aunceGradRef(z: NDArray, labels: readonly (readonly number[])[], opts: AunceOptions, gOut = 1): AunceBackward {
  return run(z, labels, opts, true, gOut);
}
