// The float64 AUNCE reference (src/ref/aunce.ts) against: central finite differences of itself, a
// naive linear-domain transcription of the spec's formulas (§3.8 paper, §4.2 official code), the
// invariants of spec §5.9, edge cases and input errors. No GPU involved.
import { expect } from 'chai';
import { aunceGradRef, aunceLossRef, type AunceOptions, type PositiveType } from '../../src/ref/aunce.js';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { Rng } from '../../src/util/rng.js';
import { makeBatch, weights, type Batch } from '../aunce_batch.js';

const FDT = { eps: 1e-6, atol: 1e-6, rtol: 1e-4 };

/** Central finite differences over every coordinate of z vs the analytic gradient. */
function checkFD(b: Batch, opts: AunceOptions, gOut = 1): void {
  const an = aunceGradRef(b.z, b.labels, opts, gOut);
  expect(Number.isFinite(an.loss)).to.equal(true);
  let worst = 0;
  let where = '';
  let nonzero = 0;
  for (let i = 0; i < b.z.data.length; i++) {
    const x = b.z.data[i]!;
    b.z.data[i] = x + FDT.eps;
    const lp = aunceLossRef(b.z, b.labels, opts).loss;
    b.z.data[i] = x - FDT.eps;
    const lm = aunceLossRef(b.z, b.labels, opts).loss;
    b.z.data[i] = x;
    const fd = (gOut * (lp - lm)) / (2 * FDT.eps);
    const a = an.grad.data[i]!;
    if (Math.abs(a) > 1e-9) nonzero++;
    const excess = Math.abs(fd - a) - (FDT.atol + FDT.rtol * Math.abs(a));
    if (excess > worst) {
      worst = excess;
      where = `index ${i}: analytic ${a}, fd ${fd}`;
    }
  }
  expect(worst, `gradient vs finite differences, worst at ${where}`).to.equal(0);
  expect(nonzero, 'gradient has non-zero entries').to.be.greaterThan(0);
}

const dot = (z: NDArray, K: number, D: number, a: number, b: number, k: number): number => {
  let s = 0;
  for (let d = 0; d < D; d++) s += z.data[(a * K + k) * D + d]! * z.data[(b * K + k) * D + d]!;
  return s;
};

/** Naive linear-domain transcription of the official `au_infonce_loss` (spec §4.2), u replaced by the type. */
function officialNaive(b: Batch, types: PositiveType[], tau: number, b1: number, b0: number, w: number[] | null): number {
  const [N, K, D] = b.z.shape as [number, number, number];
  const B = N / 2;
  const y = (a: number, k: number): number => b.labels[a % B]![k]!;
  let total = 0;
  for (let k = 0; k < K; k++) {
    let t = 0;
    for (let a = 0; a < N; a++) {
      const S = (j: number): number => Math.exp(dot(b.z, K, D, a, j, k) / tau);
      let pmax = 0;
      let psum = 0;
      let neg = 0;
      for (let j = 0; j < N; j++) {
        if (y(j, k) === y(a, k)) {
          pmax = Math.max(pmax, S(j));
          psum += S(j);
        } else neg += S(j) ** (y(a, k) === 1 ? b1 : b0);
      }
      const pos = types[k] === 'max' ? pmax : types[k] === 'mean' ? psum / N : S(a < B ? a + B : a - B);
      t += -Math.log(pos / (pos + neg));
    }
    total += (t / N) * (w ? w[k]! : 1);
  }
  return total / K;
}

