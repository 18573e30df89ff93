// The gradient explanation (src/losses/explain.ts) against the float64 reference: for every anchor
// and AU, the rows' ∂ℓ_a/∂c_ab must equal row a of G_k (spec §5.1) divided by g, the shares must sum
// to 1, and the R1 split must be β/(1+β) : 1/(1+β). No GPU involved.
import { expect } from 'chai';
import { explainAnchor, formatExplanation, type Explanation } from '../../src/losses/explain.js';
import { aunceGradRef, type AunceOptions, type PositiveType } from '../../src/ref/aunce.js';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { Rng } from '../../src/util/rng.js';

interface Batch {
  z: NDArray;
  labels: number[][];
}

/** Gaussian features (unit rows unless unit = false); labels P(y=1) = 0.35, both classes in every AU but `allZero`. */
function makeBatch(B: number, K: number, D: number, seed: number, o: { unit?: boolean; allZero?: number[] } = {}): Batch {
  const r = new Rng(seed);
  const z = nd([2 * B, K, D]);
  for (let i = 0; i < z.data.length; i++) z.data[i] = r.normal();
  if (o.unit ?? true) {
    for (let row = 0; row < 2 * B * K; row++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += z.data[row * D + d]! ** 2;
      for (let d = 0; d < D; d++) z.data[row * D + d]! /= Math.sqrt(s);
    }
  }
  const labels: number[][] = Array.from({ length: B }, () => Array.from({ length: K }, () => (r.next() < 0.35 ? 1 : 0)));
  for (let k = 0; k < K; k++) {
    for (let b = 0; b < B; b++) if (o.allZero?.includes(k)) labels[b]![k] = 0;
    if (!o.allZero?.includes(k)) [labels[0]![k], labels[1]![k]] = [1, 0];
  }
  return { z, labels };
}

/** Explanations of every (anchor, AU) of a batch, with the reference's G and per-anchor losses. */
function explainAll(batch: Batch, opts: AunceOptions) {
  const { z, labels } = batch;
  const [N, K, D] = z.shape as [number, number, number];
  const ref = aunceGradRef(z, labels, opts);
  const out: { a: number; k: number; ex: Explanation; Grow: number[] }[] = [];
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < N; a++) {
      const cRow = Array.from({ length: N }, (_, b) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += z.data[(a * K + k) * D + d]! * z.data[(b * K + k) * D + d]!;
        return s;
      });
      const i = a * K + k;
      const saved = { logP: ref.logP.data[i]!, logQ: ref.logQ.data[i]!, logD: ref.logD.data[i]!, argIdx: ref.argIdx[i]! };
      const ex = explainAnchor({ cRow, labels: labels.map((l) => l[k]!), anchor: a, au: k, K, opts, saved });
      const Grow = Array.from(ref.G.data.subarray((k * N + a) * N, (k * N + a + 1) * N));
      out.push({ a, k, ex, Grow });
    }
  }
  return { ref, out };
}

/** Row gradients must be G[a, b]/g, shares must sum to one; returns the number of anchors checked. */
function checkAgainstG(batch: Batch, opts: AunceOptions): number {
  const { ref, out } = explainAll(batch, opts);
  let lossFromRows = 0;
  for (const { a, k, ex, Grow } of out) {
    const where = `anchor ${a}, AU ${k}`;
    const fromRows = new Array<number>(Grow.length).fill(0);
    for (const r of ex.rows) if (r.sample) fromRows[r.sample.b]! += r.grad;
    Grow.forEach((G, b) => {
      const e = G / ex.g;
      expect(Math.abs(fromRows[b]! - e), `${where}, b = ${b}: row ${fromRows[b]} vs G/g ${e}`).to.be.at.most(1e-12 + 1e-9 * Math.abs(e));
    });
    expect(ex.ell, where).to.be.closeTo(ref.perAnchor.data[a * ref.perAU.length + k]!, 1e-12);
    const shares = ex.rows.reduce((s, r) => s + r.share, 0);
    expect(shares, where).to.be.closeTo(ex.nNeg > 0 ? 1 : 0, 1e-12);
    expect(ex.negShare + ex.posShare, where).to.be.closeTo(ex.nNeg > 0 ? 1 : 0, 1e-12);
    if (ex.nNeg > 0) {
      const sumP = ex.rows.filter((r) => r.role === 'negative').reduce((s, r) => s + r.weight, 0);
      expect(sumP, `${where}: Σ P_ab = q`).to.be.closeTo(ex.q, 1e-12);
    }
    lossFromRows += ex.g * ex.ell;
  }
  expect(lossFromRows, 'Σ g ℓ_a = L').to.be.closeTo(ref.loss, 1e-12 * Math.max(1, Math.abs(ref.loss)));
  return out.length;
}

