/**
 * The AUNCE loss (../shared/AUNCE_SPEC.md §3 paper, §4 official) composed from autograd
 * primitives only: no kernel of its own. It is the cross-check of the fused op (src/ops/aunce.ts)
 * and the "unfused" row of the benchmarks. Every AU is handled at once, batched over a leading K:
 *
 *   Zt   = permute(Z, [1, 0, 2])                         [K, N, D]
 *   C    = Zt @ permute(Z, [1, 2, 0])                    [K, N, N]  one batched matmul; its
 *                                                                   backward is dZ = (G + Gᵀ) Z
 *   logP = the positive's log-score, [K, N, 1], a sum of the terms of the types present:
 *          max / min / aug   ±max over a masked pool of ±C/τ (aug: the pool is {π(a)})
 *          centroid          row sums of C ⊙ W, W = 1/(M τ) on Pos(a)           (spec §3.5)
 *          renormalised      <z_a, μ_a> / ‖μ_a‖ / τ, μ_a = Σ_b W_ab z_b, W = 1/M on Pos(a),
 *                            from C: <z_a, μ_a> = (C ⊙ W) 1 and ‖μ_a‖² = ((W C) ⊙ W) 1     (spec §5.5)
 *          official mean     LSE over Same(a) of C/τ, minus log N               (spec §5.7)
 *   R1   X = (β/τ) ⊙ C + mask: one column per negative                          (spec §3.3)
 *   R2   logQ = log n + LSE((1+β)/τ C + mask) − LSE(β/τ C + mask)              (spec §5.5)
 *   ℓ    = −logSoftmax([logP, X or logQ])[0] = log(1 + Q/P)                    [K, N, 1]
 *   perAU = mean_a ℓ;   L = Σ_k s_k perAU_k with s_k = ω_k/K ('mean') or ω_k ('sum')
 *
 * Masks are additive: 0 where an entry takes part, −1e30 where it does not (finite, so that a
 * product with a 0 selector never makes a NaN, and an anchor without negatives gets ℓ = 0 with a
 * zero gradient). Each type's term is zero on anchors of other types: its selector constants are
 * 0 there. LSE subtracts the detached row maximum (exact: LSE(x) = m + LSE(x − m) for any m).
 * max routes the gradient to the first index of a tie, as the reference does (spec §4.5).
 * Constants (masks, per-anchor β, selectors) are built on the CPU from the labels and options and
 * uploaded before the first dispatch (an upload flushes the work recorded so far).
 * Not checked here, as that would need a read-back: finite features, and a re-normalised centroid
 * of zero norm (the reference throws for both; here they give NaN or ±inf). On anchors of other
 * types ‖μ_a‖² gets a guard of 1 added, so that its sqrt never sees 0.
 */
import type { AunceMode, AunceOptions, PositiveType } from '../ref/aunce.js';
import { add, div, mul, sub } from '../ops/binary.js';
import { concat } from '../ops/concat.js';
import { matmul } from '../ops/matmul.js';
import { permute } from '../ops/permute.js';
import { max, mean, sum } from '../ops/reduce.js';
import { reshape } from '../ops/reshape.js';
import { sliceAxis } from '../ops/slice.js';
import { logSoftmax } from '../ops/softmax.js';
import { checkInputs } from '../ops/support.js';
import { exp, log, neg, sqrt } from '../ops/unary.js';
import { shapeStr } from '../tensor/shape.js';
import { noGrad } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Device } from '../runtime/device.js';
import '../ops/index.js';

const OP = 'aunceLossUnfused';
/** the additive mask of an entry that takes no part (finite: see the header) */
const BIG = 1e30;

export interface AunceUnfusedResult {
  /** the scalar loss L, rank 0, on the tape */
  loss: Tensor;
  /** [K]: per AU, the unweighted mean of ℓ over the N anchors */
  perAU: Tensor;
}

interface Plan {
  mode: AunceMode;
  B: number;
  N: number;
  K: number;
  D: number;
  tau: number;
  r2: boolean;
  renorm: boolean;
  excludePartner: boolean;
  y: (a: number, k: number) => number;
  type: (a: number, k: number) => PositiveType;
  beta: (a: number, k: number) => number;
  /** ω_k times 1/K ('mean') or 1 ('sum') */
  wScale: number[];
}

