/**
 * Where one anchor's AUNCE gradient goes: for anchor a and AU k, its positive, the Boltzmann weight
 * of each negative (spec §5.4, Eqs 5-7), and the share of ∂ℓ_a/∂C_{a,·} that each sample receives
 * (spec §5.1 box). A pure function of what the forward pass saved (spec §5.8) and row a of C_k, so it
 * explains the GPU kernels' numbers and the float64 reference's alike; plus a text formatter.
 *
 * Per anchor (spec §5.1), with q_a = Q_a/D_a = exp(logQ − logD):
 *   negatives, R1:  ∂ℓ_a/∂c_ab = (β/τ)·P_ab,  P_ab = e^{β c_ab/τ − log D_a}  (Eq 6; Σ_b P_ab = q_a)
 *   negatives, R2:  ∂ℓ_a/∂c_ab = (q_a/τ)[(1+β) softmax_b((1+β)c/τ) − β softmax_b(βc/τ)]  (spec §5.5)
 *   positives:      ∂ℓ_a/∂c_ab = −(q_a/τ)·W_ab,  W from the positive type (spec §5.1 table)
 * The Eq (7) ratio of a negative is its gradient over the positive's: r = β e^{βc/τ − log Q} for R1
 * (Σ_b r = β), signed (1+β)softmax − β softmax for R2 (Σ_b r = 1).
 */
import type { AunceOptions, PositiveType } from '../ref/aunce.js';

export interface ExplainInput {
  /** row `anchor` of C_k: c_ab = <z_a, z_b> for b = 0..2B−1 */
  cRow: ArrayLike<number>;
  /** labels y_{i,k} of this AU for the B images (shared by both views) */
  labels: ArrayLike<number>;
  /** a in 0..2B−1: view 1 for a < B, view 2 otherwise */
  anchor: number;
  au: number;
  /** the number of AUs K, for the 1/K of the `mean` reduction in g_a */
  K: number;
  opts: AunceOptions;
  /** what the forward pass saved for (a, k) (spec §5.8); argIdx −1 for mean/centroid */
  saved: { logP: number; logQ: number; logD: number; argIdx: number };
}

export interface ExplainSample {
  b: number;
  view: 1 | 2;
  image: number;
}

export interface ExplainRow {
  role: 'positive' | 'negative';
  /** the sample b; null for the re-normalised centroid, which is no single c_ab (spec §5.5) */
  sample: ExplainSample | null;
  label: number;
  /** c_ab (c⁺ for the re-normalised centroid) */
  c: number;
  /** positives: W_ab (spec §5.1 table, Σ = 1); negatives: the Boltzmann weight P_ab (Σ = q_a) */
  weight: number;
  /** negatives: the Eq (7) ratio ∂ℓ_a/∂c_ab ÷ |∂ℓ_a/∂c⁺|; null for positives */
  ratio: number | null;
  /** ∂ℓ_a/∂c_ab; ∂L/∂c_ab = g·grad */
  grad: number;
  /** |grad| / Σ_b' |grad_b'| over all rows (0 when the anchor has no negatives) */
  share: number;
}

export interface Explanation {
  mode: AunceOptions['mode'];
  negWeighting: 'R1' | 'R2';
  tau: number;
  /** 2B samples per AU */
  N: number;
  anchor: ExplainSample;
  au: number;
  label: number;
  beta: number;
  betaFrom: 'betaActive' | 'betaInactive';
  reduction: 'mean' | 'sum';
  positive: {
    type: PositiveType;
    renormalised: boolean;
    /** the pool the positive is taken from (paper: Pos(a) = Same(a) without a; official: Same(a)) */
    pool: number[];
    /** the samples with W_ab > 0 */
    members: ExplainSample[];
    /** c⁺ = τ·log P for one-hot and centroid types; null for official mean (log P = LSE − log N) */
    cPlus: number | null;
    logP: number;
  };
  nNeg: number;
  logQ: number;
  logD: number;
  q: number;
  /** ℓ_a = log D − log P */
  ell: number;
  /** g = ∂L/∂ℓ_a = ω_k/(K·N) (mean) or ω_k/N (sum) */
  g: number;
  rows: ExplainRow[];
  negShare: number;
  posShare: number;
  /** Σ_b r_ab: β for R1, 1 for R2 */
  ratioSum: number;
  /** perplexity exp(H) of the negatives' weights P_ab/q_a: how many negatives effectively share the gradient */
  perplexity: number;
}

const sampleOf = (b: number, B: number): ExplainSample => ({ b, view: b < B ? 1 : 2, image: b % B });

