// The float64 AUNCE reference (src/ref/aunce.ts) against golden values from an independent
// PyTorch implementation (scripts/goldens/aunce_goldens.py: official mode in the released code's
// linear-domain style, paper mode by the spec §3.8 algorithm, gradients by autograd, float64).
// Both sides are float64, so they must agree to rounding.
import { expect } from 'chai';
import { aunceGradRef } from '../../src/ref/aunce.js';
import { nd } from '../../src/ref/ndarray.js';
import { aunceGoldens } from '../aunce_batch.js';

const CASES = aunceGoldens();

/** float64 against float64: relative 1e-10, plus a floor of 1e-13 of the largest entry and 1e-15
 * absolute: entries that cancel to ~0 differ by rounding only (e.g. the linear-domain official loss
 * leaves ~1e-16 residues where the exact gradient is 0). */
const TOL = { rtol: 1e-10, floor: 1e-13, atol: 1e-15 };

function worstExcess(actual: ArrayLike<number>, expected: ArrayLike<number>): { i: number; excess: number } {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = { i: -1, excess: 0 };
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (TOL.rtol * Math.abs(expected[i]!) + TOL.floor * scale + TOL.atol);
    if (!(excess <= 0) && (worst.i < 0 || !(excess <= worst.excess))) worst = { i, excess: Number.isNaN(excess) ? Infinity : excess };
  }
  return worst;
}

function shapeOf(z: number[][][]): [number, number, number] {
  return [z.length, z[0]!.length, z[0]![0]!.length];
}

describe('aunce goldens (PyTorch float64)', () => {
  it('aunce goldens: the file covers both modes, every positive type and every option', () => {
    expect(CASES.length).to.be.greaterThanOrEqual(30);
    const seen = new Set<string>();
    for (const c of CASES) {
      const pos = c.options.positive;
      const perAnchor = Array.isArray(pos[0]);
      const names = new Set((perAnchor ? (pos as string[][]).flat() : (pos as string[])).map((t) => `${c.options.mode}:${t}`));
      names.forEach((n) => seen.add(n));
      if (perAnchor) seen.add(`${c.options.mode}:perAnchor`);
      for (const key of Object.keys(c.options)) seen.add(`opt:${key}`);
      if (shapeOf(c.z)[0] === 2) seen.add('B=1');
      if (shapeOf(c.z)[1] === 1) seen.add('K=1');
    }
    const want = [
      'official:max', 'official:mean', 'official:aug', 'official:perAnchor',
      'paper:max', 'paper:aug', 'paper:centroid', 'paper:min', 'paper:perAnchor',
      'opt:tau', 'opt:betaActive', 'opt:betaInactive', 'opt:auWeight', 'opt:reduction', 'opt:negWeighting',
      'opt:betaSwap', 'opt:betaBy', 'opt:auRate', 'opt:excludePartnerFromPool', 'opt:centroidRenormalise',
      'B=1', 'K=1',
    ];
    for (const w of want) expect(seen.has(w), `goldens cover ${w}`).to.equal(true);
  });

  for (const c of CASES) {
    const [N, K, D] = shapeOf(c.z);
    it(`aunce goldens ${c.options.mode}: ${c.name} matches PyTorch [${N}, ${K}, ${D}]`, () => {
      const z = nd([N, K, D], c.z.flat(2));
      const r = aunceGradRef(z, c.labels, c.options);

      const lossErr = Math.abs(r.loss - c.loss);
      expect(lossErr, `loss: got ${r.loss}, PyTorch ${c.loss}`).to.be.at.most(TOL.rtol * Math.abs(c.loss) + TOL.atol);

      const pa = worstExcess(r.perAU, c.perAU);
      expect(pa.i, `perAU[${pa.i}]: got ${r.perAU[pa.i]}, PyTorch ${c.perAU[pa.i]}`).to.equal(-1);

      const g = c.grad.flat(2);
      expect(r.grad.data.length).to.equal(g.length);
      const w = worstExcess(r.grad.data, g);
      if (w.i >= 0) {
        const at = [Math.floor(w.i / (K * D)), Math.floor(w.i / D) % K, w.i % D];
        expect.fail(`grad [${at.join(', ')}] of [${N}, ${K}, ${D}]: got ${r.grad.data[w.i]}, PyTorch ${g[w.i]}`);
      }
      // a non-trivial gradient unless every AU lacks negatives (then L = 0 and dL/dZ = 0)
      const trivial = c.labels.every((row) => row.every((v, k) => c.labels.every((r2) => r2[k] === v)));
      const gmax = Math.max(...g.map(Math.abs));
      if (trivial) expect(gmax).to.be.below(1e-14);
      else expect(gmax).to.be.above(1e-6);
    });
  }
});
