import { expect } from 'chai';
import { argmax, max, mean, openDevice, rowVariant, subgroupLayout, sum, Tensor, type RowVariant } from '../../src/index.js';
import { map, nd, type NDArray } from '../../src/ref/ndarray.js';
import { argmaxRef, maxRef, maxVjp, meanRef, meanVjp, sumRef, sumVjp } from '../../src/ref/reduce.js';
import { assertClose, checkFiniteDiff, checkGpu, randn, sharedDevice } from '../helpers.js';

// sum: f32 accumulation; the error grows about like sqrt(len) * eps * |partial sums|, measured
// at most 1.4e-6 * sqrt(len) on these randn inputs (len up to 3e5); mean divides it by len.
// Backward: a copy of dy, scaled by 1 / len for the mean (one f32 rounding).
// max: the values are copied, not computed (inputs are f32-representable), so they are exact;
// the gradient is dy copied, off only by dy's rounding to f32 on upload (half an ulp).
const TOL = {
  sum: (len: number) => ({ atol: 4e-6 * Math.sqrt(len + 1), rtol: 1e-6 }),
  mean: (len: number) => ({ atol: 4e-6 / Math.sqrt(len + 1), rtol: 1e-6 }),
  bwd: { atol: 1e-7, rtol: 1e-6 },
  exact: { atol: 0, rtol: 0 },
  copy: { atol: 0, rtol: 2 ** -24 },
};

const VARIANTS: RowVariant[] = ['plain', 'subgroup'];

// [shape, axis (undefined: all elements), keepDims]
type Case = [number[], number | undefined, boolean];
const SUM_CASES: Case[] = [
  [[67], 0, false],
  [[3, 129], 1, false],
  [[33, 67], 0, true],
  [[2, 5, 33], 1, false],
  [[4, 1, 7], -2, true],
  [[67, 33], undefined, false],
  [[2, 3, 4], undefined, true],
  [[3, 10000], -1, false], // long rows, few outputs: two passes
  [[9000, 2], 0, false], // long strided axis: two passes
  [[300000], undefined, false], // full reduction: partial sums, then the partials
  [[37, 12], 0, false], // rows of a multiple of 4: 4 columns per invocation
  [[2, 9000, 8], 1, true], // the same over a long strided axis: two passes
];

const lenOf = (shape: number[], axis: number | undefined) => (axis === undefined ? shape.reduce((a, b) => a * b, 1) : shape.at(axis)!);
const label = (shape: number[], axis: number | undefined, keep: boolean) => `[${shape}] axis ${axis ?? 'all'}${keep ? ' keepDims' : ''}`;

/**
 * x with values spread so that no slice has ties (max's gradient is then well defined), rounded
 * to f32 so that the GPU sees exactly the reference's values.
 */
const distinct = (shape: number[], seed: number): NDArray => map(randn(shape, seed), (v, i) => Math.fround(v + i * 1e-3));