/** Naive linear-domain paper loss (spec §3.8, R1/R2, centroid built from vectors). */
function paperNaive(b: Batch, types: PositiveType[], o: { tau: number; b1: number; b0: number; w: number[] | null; r2?: boolean; renorm?: boolean }): number {
  const [N, K, D] = b.z.shape as [number, number, number];
  const B = N / 2;
  const y = (a: number, k: number): number => b.labels[a % B]![k]!;
  let total = 0;
  for (let k = 0; k < K; k++) {
    let t = 0;
    for (let a = 0; a < N; a++) {
      const beta = y(a, k) === 1 ? o.b1 : o.b0;
      const pool: number[] = [];
      const negs: number[] = [];
      for (let j = 0; j < N; j++) {
        if (y(j, k) !== y(a, k)) negs.push(j);
        else if (j !== a) pool.push(j);
      }
      const cs = pool.map((j) => dot(b.z, K, D, a, j, k));
      let cPlus: number;
      if (types[k] === 'max') cPlus = Math.max(...cs);
      else if (types[k] === 'min') cPlus = Math.min(...cs);
      else if (types[k] === 'aug') cPlus = dot(b.z, K, D, a, a < B ? a + B : a - B, k);
      else {
        const mu = new Array<number>(D).fill(0);
        for (const j of pool) for (let d = 0; d < D; d++) mu[d]! += b.z.data[(j * K + k) * D + d]! / pool.length;
        const nrm = o.renorm ? Math.hypot(...mu) : 1;
        cPlus = 0;
        for (let d = 0; d < D; d++) cPlus += (b.z.data[(a * K + k) * D + d]! * mu[d]!) / nrm;
      }
      const P = Math.exp(cPlus / o.tau);
      let Q = 0;
      if (negs.length > 0) {
        if (!o.r2) for (const j of negs) Q += Math.exp((beta * dot(b.z, K, D, a, j, k)) / o.tau);
        else {
          let s1 = 0;
          let s0 = 0;
          for (const j of negs) {
            const c = dot(b.z, K, D, a, j, k);
            s1 += Math.exp(((1 + beta) * c) / o.tau);
            s0 += Math.exp((beta * c) / o.tau);
          }
          Q = (negs.length * s1) / s0;
        }
      }
      t += Math.log((P + Q) / P);
    }
    total += (o.w ? o.w[k]! : 1) * (t / N);
  }
  return total / K;
}

const closeRel = (a: number, e: number, tol = 1e-12): void => {
  expect(Math.abs(a - e), `${a} vs ${e}`).to.be.at.most(tol * Math.max(1, Math.abs(e)));
};

