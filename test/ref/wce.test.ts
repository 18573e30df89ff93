// The float64 references of the paper's WCE (Eq 1) and the released au_softmax_loss
// (src/ref/wce.ts) against central finite differences, values worked out by hand, each other,
// the clamp's zero-gradient region and its boundary, and bad input. No GPU involved.
import { expect } from 'chai';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { AU_SOFTMAX_CLAMP_MIN, auSoftmaxLossRef, wceLossRef, type AuSoftmaxOptions, type WceOptions } from '../../src/ref/wce.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, checkFiniteDiff, randn } from '../helpers.js';

type Labels = number[][];
type LossRef = (x: NDArray, y: Labels, o?: AuSoftmaxOptions) => { loss: number; grad: NDArray };

function randomLabels(B: number, K: number, seed: number): Labels {
  const r = new Rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: K }, () => (r.next() < 0.35 ? 1 : 0)));
}

function randomWeight(K: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: K }, () => r.uniform(0.5, 1.5));
}

/** The loss as a one-element NDArray and its VJP, for checkFiniteDiff. */
function fdCheck(what: string, ref: LossRef, x: NDArray, y: Labels, o: AuSoftmaxOptions): void {
  checkFiniteDiff(
    what,
    [x],
    ([v]) => nd([1], [ref(v!, y, o).loss]),
    ([v], dy) => [nd(v!.shape, ref(v!, y, o).grad.data.map((g) => g * dy.data[0]!))],
  );
}

const softplus = (v: number) => Math.log(1 + Math.exp(v));
/** the values with -0 read as 0 (the sign of a zero gradient is not part of the contract) */
const zeros = (a: ArrayLike<number>) => Array.from(a, (v) => (v === 0 ? 0 : v));

