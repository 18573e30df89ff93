// The float64 WCE references (src/ref/wce.ts) against golden values from PyTorch (float64, autograd):
// Eq (1) on sigmoid logits and the released au_softmax_loss with its 1e-3 clamp (spec §2),
// written by scripts/goldens/aunce_goldens.py into test/data/goldens/wce.json.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { auSoftmaxLossRef, wceLossRef } from '../../src/ref/wce.js';
import { nd } from '../../src/ref/ndarray.js';

type Nested = number | Nested[];
interface WceCase {
  name: string;
  logits: Nested[];
  labels: number[][];
  weight: number[] | null;
  reduction: 'mean' | 'sum';
  loss: number;
  grad: Nested[];
}

const GOLD: { wce: WceCase[]; auSoftmax: WceCase[] } = JSON.parse(readFileSync(new URL('../data/goldens/wce.json', import.meta.url), 'utf8'));

/** float64 against float64: relative 1e-10 with a floor of 1e-14 of the largest gradient entry. */
const TOL = { rtol: 1e-10, floor: 1e-14 };

function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...shapeOf(x[0]!)] : [];
}
const flat = (x: Nested[]): number[] => x.flat(Infinity as 1) as number[];

function check(c: WceCase, fn: typeof wceLossRef): number[] {
  const shape = shapeOf(c.logits);
  const r = fn(nd(shape, flat(c.logits)), c.labels, { weight: c.weight, reduction: c.reduction });
  expect(Math.abs(r.loss - c.loss), `loss: got ${r.loss}, PyTorch ${c.loss}`).to.be.at.most(TOL.rtol * Math.abs(c.loss));
  const g = flat(c.grad);
  expect(r.grad.shape).to.deep.equal(shape);
  const scale = Math.max(...g.map(Math.abs));
  g.forEach((e, i) => {
    const a = r.grad.data[i]!;
    if (!(Math.abs(a - e) <= TOL.rtol * Math.abs(e) + TOL.floor * scale)) expect.fail(`grad[${i}] of [${shape.join(', ')}]: got ${a}, PyTorch ${e}`);
  });
  expect(scale).to.be.above(0);
  return Array.from(r.grad.data);
}

describe('wce goldens (PyTorch float64)', () => {
  for (const c of GOLD.wce) {
    it(`wce goldens: ${c.name} matches PyTorch [${shapeOf(c.logits).join(', ')}]`, () => {
      check(c, wceLossRef);
    });
  }
  for (const c of GOLD.auSoftmax) {
    it(`au_softmax goldens: ${c.name} matches PyTorch [${shapeOf(c.logits).join(', ')}]`, () => {
      const g = check(c, auSoftmaxLossRef);
      if (c.name.includes('clamp region')) {
        // the clamped elements (selected probability < 1e-3) have exactly zero gradient on both logits
        const K = c.labels[0]!.length;
        for (const [b, k] of [[0, 0], [1, 1], [3, 3]] as const) {
          expect(g[(b * 2) * K + k], `[${b}, 0, ${k}]`).to.equal(0);
          expect(g[(b * 2 + 1) * K + k], `[${b}, 1, ${k}]`).to.equal(0);
        }
        expect(g[(2 * 2) * K + 2], 'P0 = σ(−6) > 1e-3 is not clamped').to.not.equal(0);
      }
    });
  }
  it('wce goldens: the file covers weight and no weight, mean and sum, B = K = 1, the clamp region', () => {
    const all = [...GOLD.wce, ...GOLD.auSoftmax];
    for (const list of [GOLD.wce, GOLD.auSoftmax]) {
      expect(list.some((c) => c.weight === null)).to.equal(true);
      expect(list.some((c) => c.reduction === 'sum')).to.equal(true);
      expect(list.some((c) => c.labels.length === 1 && c.labels[0]!.length === 1)).to.equal(true);
    }
    expect(all.some((c) => c.name.includes('clamp region'))).to.equal(true);
  });
});