function lse(xs: readonly number[]): number {
  if (xs.length === 0) return -Infinity;
  const m = Math.max(...xs);
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** β of an anchor with label y for AU k, and which option gave it (spec §3.4 paper, §4.2 official; defaults as src/ref/aunce.ts). */
export function anchorBeta(opts: AunceOptions, y: number, k: number): { beta: number; from: 'betaActive' | 'betaInactive' } {
  const act = opts.betaActive ?? 1.2;
  const inact = opts.betaInactive ?? (opts.mode === 'paper' ? 0.4 : 0.8);
  const paper = opts.mode === 'paper';
  // by frequency, β_active goes to the class whose training rate is below 0.5
  let activeGetsAct = true;
  if (paper && opts.betaBy === 'frequency') {
    const rate = opts.auRate?.[k];
    if (rate === undefined) throw new RangeError(`explain: betaBy 'frequency' needs auRate for AU ${k}`);
    activeGetsAct = !(rate > 0.5);
  }
  const swap = paper && !!opts.betaSwap;
  return (y === 1) === activeGetsAct !== swap ? { beta: act, from: 'betaActive' } : { beta: inact, from: 'betaInactive' };
}

/** The positive type of anchor a for AU k ([K] or [N][K] form of opts.positive). */
function positiveType(opts: AunceOptions, a: number, k: number): PositiveType {
  const p = opts.positive;
  return (Array.isArray(p[0]) ? (p as readonly (readonly PositiveType[])[])[a]![k] : (p as readonly PositiveType[])[k])!;
}

export function explainAnchor(inp: ExplainInput): Explanation {
  const { cRow, labels, anchor: a, au: k, opts, saved } = inp;
  const B = labels.length;
  const N = 2 * B;
  if (cRow.length !== N) throw new RangeError(`explain: the C row has ${cRow.length} entries, expected 2B = ${N}`);
  if (!(a >= 0 && a < N && Number.isInteger(a))) throw new RangeError(`explain: anchor ${a} is out of range 0..${N - 1}`);
  const tau = opts.tau ?? 0.5;
  const r2 = opts.mode === 'paper' && opts.negWeighting === 'R2';
  const y = (b: number): number => labels[b % B]!;
  const ya = y(a);
  const { beta, from: betaFrom } = anchorBeta(opts, ya, k);
  const partner = a < B ? a + B : a - B;
  const same: number[] = [];
  const neg: number[] = [];
  for (let b = 0; b < N; b++) (y(b) === ya ? same : neg).push(b);

  let pool = same;
  if (opts.mode === 'paper') {
    pool = same.filter((b) => b !== a);
    if (opts.excludePartnerFromPool) {
      const p2 = pool.filter((b) => b !== partner);
      pool = p2.length > 0 ? p2 : [partner];
    }
  }
  const { logP, logQ, logD } = saved;
  const q = logQ === -Infinity ? 0 : Math.exp(logQ - logD);
  const type = positiveType(opts, a, k);
  const renorm = type === 'centroid' && opts.mode === 'paper' && !!opts.centroidRenormalise;

  // W_{a,·}: the positive-gradient distribution (spec §5.1 table)
  let W: [number, number][];
  if (type === 'max' || type === 'min' || type === 'aug') {
    let arg = saved.argIdx;
    if (arg < 0) {
      // not saved: the same rule as the kernels (lowest index on ties, spec §4.5)
      arg = type === 'aug' ? partner : pool[0]!;
      for (const b of type === 'aug' ? [] : pool) if (type === 'max' ? cRow[b]! > cRow[arg]! : cRow[b]! < cRow[arg]!) arg = b;
    }
    W = [[arg, 1]];
  } else if (type === 'mean') {
    const l = lse(pool.map((b) => cRow[b]! / tau));
    W = pool.map((b) => [b, Math.exp(cRow[b]! / tau - l)]);
  } else W = renorm ? [] : pool.map((b) => [b, 1 / pool.length]);

  const rows: ExplainRow[] = W.map(([b, w]) => ({ role: 'positive', sample: sampleOf(b, B), label: ya, c: cRow[b]!, weight: w, ratio: null, grad: (-q / tau) * w, share: 0 }));
  if (renorm) rows.push({ role: 'positive', sample: null, label: ya, c: tau * logP, weight: 1, ratio: null, grad: -q / tau, share: 0 });

  if (neg.length > 0) {
    const x0 = neg.map((b) => (beta * cRow[b]!) / tau);
    const x1 = neg.map((b) => ((1 + beta) * cRow[b]!) / tau);
    const l0 = lse(x0);
    const l1 = r2 ? lse(x1) : 0;
    neg.forEach((b, i) => {
      let weight: number;
      let ratio: number;
      if (!r2) {
        weight = Math.exp(x0[i]! - logD);
        ratio = beta * Math.exp(x0[i]! - logQ);
      } else {
        // Q = n·S1/S0: the term of negative b is n e^{(1+β)c/τ}/S0 (HCL importance weight)
        weight = Math.exp(Math.log(neg.length) + x1[i]! - l0 - logD);
        ratio = (1 + beta) * Math.exp(x1[i]! - l1) - beta * Math.exp(x0[i]! - l0);
      }
      const grad = r2 ? (q / tau) * ratio : (beta / tau) * weight;
      rows.push({ role: 'negative', sample: sampleOf(b, B), label: y(b), c: cRow[b]!, weight, ratio, grad, share: 0 });
    });
  }
  const total = rows.reduce((s, r) => s + Math.abs(r.grad), 0);
  for (const r of rows) r.share = total > 0 ? Math.abs(r.grad) / total : 0;
  const negRows = rows.filter((r) => r.role === 'negative');
  const negShare = negRows.reduce((s, r) => s + r.share, 0);
  const entropy = negRows.reduce((h, r) => (r.weight > 0 && q > 0 ? h - (r.weight / q) * Math.log(r.weight / q) : h), 0);

  const omega = opts.auWeight ? opts.auWeight[k]! : 1;
  const g = (omega * (opts.reduction === 'sum' ? 1 : 1 / inp.K)) / N;
  return {
    mode: opts.mode,
    negWeighting: r2 ? 'R2' : 'R1',
    tau,
    N,
    anchor: sampleOf(a, B),
    au: k,
    label: ya,
    beta,
    betaFrom,
    reduction: opts.reduction ?? 'mean',
    positive: {
      type,
      renormalised: renorm,
      pool,
      members: W.filter(([, w]) => w > 0).map(([b]) => sampleOf(b, B)),
      cPlus: type === 'mean' ? null : tau * logP,
      logP,
    },
    nNeg: neg.length,
    logQ,
    logD,
    q,
    ell: logD - logP,
    g,
    rows,
    negShare,
    posShare: total > 0 ? 1 - negShare : 0,
    ratioSum: negRows.reduce((s, r) => s + r.ratio!, 0),
    perplexity: negRows.length ? Math.exp(entropy) : 0,
  };
}

const f4 = (x: number): string => (x === -Infinity ? '-inf' : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4));
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const who = (s: ExplainSample): string => `b = ${s.b} (view ${s.view}, image ${s.image})`;