describe('wce reference', () => {
  const cases: { B: number; K: number; o: WceOptions }[] = [
    { B: 5, K: 3, o: {} },
    { B: 5, K: 3, o: { weight: [0.5, 1.25, 2], reduction: 'sum' } },
    { B: 1, K: 1, o: {} },
    { B: 67, K: 12, o: { weight: randomWeight(12, 3) } },
  ];
  for (const { B, K, o } of cases) {
    const tag = `${o.weight ? 'weighted' : 'unweighted'}, ${o.reduction ?? 'mean'}`;
    it(`wceLossRef ${tag}: gradient matches finite differences [${B}, ${K}]`, () => {
      fdCheck('wceLossRef', wceLossRef, randn([B, K], 11, 2), randomLabels(B, K, 12), o);
    });
    it(`auSoftmaxLossRef ${tag}: gradient matches finite differences [${B}, 2, ${K}]`, () => {
      // |l0 - l1| ~ 2.8 sd: the clamp kink at |l0 - l1| = 6.9 is far from all but a few, and those
      // are in the flat region where both sides agree (the kink itself is never within eps)
      fdCheck('auSoftmaxLossRef', auSoftmaxLossRef, randn([B, 2, K], 13, 2), randomLabels(B, K, 14), o);
    });
  }

  it('wceLossRef: hand-worked values, weights and both reductions [2, 2]', () => {
    const x = nd([2, 2], [2, -1, 0, 3]);
    const y = [[1, 0], [0, 1]];
    const w = [0.5, 1.5];
    const terms = [0.5 * softplus(-2), 1.5 * softplus(-1), 0.5 * Math.log(2), 1.5 * softplus(-3)];
    const total = terms.reduce((a, b) => a + b, 0);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const gSum = [0.5 * (sig(2) - 1), 1.5 * sig(-1), 0.5 * 0.5, 1.5 * (sig(3) - 1)];
    const s = wceLossRef(x, y, { weight: w, reduction: 'sum' });
    const m = wceLossRef(x, y, { weight: w });
    expect(s.loss).to.be.closeTo(total, 1e-14);
    expect(m.loss).to.be.closeTo(total / 4, 1e-14);
    assertClose(s.grad.data, gSum, { atol: 1e-15, rtol: 1e-13 }, 'sum gradient');
    assertClose(m.grad.data, gSum.map((g) => g / 4), { atol: 1e-15, rtol: 1e-13 }, 'mean gradient');
    expect(wceLossRef(x, y, { weight: null }).loss).to.equal(wceLossRef(x, y).loss);
  });

  it('wceLossRef: stable at |logit| = 800, exact softplus tails [2, 2]', () => {
    const { loss, grad } = wceLossRef(nd([2, 2], [800, -800, -800, 30]), [[1, 0], [1, 1]], { reduction: 'sum' });
    expect(loss).to.be.closeTo(800 + Math.exp(-30), 1e-9);
    expect(zeros(grad.data.slice(0, 3))).to.deep.equal([0, 0, -1]);
    expect(grad.data[3]).to.be.closeTo(-1 / (1 + Math.exp(30)), 1e-27);
  });

  it('auSoftmaxLossRef: equals wceLossRef of l0 - l1 where no clamp is active [7, 2, 5]', () => {
    const x = randn([7, 2, 5], 21, 1.5);
    const y = randomLabels(7, 5, 22);
    const w = randomWeight(5, 23);
    const diff = nd([7, 5]);
    for (let b = 0; b < 7; b++) for (let k = 0; k < 5; k++) diff.data[b * 5 + k] = x.data[b * 10 + k]! - x.data[b * 10 + 5 + k]!;
    const a = auSoftmaxLossRef(x, y, { weight: w });
    const c = wceLossRef(diff, y, { weight: w });
    expect(a.loss).to.be.closeTo(c.loss, 1e-14);
    for (let b = 0; b < 7; b++) {
      for (let k = 0; k < 5; k++) {
        expect(a.grad.data[b * 10 + k]).to.be.closeTo(c.grad.data[b * 5 + k]!, 1e-16);
        expect(a.grad.data[b * 10 + 5 + k]).to.equal(-a.grad.data[b * 10 + k]!);
      }
    }
  });

  it('auSoftmaxLossRef: the clamp region passes zero gradient and costs -w log(1e-3) [4, 2, 1]', () => {
    // y = 1 with P0 = sigmoid(-10) and y = 0 with P1 = sigmoid(-10): both clamped; the other two not
    const x = nd([4, 2, 1], [-4, 6, 6, -4, 3, 0, 0, 3]);
    const y = [[1], [0], [1], [0]];
    const { loss, grad } = auSoftmaxLossRef(x, y, { weight: [2], reduction: 'sum' });
    expect(zeros(grad.data.slice(0, 4))).to.deep.equal([0, 0, 0, 0]);
    expect(grad.data[4]).to.be.closeTo(-2 / (1 + Math.exp(3)), 1e-15);
    expect(grad.data[6]).to.be.closeTo(2 / (1 + Math.exp(3)), 1e-15);
    expect(loss).to.be.closeTo(2 * (-2 * Math.log(AU_SOFTMAX_CLAMP_MIN) + 2 * softplus(-3)), 1e-13);
  });

  it('auSoftmaxLossRef: at P = clampMin exactly the gradient passes; one ulp above the floor it does not [2, 2, 1]', () => {
    // l0 = l1 gives P0 = P1 = 0.5 exactly
    const x = nd([2, 2, 1], [0.25, 0.25, -1, -1]);
    const y = [[1], [0]];
    const at = auSoftmaxLossRef(x, y, { clampMin: 0.5, reduction: 'sum' });
    expect([...at.grad.data]).to.deep.equal([-0.5, 0.5, 0.5, -0.5]);
    expect(at.loss).to.equal(-2 * Math.log(0.5));
    const above = auSoftmaxLossRef(x, y, { clampMin: 0.5 + 2 ** -53, reduction: 'sum' });
    expect([...above.grad.data].every((g) => g === 0)).to.equal(true);
    expect(above.loss).to.equal(-2 * Math.log(0.5 + 2 ** -53));
  });

  it('auSoftmaxLossRef: clampMin 0 is the plain two-class cross-entropy, finite at a logit gap of 1000 [1, 2, 2]', () => {
    const { loss, grad } = auSoftmaxLossRef(nd([1, 2, 2], [-500, 3, 500, 3]), [[1, 0]], { clampMin: 0, reduction: 'sum' });
    expect(loss).to.be.closeTo(1000 + Math.log(2), 1e-9);
    expect([...grad.data]).to.deep.equal([-1, 0.5, 1, -0.5]);
  });

  it('wceLossRef, auSoftmaxLossRef: an empty batch has mean NaN and sum 0 [0, 4]', () => {
    expect(wceLossRef(nd([0, 4]), []).loss).to.be.NaN;
    expect(auSoftmaxLossRef(nd([0, 2, 4]), [], { reduction: 'sum' }).loss).to.equal(0);
    expect(wceLossRef(nd([0, 4]), []).grad.shape).to.deep.equal([0, 4]);
  });

  it('wceLossRef, auSoftmaxLossRef: bad input names the op, the shapes, and the row and AU of a bad label', () => {
    const x2 = nd([2, 3]);
    const x3 = nd([2, 2, 3]);
    const y = [[0, 1, 0], [1, 1, 0]];
    expect(() => wceLossRef(x3, y)).to.throw(RangeError, /wceLossRef: logits must be \[B, K\]; got shape \[2, 2, 3\]/);
    expect(() => auSoftmaxLossRef(nd([2, 3, 3]), y)).to.throw(RangeError, /auSoftmaxLossRef: logits must be \[B, 2, K\]; got shape \[2, 3, 3\]/);
    expect(() => wceLossRef(x2, [[0, 1, 0]])).to.throw(RangeError, /wceLossRef: labels have 1 rows, logits of shape \[2, 3\] need B = 2/);
    expect(() => wceLossRef(x2, [[0, 1, 0], [1, 1]])).to.throw(RangeError, /labels row 1 has 2 entries.*need K = 3/);
    expect(() => auSoftmaxLossRef(x3, [[0, 1, 0], [1, 2, 0]])).to.throw(RangeError, /auSoftmaxLossRef: label at row 1, AU 1 is 2; labels must be 0 or 1/);
    expect(() => wceLossRef(x2, [[0, 0.5, 0], [1, 1, 0]])).to.throw(RangeError, /label at row 0, AU 1 is 0.5/);
    expect(() => wceLossRef(x2, [[0, 1, NaN], [1, 1, 0]])).to.throw(RangeError, /label at row 0, AU 2 is NaN/);
    expect(() => wceLossRef(x2, y, { weight: [1, 1] })).to.throw(RangeError, /weight has shape \[2\], logits have shape \[2, 3\] \(expected \[3\]\)/);
    expect(() => auSoftmaxLossRef(x3, y, { weight: [1, Infinity, 1] })).to.throw(RangeError, /weight\[1\] is Infinity; weights must be finite/);
    expect(() => wceLossRef(x2, y, { reduction: 'none' as 'sum' })).to.throw(RangeError, /unknown reduction 'none'/);
    expect(() => auSoftmaxLossRef(x3, y, { clampMin: 1 })).to.throw(RangeError, /clampMin must be in \[0, 1\), got 1/);
    expect(() => auSoftmaxLossRef(x3, y, { clampMin: NaN })).to.throw(RangeError, /clampMin must be in \[0, 1\), got NaN/);
  });
});