/** Validates everything before any upload or dispatch, with the reference's rules and messages. */
function resolve(z: Tensor, labels: readonly (readonly number[])[], opts: AunceOptions): Plan {
  checkInputs(OP, [z]);
  const mode = opts.mode;
  if (mode !== 'paper' && mode !== 'official') throw new Error(`${OP}: unknown mode '${String(mode)}' (paper | official)`);
  const B = labels.length;
  const K = B > 0 ? labels[0]!.length : 0;
  const ls = shapeStr([B, K]);
  if (z.rank !== 3) throw new RangeError(`${OP}: features must be [2B, K, D]; got shape ${shapeStr(z.shape)} with labels of shape ${ls}`);
  const [N, Kz, D] = z.shape as [number, number, number];
  if (B < 1 || K < 1) throw new RangeError(`${OP}: labels must be [B, K] with B, K >= 1; got shape ${ls} with features of shape ${shapeStr(z.shape)}`);
  if (N !== 2 * B || Kz !== K || D < 1) {
    throw new RangeError(`${OP}: features of shape ${shapeStr(z.shape)} do not match labels of shape ${ls} (expected [${2 * B}, ${K}, D >= 1])`);
  }
  labels.forEach((row, b) => {
    if (row.length !== K) throw new RangeError(`${OP}: labels row ${b} has ${row.length} entries, expected K = ${K} (labels shape ${ls})`);
    row.forEach((v, k) => {
      if (v !== 0 && v !== 1) throw new RangeError(`${OP}: label at row ${b}, AU ${k} is ${String(v)}; labels must be 0 or 1`);
    });
  });
  const tau = opts.tau ?? 0.5;
  if (!(tau > 0) || !Number.isFinite(tau)) throw new RangeError(`${OP}: tau must be a positive finite number, got ${tau}`);
  const betaAct = opts.betaActive ?? 1.2;
  const betaInact = opts.betaInactive ?? (mode === 'paper' ? 0.4 : 0.8);
  if (!Number.isFinite(betaAct) || !Number.isFinite(betaInact)) throw new RangeError(`${OP}: betas must be finite, got ${betaAct} and ${betaInact}`);
  const omega = opts.auWeight ?? new Array<number>(K).fill(1);
  if (omega.length !== K) throw new RangeError(`${OP}: auWeight has shape [${omega.length}], labels have shape ${ls} (expected [${K}])`);
  omega.forEach((w, k) => {
    if (!Number.isFinite(w)) throw new RangeError(`${OP}: auWeight[${k}] is ${w}; must be finite`);
  });
  const red = opts.reduction ?? 'mean';
  if (red !== 'mean' && red !== 'sum') throw new Error(`${OP}: unknown reduction '${String(red)}' (mean | sum)`);
  if (mode === 'official') {
    const paperOnly: [string, boolean][] = [
      ['negWeighting', (opts.negWeighting ?? 'R1') !== 'R1'],
      ['betaSwap', !!opts.betaSwap],
      ['betaBy', (opts.betaBy ?? 'label') !== 'label'],
      ['excludePartnerFromPool', !!opts.excludePartnerFromPool],
      ['centroidRenormalise', !!opts.centroidRenormalise],
    ];
    for (const [name, set] of paperOnly) if (set) throw new Error(`${OP}: option ${name} exists only in paper mode (the official code has no such switch, spec §4)`);
  }
  if (opts.negWeighting !== undefined && opts.negWeighting !== 'R1' && opts.negWeighting !== 'R2') {
    throw new Error(`${OP}: unknown negWeighting '${String(opts.negWeighting)}' (R1 | R2)`);
  }
  if (opts.betaBy !== undefined && opts.betaBy !== 'label' && opts.betaBy !== 'frequency') {
    throw new Error(`${OP}: unknown betaBy '${String(opts.betaBy)}' (label | frequency)`);
  }

  const allowed: readonly PositiveType[] = mode === 'paper' ? ['max', 'aug', 'centroid', 'min'] : ['max', 'mean', 'aug'];
  const check = (t: unknown, where: string): PositiveType => {
    if (!allowed.includes(t as PositiveType)) throw new Error(`${OP}: positive type '${String(t)}' at ${where} is not available in ${mode} mode (${allowed.join(' | ')})`);
    return t as PositiveType;
  };
  const pos = opts.positive;
  let type: (a: number, k: number) => PositiveType;
  if (pos.length === K && pos.every((t) => typeof t === 'string')) {
    const t = (pos as readonly PositiveType[]).map((p, k) => check(p, `AU ${k}`));
    type = (_a, k) => t[k]!;
  } else if (pos.length === N && pos.every((t) => Array.isArray(t))) {
    const t = (pos as readonly (readonly PositiveType[])[]).map((row, a) => {
      if (row.length !== K) throw new RangeError(`${OP}: positive row ${a} has ${row.length} entries, expected K = ${K}`);
      return row.map((p, k) => check(p, `anchor ${a}, AU ${k}`));
    });
    type = (a, k) => t[a]![k]!;
  } else {
    throw new RangeError(`${OP}: positive must be [K] = [${K}] types or [N, K] = [${N}, ${K}]; got ${pos.length} entries`);
  }

  const y = (a: number, k: number): number => labels[a % B]![k]!;
  // β per anchor (spec §3.4): by label, or by the AU's training rate; betaSwap flips the pair
  let activeGetsAct: (k: number) => boolean = () => true;
  if (mode === 'paper' && opts.betaBy === 'frequency') {
    const rate = opts.auRate;
    if (!rate || rate.length !== K) throw new RangeError(`${OP}: betaBy 'frequency' needs auRate of shape [${K}], got ${rate ? `[${rate.length}]` : 'none'}`);
    activeGetsAct = (k) => !(rate[k]! > 0.5);
  }
  const swap = mode === 'paper' && !!opts.betaSwap;
  const beta = (a: number, k: number): number => (((y(a, k) === 1) === activeGetsAct(k)) !== swap ? betaAct : betaInact);
  const kScale = red === 'mean' ? 1 / K : 1;
  return {
    mode,
    B,
    N,
    K,
    D,
    tau,
    r2: mode === 'paper' && opts.negWeighting === 'R2',
    renorm: mode === 'paper' && !!opts.centroidRenormalise,
    excludePartner: mode === 'paper' && !!opts.excludePartnerFromPool,
    y,
    type,
    beta,
    wScale: omega.map((w) => w * kScale),
  };
}