const POOL_TEXT = {
  paper: 'Pos(a) = same-label samples without the anchor',
  official: 'Same(a) = same-label samples, the anchor included',
};
const TYPE_TEXT: Record<PositiveType, string> = {
  max: 'max: the most similar sample of',
  min: 'min: the least similar sample of',
  aug: 'aug: the other view of the same image',
  centroid: 'centroid: the mean of',
  mean: 'mean: log((1/2B) Σ_{b∈Same(a)} e^{c_ab/τ}) over',
};

/** The explanation as a readable table (`maxNegatives` limits the negative rows shown, hardest first). */
export function formatExplanation(ex: Explanation, maxNegatives = Infinity): string {
  const L: string[] = [];
  const { anchor: A, positive: P, beta, tau } = ex;
  L.push(`AUNCE, anchor a = ${A.b} (view ${A.view}, image ${A.image}), AU k = ${ex.au} [${ex.mode} mode, ${ex.negWeighting} negatives, τ = ${tau}]`);
  L.push(`  label y = ${ex.label}, β = ${beta} (${ex.betaFrom})`);
  const poolText = `${POOL_TEXT[ex.mode]}, ${P.pool.length} sample${P.pool.length === 1 ? '' : 's'}`;
  const typeText = P.type === 'aug' ? TYPE_TEXT.aug : `${TYPE_TEXT[P.type]} ${poolText}`;
  L.push(`  positive: ${typeText}${P.renormalised ? ', re-normalised to unit length (spec §5.5)' : ''}`);
  if (P.type === 'max' || P.type === 'min' || P.type === 'aug') {
    const s = P.members[0]!;
    L.push(`            → ${who(s)}${s.b === A.b ? ', the anchor itself (c_aa = ‖z_a‖²)' : ''}; c⁺ = ${f4(P.cPlus!)}, log P = c⁺/τ = ${f4(P.logP)}`);
  } else if (P.type === 'centroid') L.push(`            c⁺ = ${f4(P.cPlus!)}, log P = c⁺/τ = ${f4(P.logP)}`);
  else L.push(`            log P = LSE_{b∈Same(a)}(c_ab/τ) − log 2B = ${f4(P.logP)}; its gradient is spread by W_ab = softmax(c_ab/τ)`);
  if (ex.nNeg === 0) {
    L.push(`  negatives: none: all 2B = ${ex.N} samples have label ${ex.label} for AU ${ex.au}.`);
    L.push(`  This anchor has no negatives: Q = 0, ℓ_a = 0 and it sends no gradient (counted as zero, spec §3.8).`);
    return L.join('\n');
  }
  const qForm = ex.negWeighting === 'R1' ? 'LSE_b(β c_ab/τ)' : 'log n + LSE_b((1+β)c_ab/τ) − LSE_b(β c_ab/τ)';
  L.push(`  negatives: ${ex.nNeg} samples with y = ${1 - ex.label}; log Q = ${qForm} = ${f4(ex.logQ)}; log D = logaddexp(log P, log Q) = ${f4(ex.logD)}`);
  L.push('');
  const head = ['role', 'b', 'view', 'image', 'y', 'c_ab', 'W_ab | P_ab', 'r (Eq 7)', '∂ℓ_a/∂c_ab', 'share'];
  const table: string[][] = [head];
  const row = (r: ExplainRow): string[] => [
    r.role,
    r.sample ? String(r.sample.b) : 'μ̂',
    r.sample ? String(r.sample.view) : '-',
    r.sample ? String(r.sample.image) : '-',
    String(r.label),
    f4(r.c),
    f4(r.weight),
    r.ratio === null ? '-' : f4(r.ratio),
    f4(r.grad),
    pct(r.share),
  ];
  for (const r of ex.rows) if (r.role === 'positive') table.push(row(r));
  const negs = ex.rows.filter((r) => r.role === 'negative').sort((x, y) => y.c - x.c || x.sample!.b - y.sample!.b);
  const shown = negs.slice(0, maxNegatives);
  for (const r of shown) table.push(row(r));
  const widths = head.map((_, i) => Math.max(...table.map((t) => [...t[i]!].length)));
  for (const t of table) L.push(`  ${t.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`);
  if (shown.length < negs.length) {
    const rest = negs.slice(shown.length);
    L.push(`  … ${rest.length} more negatives (the least similar), ${pct(rest.reduce((s, r) => s + r.share, 0))} of the gradient together`);
  }
  L.push('');
  L.push(`  negatives are sorted hardest first (largest c_ab). W_ab: positive weight (spec §5.1); P_ab = ${ex.negWeighting === 'R1' ? 'e^{β c_ab/τ − log D}' : 'n e^{(1+β)c_ab/τ}/S₀ ÷ D'} (Eqs 5-6); share = |∂ℓ_a/∂c_ab| / Σ_b' |∂ℓ_a/∂c_ab'|.`);
  L.push(`  summary: the negatives receive ${pct(ex.negShare)} of the anchor's gradient, the positive ${pct(ex.posShare)}.`);
  if (ex.negWeighting === 'R1') {
    L.push(`           For R1 these are β/(1+β) = ${pct(beta / (1 + beta))} and 1/(1+β) = ${pct(1 / (1 + beta))} for every anchor with negatives, whatever the features:`);
    L.push(`           β ${beta > 1 ? '> 1 pushes the negatives harder than it pulls the positive' : beta < 1 ? '< 1 pulls the positive harder than it pushes the negatives' : '= 1 balances the two'}.`);
  } else L.push(`           For R2 the negatives' signed gradients sum to the positive's (Σ r = 1); negatives easier than average are pulled (r < 0).`);
  const eq7 = ex.negWeighting === 'R1' ? ` = β (Eq 7: β times a Boltzmann distribution at effective temperature τ/β = ${f4(tau / beta)})` : ' (R2: (1+β)·softmax((1+β)c/τ) − β·softmax(βc/τ))';
  L.push(`           Σ_b P_ab = q_a = Q/D = ${f4(ex.q)}; Σ_b r_ab = ${f4(ex.ratioSum)}${eq7}`);
  L.push(`           perplexity of the negatives' weights: ${ex.perplexity.toFixed(2)} of ${ex.nNeg} (lower = more concentrated on hard negatives)`);
  L.push(`           ℓ_a = log D − log P = softplus(log Q − log P) = ${f4(ex.ell)}; ∂L/∂c_ab = g·∂ℓ_a/∂c_ab with g = ${ex.reduction === 'mean' ? 'ω_k/(K·2B)' : 'ω_k/2B'} = ${f4(ex.g)}`);
  return L.join('\n');
}