const PAPER_TYPES: PositiveType[] = ['max', 'aug', 'centroid', 'min'];

describe('explain (gradient shares of one anchor)', () => {
  const cases: { name: string; B: number; D: number; unit?: boolean; opts: AunceOptions }[] = [
    { name: 'paper R1 max|aug|centroid|min', B: 6, D: 16, opts: { mode: 'paper', positive: PAPER_TYPES, auWeight: [0.7, 1.3, 1.1, 0.9] } },
    { name: 'paper R2, sum, partner excluded', B: 5, D: 8, opts: { mode: 'paper', positive: PAPER_TYPES, negWeighting: 'R2', reduction: 'sum', excludePartnerFromPool: true } },
    { name: 'paper beta swap, tau 0.1', B: 4, D: 8, opts: { mode: 'paper', positive: ['min', 'centroid', 'max', 'aug'], betaSwap: true, tau: 0.1, betaActive: 1.5 } },
    { name: 'paper beta by frequency', B: 4, D: 8, opts: { mode: 'paper', positive: PAPER_TYPES, betaBy: 'frequency', auRate: [0.2, 0.7, 0.5, 0.9] } },
    { name: 'official max|mean|aug (unnormalised)', B: 6, D: 16, unit: false, opts: { mode: 'official', positive: ['max', 'mean', 'aug', 'mean'] } },
    { name: 'official with AU weights, beta 0.4', B: 3, D: 5, opts: { mode: 'official', positive: ['mean', 'max', 'aug', 'max'], auWeight: [1, 2, 0.5, 0.5], betaInactive: 0.4 } },
  ];
  for (const c of cases) {
    it(`explain ${c.name}: rows equal row a of G / g, shares sum to 1 [B=${c.B}, K=4, D=${c.D}]`, () => {
      const batch = makeBatch(c.B, 4, c.D, 11 + c.B * 7 + c.D, { unit: c.unit ?? true, allZero: [3] });
      expect(checkAgainstG(batch, c.opts)).to.equal(2 * c.B * 4);
    });
  }

  it('explain per-anchor positive types: rows equal G / g [B=4, K=2, D=6]', () => {
    const batch = makeBatch(4, 2, 6, 99);
    const rng = new Rng(5);
    const positive = Array.from({ length: 8 }, () => Array.from({ length: 2 }, () => PAPER_TYPES[rng.int(4)]!));
    expect(checkAgainstG(batch, { mode: 'paper', positive })).to.equal(16);
  });

  it('explain paper R1: negatives get β/(1+β) of the gradient, Σ r = β, for every anchor [B=6, K=4, D=16]', () => {
    const batch = makeBatch(6, 4, 16, 3, { allZero: [3] });
    const { out } = explainAll(batch, { mode: 'paper', positive: PAPER_TYPES, betaActive: 1.2, betaInactive: 0.4 });
    let n = 0;
    for (const { a, k, ex } of out) {
      if (ex.nNeg === 0) continue;
      n++;
      expect(ex.negShare, `anchor ${a}, AU ${k}`).to.be.closeTo(ex.beta / (1 + ex.beta), 1e-12);
      expect(ex.posShare, `anchor ${a}, AU ${k}`).to.be.closeTo(1 / (1 + ex.beta), 1e-12);
      expect(ex.ratioSum, `anchor ${a}, AU ${k}`).to.be.closeTo(ex.beta, 1e-12);
      expect(ex.beta).to.equal(ex.label === 1 ? 1.2 : 0.4);
    }
    expect(n).to.equal(2 * 6 * 3);
  });

  it('explain paper R2: the ratios sum to 1 and the rows match G [B=5, K=4, D=8]', () => {
    const batch = makeBatch(5, 4, 8, 8, { allZero: [3] });
    const { out } = explainAll(batch, { mode: 'paper', positive: PAPER_TYPES, negWeighting: 'R2' });
    for (const { ex } of out) if (ex.nNeg > 0) expect(ex.ratioSum).to.be.closeTo(1, 1e-12);
    expect(out.some(({ ex }) => ex.rows.some((r) => r.ratio !== null && r.ratio < 0)), 'some easy negative is pulled').to.equal(true);
  });

  it('explain anchor without negatives: ℓ = 0, no gradient, and the table says so [B=4, K=4, D=8]', () => {
    const batch = makeBatch(4, 4, 8, 21, { allZero: [3] });
    const { out } = explainAll(batch, { mode: 'paper', positive: PAPER_TYPES });
    const { ex } = out.find((o) => o.k === 3 && o.a === 2)!;
    expect(ex.nNeg).to.equal(0);
    expect(ex.q).to.equal(0);
    expect(ex.ell).to.equal(0);
    expect(ex.rows.every((r) => r.grad === 0 && r.share === 0)).to.equal(true);
    expect(formatExplanation(ex)).to.match(/has no negatives: Q = 0, ℓ_a = 0 and it sends no gradient/);
  });

  it('explain official max on unit vectors: the positive is the anchor itself [B=4, K=4, D=8]', () => {
    const batch = makeBatch(4, 4, 8, 4, { allZero: [3] });
    const { out } = explainAll(batch, { mode: 'official', positive: ['max', 'max', 'max', 'max'] });
    for (const { a, ex } of out) {
      expect(ex.positive.members.map((m) => m.b)).to.deep.equal([a]);
      expect(ex.positive.cPlus).to.be.closeTo(1, 1e-12);
    }
    expect(formatExplanation(out[0]!.ex)).to.match(/the anchor itself/);
  });

  it('explain official mean: W is a softmax over Same(a), self included [B=4, K=2, D=8]', () => {
    const batch = makeBatch(4, 2, 8, 6);
    const { out } = explainAll(batch, { mode: 'official', positive: ['mean', 'mean'] });
    for (const { a, ex } of out) {
      const pos = ex.rows.filter((r) => r.role === 'positive');
      expect(pos.map((r) => r.sample!.b)).to.include(a);
      expect(pos.length).to.equal(ex.positive.pool.length);
      expect(pos.reduce((s, r) => s + r.weight, 0)).to.be.closeTo(1, 1e-12);
    }
  });

  it('explain paper re-normalised centroid: one positive row of ∂ℓ/∂c⁺, negatives match G [B=4, K=2, D=8]', () => {
    const batch = makeBatch(4, 2, 8, 17);
    const { out } = explainAll(batch, { mode: 'paper', positive: ['centroid', 'centroid'], centroidRenormalise: true });
    for (const { ex, Grow } of out) {
      const pos = ex.rows.filter((r) => r.role === 'positive');
      expect(pos).to.have.length(1);
      expect(pos[0]!.sample).to.equal(null);
      expect(pos[0]!.grad).to.be.closeTo(-ex.q / ex.tau, 1e-12);
      for (const r of ex.rows.filter((x) => x.role === 'negative')) expect(r.grad).to.be.closeTo(Grow[r.sample!.b]! / ex.g, 1e-9);
      expect(ex.negShare).to.be.closeTo(ex.beta / (1 + ex.beta), 1e-12);
    }
  });

  it('explain format: a table with the positive, the negatives hardest first and the R1 summary [B=6, K=4, D=16]', () => {
    const batch = makeBatch(6, 4, 16, 31, { allZero: [3] });
    const { out } = explainAll(batch, { mode: 'paper', positive: PAPER_TYPES });
    const { ex } = out.find((o) => o.k === 0 && o.a === 0)!;
    const text = formatExplanation(ex);
    expect(text).to.match(/anchor a = 0 \(view 1, image 0\), AU k = 0 \[paper mode, R1 negatives, τ = 0\.5\]/);
    expect(text).to.match(/label y = 1, β = 1\.2 \(betaActive\)/);
    expect(text).to.match(/role\s+b\s+view\s+image\s+y\s+c_ab\s+W_ab \| P_ab\s+r \(Eq 7\)\s+∂ℓ_a\/∂c_ab\s+share/);
    expect(text).to.match(/β\/\(1\+β\) = 54\.5% and 1\/\(1\+β\) = 45\.5%/);
    const negLines = text.split('\n').filter((l) => /^\s+negative\s/.test(l));
    expect(negLines).to.have.length(ex.nNeg);
    const cs = negLines.map((l) => Number(l.trim().split(/\s+/)[5]));
    expect([...cs].sort((x, y) => y - x)).to.deep.equal(cs);
    const top = formatExplanation(ex, 2);
    expect(top.split('\n').filter((l) => /^\s+negative\s/.test(l))).to.have.length(2);
    expect(top).to.match(new RegExp(`… ${ex.nNeg - 2} more negatives`));
  });

  it('explain bad anchor: out of range is a RangeError naming the range', () => {
    const saved = { logP: 0, logQ: 0, logD: 0, argIdx: -1 };
    expect(() => explainAnchor({ cRow: [0, 0, 0, 0], labels: [1, 0], anchor: 4, au: 0, K: 1, opts: { mode: 'paper', positive: ['max'] }, saved })).to.throw(
      RangeError,
      /anchor 4 is out of range 0\.\.3/,
    );
  });
});