/** CPU data of the constants: [K, N, N] matrices and [K, N, 1] columns (index (k N + a) N + b, k N + a). */
interface HostConstants {
  negBias: Float32Array;
  s0: Float32Array;
  s1: Float32Array | null;
  cR2: Float32Array | null;
  hot: { pre: Float32Array; post: Float32Array; bias: Float32Array } | null;
  centroid: Float32Array | null;
  renorm: { w: Float32Array; sel: Float32Array; guard: Float32Array } | null;
  mean: { bias: Float32Array; sel: Float32Array; offset: Float32Array } | null;
}

function buildConstants(p: Plan): HostConstants {
  const { K, N, B, tau } = p;
  const mat = () => new Float32Array(K * N * N);
  const col = () => new Float32Array(K * N);
  const present = new Set<string>();
  for (let k = 0; k < K; k++) for (let a = 0; a < N; a++) present.add(p.type(a, k));
  const hasHot = present.has('max') || present.has('min') || present.has('aug');
  const hasCentroid = present.has('centroid');
  const c: HostConstants = {
    negBias: mat().fill(-BIG),
    s0: col(),
    s1: p.r2 ? col() : null,
    cR2: p.r2 ? col() : null,
    hot: hasHot ? { pre: col(), post: col(), bias: mat() } : null,
    centroid: hasCentroid && !p.renorm ? mat() : null,
    renorm: hasCentroid && p.renorm ? { w: mat(), sel: col(), guard: col().fill(1) } : null,
    mean: present.has('mean') ? { bias: mat(), sel: col(), offset: col() } : null,
  };
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < N; a++) {
      const i = k * N + a;
      const row = i * N;
      const ya = p.y(a, k);
      const partner = a < B ? a + B : a - B;
      const same: number[] = [];
      let nNeg = 0;
      for (let b = 0; b < N; b++) {
        if (p.y(b, k) === ya) same.push(b);
        else {
          c.negBias[row + b] = 0;
          nNeg++;
        }
      }
      const beta = p.beta(a, k);
      c.s0[i] = beta / tau;
      if (c.s1 && c.cR2) {
        c.s1[i] = (1 + beta) / tau;
        c.cR2[i] = nNeg > 0 ? Math.log(nNeg) : -BIG;
      }
      // the pool of the positive: Same(a) (official), Pos(a) = Same(a) \ {a} (paper, spec §3.5)
      let pool = p.mode === 'official' ? same : same.filter((b) => b !== a);
      if (p.excludePartner) {
        const rest = pool.filter((b) => b !== partner);
        pool = rest.length > 0 ? rest : [partner];
      }
      const t = p.type(a, k);
      if (c.hot && (t === 'max' || t === 'min' || t === 'aug')) {
        const sgn = t === 'min' ? -1 : 1;
        c.hot.pre[i] = sgn / tau;
        c.hot.post[i] = sgn;
        c.hot.bias.fill(-BIG, row, row + N);
        for (const b of t === 'aug' ? [partner] : pool) c.hot.bias[row + b] = 0;
      } else if (t === 'centroid' && c.centroid) {
        for (const b of pool) c.centroid[row + b] = 1 / (pool.length * tau);
      } else if (t === 'centroid' && c.renorm) {
        for (const b of pool) c.renorm.w[row + b] = 1 / pool.length;
        c.renorm.sel[i] = 1 / tau;
        c.renorm.guard[i] = 0;
      } else if (t === 'mean' && c.mean) {
        c.mean.bias.fill(-BIG, row, row + N);
        for (const b of same) c.mean.bias[row + b] = 0;
        c.mean.sel[i] = 1;
        c.mean.offset[i] = -Math.log(N);
      }
    }
  }
  return c;
}