describe('aunce reference', () => {
  const paperTypes: PositiveType[] = ['max', 'aug', 'centroid', 'min'];
  const officialTypes: PositiveType[] = ['max', 'mean', 'aug'];

  describe('gradient vs finite differences', () => {
    for (const [mode, types] of [['paper', paperTypes], ['official', officialTypes]] as const) {
      for (const type of types) {
        for (const weighted of [false, true]) {
          it(`aunce reference ${mode} ${type}${weighted ? ' with AU weights' : ''}: gradient matches finite differences [B=3, K=2, D=4]`, () => {
            const b = makeBatch(3, 2, 4, 11 + type.length);
            checkFD(b, { mode, positive: [type, type], auWeight: weighted ? weights(2, 5) : null });
          });
        }
      }
    }
    it('aunce reference paper, one type per AU, AU 3 without negatives: gradient matches finite differences [B=6, K=4, D=16]', () => {
      const b = makeBatch(6, 4, 16, 3, { allZero: [3] });
      checkFD(b, { mode: 'paper', positive: ['max', 'aug', 'centroid', 'min'], auWeight: weights(4, 7) });
    });
    it('aunce reference official, one type per AU, AU 3 without negatives: gradient matches finite differences [B=6, K=4, D=16]', () => {
      const b = makeBatch(6, 4, 16, 4, { allZero: [3] });
      checkFD(b, { mode: 'official', positive: ['max', 'mean', 'aug', 'mean'], auWeight: weights(4, 8) });
    });
    it('aunce reference official on un-normalised features: gradient matches finite differences [B=3, K=3, D=5]', () => {
      const b = makeBatch(3, 3, 5, 21, { unit: false });
      checkFD(b, { mode: 'official', positive: ['max', 'mean', 'aug'], betaInactive: 0.4, auWeight: weights(3, 2) });
    });
    const variants: [string, AunceOptions][] = [
      ['paper R2 (HCL-normalised negatives)', { mode: 'paper', positive: ['max', 'centroid', 'aug'], negWeighting: 'R2', auWeight: weights(3, 1) }],
      ['paper re-normalised centroid', { mode: 'paper', positive: ['centroid', 'centroid', 'centroid'], centroidRenormalise: true, auWeight: weights(3, 1) }],
      ['paper exclude partner from pool', { mode: 'paper', positive: ['max', 'centroid', 'min'], excludePartnerFromPool: true }],
      ['paper betaSwap', { mode: 'paper', positive: ['aug', 'centroid', 'max'], betaSwap: true }],
      ['paper betaBy frequency', { mode: 'paper', positive: ['aug', 'centroid', 'max'], betaBy: 'frequency', auRate: [0.2, 0.7, 0.5] }],
      ['paper sum reduction, tau 0.1', { mode: 'paper', positive: ['max', 'aug', 'min'], reduction: 'sum', tau: 0.1 }],
      ['official sum reduction, betas 1.5/0.3', { mode: 'official', positive: ['max', 'mean', 'aug'], reduction: 'sum', betaActive: 1.5, betaInactive: 0.3 }],
    ];
    for (const [name, opts] of variants) {
      it(`aunce reference ${name}: gradient matches finite differences [B=4, K=3, D=5]`, () => {
        checkFD(makeBatch(4, 3, 5, 31), opts);
      });
    }
    it('aunce reference paper, per-anchor positive types and upstream gradient 2.5: gradient matches finite differences [B=3, K=2, D=4]', () => {
      const r = new Rng(9);
      const positive = Array.from({ length: 6 }, () => Array.from({ length: 2 }, () => paperTypes[r.int(4)]!));
      checkFD(makeBatch(3, 2, 4, 41), { mode: 'paper', positive }, 2.5);
    });
  });

  describe('values', () => {
    for (const unit of [true, false]) {
      it(`aunce reference official: loss equals a linear-domain transcription of au_infonce_loss (${unit ? 'unit' : 'un-normalised'} features) [B=5, K=3, D=6]`, () => {
        const b = makeBatch(5, 3, 6, 51, { unit });
        for (const w of [null, weights(3, 3)]) {
          for (const t of officialTypes) {
            const types = [t, t, t];
            closeRel(aunceLossRef(b.z, b.labels, { mode: 'official', positive: types, auWeight: w }).loss, officialNaive(b, types, 0.5, 1.2, 0.8, w));
          }
        }
      });
    }
    it('aunce reference paper: loss equals a linear-domain transcription of spec 3.8 (R1, R2, re-normalised centroid) [B=5, K=4, D=6]', () => {
      const b = makeBatch(5, 4, 6, 52);
      const w = weights(4, 4);
      const o = { tau: 0.5, b1: 1.2, b0: 0.4, w };
      closeRel(aunceLossRef(b.z, b.labels, { mode: 'paper', positive: paperTypes, auWeight: w }).loss, paperNaive(b, paperTypes, o));
      closeRel(aunceLossRef(b.z, b.labels, { mode: 'paper', positive: paperTypes, auWeight: w, negWeighting: 'R2' }).loss, paperNaive(b, paperTypes, { ...o, r2: true }));
      const cen: PositiveType[] = ['centroid', 'centroid', 'centroid', 'centroid'];
      closeRel(aunceLossRef(b.z, b.labels, { mode: 'paper', positive: cen, auWeight: w, centroidRenormalise: true }).loss, paperNaive(b, cen, { ...o, renorm: true }));
    });
    it('aunce reference: default betas are 1.2/0.4 in paper mode and 1.2/0.8 in official mode', () => {
      const b = makeBatch(4, 2, 5, 53);
      const p = { mode: 'paper', positive: ['aug', 'aug'] } as const;
      closeRel(aunceLossRef(b.z, b.labels, p).loss, aunceLossRef(b.z, b.labels, { ...p, betaActive: 1.2, betaInactive: 0.4 }).loss, 0);
      expect(aunceLossRef(b.z, b.labels, p).loss).not.to.equal(aunceLossRef(b.z, b.labels, { ...p, betaInactive: 0.8 }).loss);
      const f = { mode: 'official', positive: ['aug', 'aug'] } as const;
      closeRel(aunceLossRef(b.z, b.labels, f).loss, aunceLossRef(b.z, b.labels, { ...f, betaActive: 1.2, betaInactive: 0.8 }).loss, 0);
      // with the same betas, paper aug and official aug coincide (spec §4.4: "aug ... identical")
      closeRel(aunceLossRef(b.z, b.labels, f).loss, aunceLossRef(b.z, b.labels, { ...p, betaInactive: 0.8 }).loss);
    });
    it('aunce reference: R2 with beta 0 equals R1 with beta 1 (InfoNCE), spec 3.3', () => {
      const b = makeBatch(4, 2, 5, 54);
      const r2 = aunceGradRef(b.z, b.labels, { mode: 'paper', positive: ['max', 'centroid'], negWeighting: 'R2', betaActive: 0, betaInactive: 0 });
      const r1 = aunceGradRef(b.z, b.labels, { mode: 'paper', positive: ['max', 'centroid'], betaActive: 1, betaInactive: 1 });
      closeRel(r2.loss, r1.loss);
      for (let i = 0; i < r1.grad.data.length; i++) expect(Math.abs(r2.grad.data[i]! - r1.grad.data[i]!)).to.be.below(1e-14);
    });
  });

  describe('invariants (spec 5.9)', () => {
    for (const [mode, types] of [['paper', paperTypes], ['official', officialTypes]] as const) {
      it(`aunce reference ${mode}: row-sum identity sum_b G_ab = g_a q_a (beta_a - 1)/tau for every type`, () => {
        const b = makeBatch(5, types.length, 6, 61);
        const K = types.length;
        const N = 10;
        const w = weights(K, 6);
        const tau = 0.5;
        const r = aunceGradRef(b.z, b.labels, { mode, positive: types, auWeight: w, tau });
        for (let k = 0; k < K; k++) {
          for (let a = 0; a < N; a++) {
            let s = 0;
            for (let j = 0; j < N; j++) s += r.G.data[(k * N + a) * N + j]!;
            const ya = b.labels[a % 5]![k]!;
            const beta = ya === 1 ? 1.2 : mode === 'paper' ? 0.4 : 0.8;
            const q = Math.exp(r.logQ.data[a * K + k]! - r.logD.data[a * K + k]!);
            const g = w[k]! / (K * N);
            expect(Math.abs(s - (g * q * (beta - 1)) / tau)).to.be.below(1e-15);
            expect(q).to.be.greaterThan(0);
          }
        }
      });
    }
    it('aunce reference paper R2: each row of G sums to zero (total negative mass preserved)', () => {
      const b = makeBatch(4, 2, 5, 62);
      const r = aunceGradRef(b.z, b.labels, { mode: 'paper', positive: ['max', 'aug'], negWeighting: 'R2' });
      let maxAbs = 0;
      for (let i = 0; i < r.G.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(r.G.data[i]!));
      expect(maxAbs).to.be.greaterThan(1e-4);
      for (let row = 0; row < 2 * 8; row++) {
        let s = 0;
        for (let j = 0; j < 8; j++) s += r.G.data[row * 8 + j]!;
        expect(Math.abs(s)).to.be.below(1e-15);
      }
    });
    for (const [mode, types] of [['paper', paperTypes], ['official', officialTypes]] as const) {
      it(`aunce reference ${mode}: permuting images permutes the loss terms and the gradient`, () => {
        const B = 5;
        const K = types.length;
        const D = 6;
        const b = makeBatch(B, K, D, 63);
        const perm = [3, 0, 4, 2, 1];
        const z2 = nd([2 * B, K, D]);
        const src = (a: number): number => (a < B ? perm[a]! : B + perm[a - B]!);
        for (let a = 0; a < 2 * B; a++) z2.data.set(b.z.data.subarray(src(a) * K * D, (src(a) + 1) * K * D), a * K * D);
        const labels2 = perm.map((p) => [...b.labels[p]!]);
        const opts: AunceOptions = { mode, positive: types, auWeight: weights(K, 9) };
        const r1 = aunceGradRef(b.z, b.labels, opts);
        const r2 = aunceGradRef(z2, labels2, opts);
        closeRel(r2.loss, r1.loss);
        for (let a = 0; a < 2 * B; a++) {
          for (let i = 0; i < K * D; i++) expect(Math.abs(r2.grad.data[a * K * D + i]! - r1.grad.data[src(a) * K * D + i]!)).to.be.below(1e-15);
        }
      });
    }
    it('aunce reference official max on unit vectors: argmax is the anchor, P = e^{1/tau}, the positive term vanishes after the normalisation backward', () => {
      const B = 4;
      const K = 2;
      const D = 5;
      const N = 2 * B;
      const b = makeBatch(B, K, D, 64);
      const tau = 0.5;
      const r = aunceGradRef(b.z, b.labels, { mode: 'official', positive: ['max', 'max'], tau });
      for (let a = 0; a < N; a++) {
        for (let k = 0; k < K; k++) {
          expect(r.argIdx[a * K + k]).to.equal(a);
          expect(Math.abs(r.logP.data[a * K + k]! - 1 / tau)).to.be.below(1e-14);
        }
      }
      // the positive's gradient is on G's diagonal only: project (G + Gᵀ)Z with and without it
      const project = (g: Float64Array): Float64Array => {
        const out = new Float64Array(g.length);
        for (let row = 0; row < N * K; row++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += g[row * D + d]! * b.z.data[row * D + d]!;
          for (let d = 0; d < D; d++) out[row * D + d] = g[row * D + d]! - s * b.z.data[row * D + d]!;
        }
        return out;
      };
      const noDiag = new Float64Array(N * K * D);
      let diagMass = 0;
      for (let k = 0; k < K; k++) {
        for (let a = 0; a < N; a++) {
          diagMass += Math.abs(r.G.data[(k * N + a) * N + a]!);
          for (let j = 0; j < N; j++) {
            if (j === a) continue;
            const m = r.G.data[(k * N + a) * N + j]! + r.G.data[(k * N + j) * N + a]!;
            for (let d = 0; d < D; d++) noDiag[(a * K + k) * D + d]! += m * b.z.data[(j * K + k) * D + d]!;
          }
        }
      }
      expect(diagMass).to.be.greaterThan(1e-3);
      const p1 = project(r.grad.data);
      const p2 = project(noDiag);
      for (let i = 0; i < p1.length; i++) expect(Math.abs(p1[i]! - p2[i]!)).to.be.below(1e-15);
      // and the normalisation backward leaves no component along z
      for (let row = 0; row < N * K; row++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += p1[row * D + d]! * b.z.data[row * D + d]!;
        expect(Math.abs(s)).to.be.below(1e-15);
      }
    });
  });

  describe('edge cases', () => {
    it('aunce reference: an AU without negatives contributes zero loss and zero gradient but is counted in the mean over AUs', () => {
      const b = makeBatch(4, 2, 5, 71, { allZero: [1] });
      for (const mode of ['paper', 'official'] as const) {
        const r = aunceGradRef(b.z, b.labels, { mode, positive: ['aug', 'max'], auWeight: [1, 1] });
        expect(r.perAU[1]).to.equal(0);
        expect(r.perAU[0]).to.be.greaterThan(0);
        closeRel(r.loss, r.perAU[0]! / 2, 1e-15);
        for (let a = 0; a < 8; a++) {
          expect(r.logQ.data[a * 2 + 1]).to.equal(-Infinity);
          for (let d = 0; d < 5; d++) expect(r.grad.data[(a * 2 + 1) * 5 + d]).to.equal(0);
        }
      }
    });
    it('aunce reference paper: an image alone in its class has only its partner as positive (max, centroid, min equal aug; exclude-partner falls back)', () => {
      const b = makeBatch(4, 1, 5, 72);
      b.labels = [[1], [0], [0], [0]];
      const aug = aunceLossRef(b.z, b.labels, { mode: 'paper', positive: ['aug'] });
      for (const t of ['max', 'centroid', 'min'] as const) {
        for (const excludePartnerFromPool of [false, true]) {
          const r = aunceLossRef(b.z, b.labels, { mode: 'paper', positive: [t], excludePartnerFromPool });
          for (const a of [0, 4]) closeRel(r.perAnchor.data[a]!, aug.perAnchor.data[a]!, 1e-15);
          if (t !== 'centroid') {
            expect(r.argIdx[0]).to.equal(4);
            expect(r.argIdx[4]).to.equal(0);
          }
        }
      }
    });
    it('aunce reference: a batch of one image has no negatives, so loss and gradient are zero in both modes', () => {
      const b = makeBatch(1, 2, 3, 73);
      b.labels = [[1, 0]];
      for (const [mode, types] of [['paper', ['max', 'centroid']], ['official', ['mean', 'aug']]] as const) {
        const r = aunceGradRef(b.z, b.labels, { mode, positive: [...types] });
        expect(r.loss).to.equal(0);
        expect(r.perAU).to.deep.equal([0, 0]);
        expect(Array.from(r.grad.data).every((v) => v === 0)).to.equal(true);
      }
    });
    it('aunce reference: K = 1 equals the same AU taken from a K = 2 batch', () => {
      const B = 4;
      const D = 5;
      const b = makeBatch(B, 2, D, 74);
      for (const [mode, types] of [['paper', ['centroid', 'min']], ['official', ['mean', 'max']]] as const) {
        const full = aunceGradRef(b.z, b.labels, { mode, positive: [...types] });
        for (let k = 0; k < 2; k++) {
          const zk = nd([2 * B, 1, D]);
          for (let a = 0; a < 2 * B; a++) zk.data.set(b.z.data.subarray((a * 2 + k) * D, (a * 2 + k + 1) * D), a * D);
          const one = aunceGradRef(zk, b.labels.map((row) => [row[k]!]), { mode, positive: [types[k]!] });
          closeRel(one.loss, full.perAU[k]!, 1e-15);
          for (let a = 0; a < 2 * B; a++) {
            for (let d = 0; d < D; d++) expect(Math.abs(one.grad.data[a * D + d]! / 2 - full.grad.data[(a * 2 + k) * D + d]!)).to.be.below(1e-16);
          }
        }
      }
    });
    it('aunce reference: ties in max pick the lowest index (paper: duplicate candidates; official: partner identical to anchor)', () => {
      const B = 3;
      const D = 3;
      const z = nd([6, 1, D], [1, 0, 0, 0.6, 0.8, 0, 0.6, 0.8, 0, 0, 0, 1, 0, 0.6, 0.8, 0, -0.6, 0.8]);
      // paper: Pos(0) = {1..5}; c_01 = c_02 = 0.6 is the max, so index 1 wins
      const p = aunceGradRef(z, [[1], [1], [0]], { mode: 'paper', positive: ['max'] });
      expect(p.argIdx[0]).to.equal(1);
      expect(p.G.data[0 * 6 + 1]).to.be.below(0);
      expect(p.G.data[0 * 6 + 4]).to.equal(0);
      // official: rows a and a+B identical, so c_aa = c_{a,a+B} for every a; lowest index wins
      const zo = nd([6, 1, D]);
      const base = [1, 0, 0, 0.6, 0.8, 0, 0, 0.6, 0.8];
      zo.data.set(base, 0);
      zo.data.set(base, 9);
      const o = aunceGradRef(zo, [[1], [0], [1]], { mode: 'official', positive: ['max'] });
      expect(Array.from(o.argIdx)).to.deep.equal([0, 1, 2, 0, 1, 2]);
      expect(o.G.data[3 * 6 + 0]).to.be.below(0);
      expect(o.G.data[3 * 6 + 3]).to.equal(0);
    });
  });

  describe('input errors', () => {
    const b = makeBatch(2, 2, 3, 81);
    const opts: AunceOptions = { mode: 'paper', positive: ['max', 'aug'] };
    it('aunce reference: a label outside {0,1} throws naming its row and AU', () => {
      expect(() => aunceLossRef(b.z, [[1, 0], [0, 2]], opts)).to.throw(/row 1, AU 1 is 2/);
      expect(() => aunceLossRef(b.z, [[-1, 0], [0, 1]], opts)).to.throw(/row 0, AU 0 is -1/);
      expect(() => aunceLossRef(b.z, [[1, NaN], [0, 1]], { ...opts, mode: 'official' })).to.throw(/row 0, AU 1 is NaN/);
    });
    it('aunce reference: a non-finite feature throws naming its index', () => {
      const z = nd(b.z.shape, b.z.data);
      z.data[7] = Infinity;
      expect(() => aunceLossRef(z, b.labels, opts)).to.throw(/index 7 \(\[1, 0, 1\]/);
      z.data[7] = NaN;
      expect(() => aunceGradRef(z, b.labels, opts)).to.throw(/index 7 .*NaN/);
    });
    it('aunce reference: shape mismatches throw naming both shapes', () => {
      expect(() => aunceLossRef(nd([6, 2, 3]), b.labels, opts)).to.throw(/\[6, 2, 3\].*\[2, 2\]/);
      expect(() => aunceLossRef(nd([4, 3, 3]), b.labels, opts)).to.throw(/\[4, 3, 3\].*\[2, 2\]/);
      expect(() => aunceLossRef(nd([4, 6]), b.labels, opts)).to.throw(/\[4, 6\].*\[2, 2\]/);
      expect(() => aunceLossRef(b.z, [[1, 0], [0]], opts)).to.throw(/row 1 has 1 entries/);
      expect(() => aunceLossRef(b.z, b.labels, { ...opts, auWeight: [1, 1, 1] })).to.throw(/\[3\].*\[2, 2\]/);
      expect(() => aunceLossRef(b.z, b.labels, { ...opts, positive: ['max'] })).to.throw(/\[K\] = \[2\]/);
    });
    it('aunce reference: positive types and options not available in a mode throw', () => {
      expect(() => aunceLossRef(b.z, b.labels, { mode: 'paper', positive: ['mean', 'aug'] })).to.throw(/'mean' at AU 0 is not available in paper mode/);
      expect(() => aunceLossRef(b.z, b.labels, { mode: 'official', positive: ['max', 'centroid'] })).to.throw(/'centroid' at AU 1 .* official/);
      expect(() => aunceLossRef(b.z, b.labels, { mode: 'official', positive: ['max', 'min'] })).to.throw(/'min'/);
      expect(() => aunceLossRef(b.z, b.labels, { mode: 'official', positive: ['max', 'aug'], negWeighting: 'R2' })).to.throw(/negWeighting exists only in paper mode/);
      expect(() => aunceLossRef(b.z, b.labels, { ...opts, tau: 0 })).to.throw(/tau/);
      expect(() => aunceLossRef(b.z, b.labels, { ...opts, betaBy: 'frequency' })).to.throw(/auRate/);
    });
  });
});