describe('reduce ops', () => {
  it('sum reference: gradient matches finite differences [3, 4, 5] axis 1', () => {
    checkFiniteDiff('sum', [randn([3, 4, 5], 1)], ([x]) => sumRef(x!, 1), ([x], dy) => [sumVjp(x!, dy, 1)]);
  });

  it('mean reference: gradient matches finite differences [3, 4, 5] axis -1 keepDims and all', () => {
    checkFiniteDiff('mean', [randn([3, 4, 5], 2)], ([x]) => meanRef(x!, -1, true), ([x], dy) => [meanVjp(x!, dy, -1, true)]);
    checkFiniteDiff('mean', [randn([4, 5], 3)], ([x]) => meanRef(x!), ([x], dy) => [meanVjp(x!, dy)]);
  });

  it('max reference: gradient matches finite differences, no ties [4, 6] axis 1 and [5, 3, 4] axis 0', () => {
    checkFiniteDiff('max', [distinct([4, 6], 4)], ([x]) => maxRef(x!, 1).values, ([x], dy) => [maxVjp(x!, dy, 1)]);
    checkFiniteDiff('max', [distinct([5, 3, 4], 5)], ([x]) => maxRef(x!, 0).values, ([x], dy) => [maxVjp(x!, dy, 0)]);
  });

  for (const [shape, axis, keep] of SUM_CASES) {
    const rowCase = axis === undefined || axis === -1 || axis === shape.length - 1 || shape.slice((axis + shape.length) % shape.length + 1).every((d) => d === 1);
    for (const variant of rowCase ? VARIANTS : VARIANTS.slice(0, 1)) {
      const len = lenOf(shape, axis);
      it(`sum ${variant}: forward and backward match the reference ${label(shape, axis, keep)}`, async function () {
        this.timeout(60000);
        await checkGpu({
          name: 'sum',
          inputs: [randn(shape, 7)],
          gpu: ([x]) => sum(x!, axis, keep, { variant }),
          ref: ([x]) => sumRef(x!, axis, keep),
          vjp: ([x], dy) => [sumVjp(x!, dy, axis, keep)],
          fwd: TOL.sum(len),
          bwd: TOL.bwd,
        });
      });
    }
  }

  for (const [shape, axis, keep] of [[[3, 129], 1, true], [[33, 67], 0, false], [[67, 33], undefined, false], [[3, 10000], 1, false]] as Case[]) {
    it(`mean gpu: forward and backward match the reference ${label(shape, axis, keep)}`, async () => {
      await checkGpu({
        name: 'mean',
        inputs: [randn(shape, 8)],
        gpu: ([x]) => mean(x!, axis, keep),
        ref: ([x]) => meanRef(x!, axis, keep),
        vjp: ([x], dy) => [meanVjp(x!, dy, axis, keep)],
        fwd: TOL.mean(lenOf(shape, axis)),
        bwd: TOL.bwd,
      });
    });
  }

  it('sum gpu: an empty axis sums to 0 and the mean is NaN, like PyTorch [2, 0, 3] axis 1, [0] all', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [2, 0, 3]);
    const s = x.sum(1);
    expect([...s.shape]).to.deep.equal([2, 3]);
    expect([...(await s.toArray())]).to.deep.equal([0, 0, 0, 0, 0, 0]);
    const m = await x.mean(1, true).toArray();
    expect(m.length).to.equal(6);
    expect([...m].every(Number.isNaN)).to.equal(true);
    const e = Tensor.empty(d, [0]);
    expect(await e.sum().item()).to.equal(0);
    expect(await e.mean().item()).to.be.NaN;
    expect([...Tensor.empty(d, [0, 5]).sum(1).shape]).to.deep.equal([0]);
  });

  const MAX_CASES: Case[] = [
    [[67], 0, false],
    [[3, 129], 1, false],
    [[67, 33], -1, true],
    [[2, 5, 33], 1, false],
    [[33, 67], 0, true],
    [[4, 1], 1, false],
    [[2, 5000], 1, false],
  ];
  for (const [shape, axis, keep] of MAX_CASES) {
    const last = axis === -1 || axis === shape.length - 1;
    for (const variant of last ? VARIANTS : VARIANTS.slice(0, 1)) {
      it(`max ${variant}: values, first indices and gradient match the reference ${label(shape, axis, keep)}`, async () => {
        const x = distinct(shape, 9);
        await checkGpu({
          name: 'max',
          inputs: [x],
          gpu: ([t]) => max(t!, axis!, keep, { variant }).values,
          ref: ([t]) => maxRef(t!, axis!, keep).values,
          vjp: ([t], dy) => [maxVjp(t!, dy, axis!, keep)],
          fwd: TOL.exact,
          bwd: TOL.copy,
        });
        const d = await sharedDevice();
        const idx = max(Tensor.from(d, x.data, x.shape), axis!, keep, { variant }).indices;
        expect(idx.dtype).to.equal('i32');
        expect([...idx.shape]).to.deep.equal(maxRef(x, axis!, keep).indices.shape);
        expect([...(await idx.toArray())]).to.deep.equal([...maxRef(x, axis!, keep).indices.data]);
      });
    }
  }

  it('max plain and subgroup: ties go to the first index and NaN propagates with its first index [6, 19]', async () => {
    const d = await sharedDevice();
    // rows: ties of the maximum; all equal; -inf with a tie; a NaN late; two NaN; the max at the end
    const rows = [
      [1, 3, 0, 3, 2, 3],
      [7, 7, 7, 7, 7, 7],
      [-Infinity, -Infinity, -5, -5, -Infinity, -6],
      [1, 2, 9, 4, 5, 6, 7, 8, 9, 3, 9, 1, 0, 0, 0, 0, NaN, 2, 9],
      [NaN, 1, NaN, 2],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ].map((r) => [...r, ...new Array<number>(19 - r.length).fill(-Infinity)]);
    const x = nd([rows.length, 19], rows.flat());
    const want = maxRef(x, 1);
    expect([...want.indices.data]).to.deep.equal([1, 0, 2, 16, 0, 18]);
    for (const variant of VARIANTS) {
      const { values, indices } = max(Tensor.from(d, x.data, x.shape), 1, false, { variant });
      expect([...(await indices.toArray())], `${variant} indices`).to.deep.equal([...want.indices.data]);
      assertClose(await values.toArray(), want.values, TOL.exact, `max ${variant} values`);
    }
  });

  it('argmax plain and subgroup: matches the reference, keepDims keeps a 1 [67, 33] axis -1 and [4, 9] axis 0', async () => {
    const d = await sharedDevice();
    for (const variant of VARIANTS) {
      for (const [shape, axis] of [[[67, 33], -1], [[4, 9], 0]] as [number[], number][]) {
        const x = distinct(shape, 12);
        const a = argmax(Tensor.from(d, x.data, shape), axis, true, { variant });
        const want = argmaxRef(x, axis, true);
        expect([...a.shape]).to.deep.equal(want.shape);
        expect(a.dtype).to.equal('i32');
        expect([...(await a.toArray())], `${variant} [${shape}]`).to.deep.equal([...want.data]);
      }
    }
  });

  it('sum plain and subgroup: the same input gives bit-identical output run to run [1000000] all and [64, 20000] axis 1', async () => {
    const d = await sharedDevice();
    for (const [shape, axis] of [[[1000000], undefined], [[64, 20000], 1]] as [number[], number | undefined][]) {
      const x = randn(shape, 21);
      const t = Tensor.from(d, x.data, shape);
      for (const variant of VARIANTS) {
        const runs = [];
        for (let r = 0; r < 3; r++) runs.push(new Uint32Array((await sum(t, axis, false, { variant }).toArray()).buffer));
        expect([...runs[1]!], `${variant} [${shape}] run 2`).to.deep.equal([...runs[0]!]);
        expect([...runs[2]!], `${variant} [${shape}] run 3`).to.deep.equal([...runs[0]!]);
      }
    }
  });

  it('sum and max subgroup: more rows than one grid dimension holds (75000 workgroups) [600000, 2]', async function () {
    this.timeout(60000);
    const x = distinct([600000, 2], 23);
    await checkGpu({
      name: 'sum',
      inputs: [x],
      gpu: ([t]) => sum(t!, 1, false, { variant: 'subgroup' }),
      ref: ([t]) => sumRef(t!, 1),
      vjp: ([t], dy) => [sumVjp(t!, dy, 1)],
      fwd: TOL.sum(2),
      bwd: TOL.bwd,
    });
    const d = await sharedDevice();
    const a = await argmax(Tensor.from(d, x.data, x.shape), 1, false, { variant: 'subgroup' }).toArray();
    expect([...a]).to.deep.equal([...argmaxRef(x, 1).data]);
  });

  it('Tensor methods: sum, mean, max and argmax [2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 5, 3, 4, 2, 6], [2, 3]);
    expect(await x.sum().item()).to.equal(21);
    expect([...(await x.mean(0).toArray())]).to.deep.equal([2.5, 3.5, 4.5]);
    expect([...x.sum(1, true).shape]).to.deep.equal([2, 1]);
    const m = x.max(1);
    expect([...(await m.values.toArray())]).to.deep.equal([5, 6]);
    expect([...(await m.indices.toArray())]).to.deep.equal([1, 2]);
    expect([...(await x.argmax(0).toArray())]).to.deep.equal([1, 0, 1]);
  });

  it('max gpu: the gradient reaches the argmax through a chain (mean of max) [3, 4]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 9, 2, 3, 8, 0, 4, 4.5, 7, 6, 5, 1], [3, 4], { requiresGrad: true });
    x.max(0).values.mean().backward();
    expect([...(await x.grad!.toArray())].map((v) => Math.round(v * 4))).to.deep.equal([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]);
  });

  it('reduce: bad axes, an empty max axis and i32 inputs are errors naming the op and shape, before any dispatch', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [2, 3]);
    const before = d.counters.dispatches;
    expect(() => sum(x, 2)).to.throw(RangeError, /sum: axis 2 is out of range for rank 2/);
    expect(() => mean(x, -3)).to.throw(RangeError, /mean: axis -3 is out of range for rank 2/);
    expect(() => max(x, 5)).to.throw(RangeError, /max: axis 5 is out of range for rank 2/);
    expect(() => max(Tensor.empty(d, [2, 0]), 1)).to.throw(RangeError, /max: cannot reduce over axis 1 of shape \[2, 0\], which is empty/);
    expect(() => argmax(Tensor.empty(d, [0, 4]), 0)).to.throw(RangeError, /argmax: cannot reduce over axis 0 of shape \[0, 4\]/);
    expect(() => sum(Tensor.from(d, new Int32Array([1, 2]), [2]))).to.throw(TypeError, /sum: expects f32 inputs, got i32\[2\]/);
    expect(d.counters.dispatches).to.equal(before);
  });

  it('rowVariant: subgroups for few rows; on a CPU adapter one invocation per row for many rows', async () => {
    const d = await sharedDevice();
    const layout = subgroupLayout(d);
    if (!layout) {
      expect(rowVariant('sum', d, 10)).to.equal('plain');
      return;
    }
    expect(layout.WG).to.equal(layout.LANES * layout.ROWS);
    expect(layout.LANES).to.be.at.least(d.adapter.subgroupMinSize ?? 1);
    expect(rowVariant('sum', d, 10)).to.equal('subgroup');
    expect(rowVariant('sum', d, 9408)).to.equal(d.adapter.isFallbackAdapter ? 'plain' : 'subgroup');
    expect(rowVariant('sum', d, 9408, { variant: 'subgroup' })).to.equal('subgroup');
  });

  it('reduce: without subgroups the plain variant runs, and asking for the subgroup one is an error [3, 129]', async () => {
    const d = await openDevice({ disableFeatures: ['subgroups'] });
    try {
      expect(d.has('subgroups')).to.equal(false);
      const x = randn([3, 129], 31);
      const t = Tensor.from(d, x.data, x.shape);
      assertClose(await t.sum(1).toArray(), sumRef(x, 1), TOL.sum(129), 'sum without subgroups');
      expect([...(await t.argmax(1).toArray())]).to.deep.equal([...argmaxRef(x, 1).data]);
      expect(() => sum(t, 1, false, { variant: 'subgroup' })).to.throw(/sum: the subgroup variant needs the 'subgroups' feature/);
    } finally {
      d.destroy();
    }
  });
});