/** A column constant: a number when every entry is equal (a scalar op, no upload), else a tensor. */
type Col = Tensor | number;

function colConst(device: Device, data: Float32Array, K: number, N: number): Col {
  return data.every((v) => v === data[0]) ? data[0]! : Tensor.from(device, data, [K, N, 1]);
}

/** x * c, skipping a multiplication by 1. */
const scale = (x: Tensor, c: Col): Tensor => (c === 1 ? x : mul(x, c));
/** x + c, skipping an addition of 0. */
const shift = (x: Tensor, c: Col): Tensor => (c === 0 ? x : add(x, c));

/** log Σ exp along the last axis (kept as size 1), shifted by the detached row maximum. */
function lse(x: Tensor): Tensor {
  const m = noGrad(() => {
    const r = max(x, -1, true);
    r.indices.dispose();
    return r.values;
  });
  return add(log(sum(exp(sub(x, m)), -1, true)), m);
}

/**
 * The AUNCE loss of features z [2B, K, D] (rows 0..B-1 view 1, B..2B-1 view 2) and labels [B][K]
 * in {0, 1}, with the options and defaults of the float64 reference (src/ref/aunce.ts). The loss
 * is on the tape: loss.backward() gives dL/dz. Inputs are validated before anything is dispatched.
 */
export function aunceLossUnfused(z: Tensor, labels: readonly (readonly number[])[], opts: AunceOptions): AunceUnfusedResult {
  const p = resolve(z, labels, opts);
  const h = buildConstants(p);
  const { K, N } = p;
  const device = z.device;
  // every upload before the first dispatch
  const matT = (d: Float32Array) => Tensor.from(device, d, [K, N, N]);
  const colT = (d: Float32Array) => colConst(device, d, K, N);
  const negBias = matT(h.negBias);
  const s0 = colT(h.s0);
  const r2 = h.s1 && h.cR2 ? { s1: colT(h.s1), cR2: colT(h.cR2) } : null;
  const hot = h.hot && { pre: colT(h.hot.pre), post: colT(h.hot.post), bias: matT(h.hot.bias) };
  const centroid = h.centroid && matT(h.centroid);
  const renorm = h.renorm && { w: matT(h.renorm.w), sel: colT(h.renorm.sel), guard: colT(h.renorm.guard) };
  const meanC = h.mean && { bias: matT(h.mean.bias), sel: colT(h.mean.sel), offset: colT(h.mean.offset) };
  const wScale = p.wScale.every((w) => w === p.wScale[0]) ? p.wScale[0]! : Tensor.from(device, p.wScale, [K]);

  const zt = permute(z, [1, 0, 2]); // [K, N, D]
  const gram = matmul(zt, permute(z, [1, 2, 0])); // [K, N, N]

  // the positive's log-score logP [K, N, 1]: one term per type present, zero on other anchors
  const terms: Tensor[] = [];
  if (hot) terms.push(scale(max(add(scale(gram, hot.pre), hot.bias), -1, true).values, hot.post));
  if (centroid) terms.push(sum(mul(gram, centroid), -1, true));
  if (renorm) {
    // with μ = W Z: <z_a, μ_a> = Σ_b W_ab C_ab and ‖μ_a‖² = (W C Wᵀ)_aa, both from C ([K, N, N] work, not [K, N, D])
    const dot = sum(mul(gram, renorm.w), -1, true);
    const norm = sqrt(shift(sum(mul(matmul(renorm.w, gram), renorm.w), -1, true), renorm.guard));
    terms.push(scale(div(dot, norm), renorm.sel));
  }
  if (meanC) terms.push(shift(scale(lse(add(mul(gram, 1 / p.tau), meanC.bias)), meanC.sel), meanC.offset));
  const logP = terms.reduce((acc, t) => add(acc, t));

  // negatives: R1 one column per negative, R2 the HCL-normalised logQ
  let negPart: Tensor;
  if (r2) {
    negPart = shift(sub(lse(add(scale(gram, r2.s1), negBias)), lse(add(scale(gram, s0), negBias))), r2.cR2);
  } else {
    negPart = add(scale(gram, s0), negBias);
  }

  // ℓ = log(1 + Q/P) = −log(P / (P + Q)), in the log domain
  const ell = neg(sliceAxis(logSoftmax(concat([logP, negPart], -1), -1), -1, 0, 1)); // [K, N, 1]
  const perAU = mean(reshape(ell, [K, N]), -1);
  const loss = sum(scale(perAU, wScale));
  return { loss, perAU };
}
