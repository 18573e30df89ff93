import { expect } from 'chai';
import { logSoftmax, openDevice, softmax, Tensor, type RowVariant } from '../../src/index.js';
import { map, nd, type NDArray } from '../../src/ref/ndarray.js';
import { logSoftmaxRef, logSoftmaxVjp, softmaxRef, softmaxVjp } from '../../src/ref/softmax.js';
import { assertClose, checkFiniteDiff, checkGpu, randn, sharedDevice } from '../helpers.js';

// softmax: f32 exp (~1e-7 relative) and a sum over the slice; measured at most 1.8e-6 absolute
// and 4e-6 relative (rows of 1000). log-softmax: (x - max) - log(s) is rounded at the magnitude
// of the logits' spread, measured 8e-6 absolute for logits of scale 30. Backward: dx = p * (dy -
// sum(dy * p)) measured 9e-7 absolute; log-softmax's dx = dy - p * sum(dy) carries the f32 error
// of sum(dy) over the slice, measured 4e-5 absolute for rows of 1000.
const TOL = {
  softmax: { fwd: { atol: 1e-7, rtol: 2e-5 }, bwd: { atol: 3e-6, rtol: 1e-4 } },
  logSoftmax: { fwd: { atol: 2e-5, rtol: 1e-5 }, bwd: { atol: 1e-4, rtol: 1e-4 } },
};

const OPS = {
  softmax: { gpu: softmax, ref: softmaxRef, vjp: softmaxVjp },
  logSoftmax: { gpu: logSoftmax, ref: logSoftmaxRef, vjp: logSoftmaxVjp },
} as const;
type Op = keyof typeof OPS;

const VARIANTS: RowVariant[] = ['plain', 'subgroup'];

// [shape, axis, scale of the logits]
type Case = [number[], number, number];
const CASES: Case[] = [
  [[67], 0, 3],
  [[3, 129], -1, 3],
  [[33, 49], 1, 3],
  [[4, 1], -1, 1], // one element per row: probability 1, gradient 0
  [[8, 1000], -1, 3],
  [[9408, 49], -1, 1], // attention rows
  [[2, 5, 33], 1, 3], // a middle axis
  [[33, 2, 3], 0, 30], // a leading axis, large logits
  [[2, 0, 3], 1, 1], // empty
];

/** Some entries masked to -inf (never a whole row). */
function masked(shape: number[], seed: number): NDArray {
  return map(randn(shape, seed, 2), (v, i) => (i % 3 === 1 ? -Infinity : v));
}

describe('softmax ops', () => {
  for (const op of Object.keys(OPS) as Op[]) {
    const { gpu, ref, vjp } = OPS[op];

    it(`${op} reference: gradient matches finite differences [3, 7] axis -1 and [4, 5, 3] axis 1`, () => {
      checkFiniteDiff(op, [randn([3, 7], 1, 2)], ([x]) => ref(x!, -1), ([x], dy) => [vjp(x!, dy, -1)]);
      checkFiniteDiff(op, [randn([4, 5, 3], 2, 2)], ([x]) => ref(x!, 1), ([x], dy) => [vjp(x!, dy, 1)]);
    });

    for (const [shape, axis, scale] of CASES) {
      const last = axis === -1 || axis === shape.length - 1;
      for (const variant of last ? VARIANTS : VARIANTS.slice(0, 1)) {
        it(`${op} ${variant}: forward and backward match the reference [${shape}] axis ${axis}${scale !== 1 ? ` scale ${scale}` : ''}`, async function () {
          this.timeout(60000);
          await checkGpu({
            name: op,
            inputs: [randn(shape, 5, scale)],
            gpu: ([x]) => gpu(x!, axis, { variant }),
            ref: ([x]) => ref(x!, axis),
            vjp: ([x], dy) => [vjp(x!, dy, axis)],
            ...TOL[op],
          });
        });
      }
    }

    it(`${op} plain and subgroup: masked -inf entries get probability 0, an all -inf row gives NaN [6, 19]`, async () => {
      const x = masked([6, 19], 3);
      for (let c = 0; c < 19; c++) x.data[2 * 19 + c] = -Infinity; // row 2: fully masked
      const want = ref(x, -1);
      expect([...want.data.slice(2 * 19, 3 * 19)].every(Number.isNaN)).to.equal(true);
      const dy = randn([6, 19], 4);
      const d = await sharedDevice();
      for (const variant of VARIANTS) {
        const t = Tensor.from(d, x.data, x.shape, { requiresGrad: true });
        const y = gpu(t, -1, { variant });
        const got = await y.toArray();
        assertClose(got, want, TOL[op].fwd, `${op} ${variant} masked forward`);
        for (let i = 0; i < x.data.length; i++) {
          if (x.data[i] === -Infinity && Math.floor(i / 19) !== 2) expect(got[i], `${variant} [${i}]`).to.equal(op === 'softmax' ? 0 : -Infinity);
        }
        y.backward(Tensor.from(d, dy.data, dy.shape));
        assertClose(await t.grad!.toArray(), vjp(x, dy, -1), TOL[op].bwd, `${op} ${variant} masked backward`);
      }
    });

    it(`${op} plain and subgroup: logits of 1e4 do not overflow [3, 40]`, async () => {
      // rounded to f32 so that the reference sees the GPU's inputs (an f32 ulp at 1e4 is 1e-3)
      const x = map(randn([3, 40], 6), (v, i) => Math.fround((i % 2 ? 1e4 : -1e4) + v));
      const d = await sharedDevice();
      for (const variant of VARIANTS) {
        await checkGpu({ name: `${op} ${variant}`, inputs: [x], gpu: ([t]) => gpu(t!, -1, { variant }), ref: ([t]) => ref(t!, -1), fwd: TOL[op].fwd });
        const y = await gpu(Tensor.from(d, x.data, x.shape), -1, { variant }).toArray();
        expect([...y].every(Number.isFinite), `${op} ${variant}: finite`).to.equal(true);
      }
    });

    it(`${op} plain and subgroup: NaN poisons its row, +inf gives NaN there and 0 probability elsewhere (PyTorch) [3, 3]`, async () => {
      const d = await sharedDevice();
      for (const variant of VARIANTS) {
        const y = await gpu(Tensor.from(d, [1, NaN, 2, Infinity, 0, -Infinity, 0, 0, 0], [3, 3]), -1, { variant }).toArray();
        expect([...y.slice(0, 3)].every(Number.isNaN), `${variant}: NaN row`).to.equal(true);
        expect(y[3], `${variant}: +inf entry`).to.be.NaN;
        expect([y[4], y[5]], `${variant}: beside +inf`).to.deep.equal(op === 'softmax' ? [0, 0] : [-Infinity, -Infinity]);
        assertClose(y.slice(6), op === 'softmax' ? [1 / 3, 1 / 3, 1 / 3] : [-Math.log(3), -Math.log(3), -Math.log(3)], TOL[op].fwd, `${op} ${variant} plain row`);
      }
    });

    it(`${op} plain and subgroup: the same input gives bit-identical output run to run [9408, 49]`, async () => {
      const d = await sharedDevice();
      const x = randn([9408, 49], 8, 3);
      const t = Tensor.from(d, x.data, x.shape);
      for (const variant of VARIANTS) {
        const a = new Uint32Array((await gpu(t, -1, { variant }).toArray()).buffer);
        const b = new Uint32Array((await gpu(t, -1, { variant }).toArray()).buffer);
        expect(a.length).to.equal(9408 * 49);
        expect(a.every((v, i) => v === b[i]), `${variant}: identical bits`).to.equal(true);
      }
    });
  }

  it('softmax subgroup: more rows than one grid dimension holds (67500 workgroups) [540000, 3]', async function () {
    this.timeout(60000);
    await checkGpu({
      name: 'softmax',
      inputs: [randn([540000, 3], 10, 3)],
      gpu: ([x]) => softmax(x!, -1, { variant: 'subgroup' }),
      ref: ([x]) => softmaxRef(x!),
      vjp: ([x], dy) => [softmaxVjp(x!, dy)],
      ...TOL.softmax,
    });
  });

  it('Tensor methods: softmax and logSoftmax default to the last axis [2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [0, Math.log(2), Math.log(3), 1, 1, 1], [2, 3]);
    assertClose(await x.softmax().toArray(), [1 / 6, 2 / 6, 3 / 6, 1 / 3, 1 / 3, 1 / 3], TOL.softmax.fwd, 'softmax method');
    assertClose(await x.logSoftmax(0).toArray(), logSoftmaxRef(nd([2, 3], [0, Math.log(2), Math.log(3), 1, 1, 1]), 0), TOL.logSoftmax.fwd, 'logSoftmax method');
  });

  it('softmax: a bad axis and an i32 input are errors naming the op and shape, before any dispatch', async () => {
    const d = await sharedDevice();
    const before = d.counters.dispatches;
    expect(() => softmax(Tensor.empty(d, [2, 3]), 2)).to.throw(RangeError, /softmax: axis 2 is out of range for rank 2/);
    expect(() => Tensor.empty(d, [4]).logSoftmax(-2)).to.throw(RangeError, /logSoftmax: axis -2 is out of range for rank 1/);
    expect(() => softmax(Tensor.from(d, new Int32Array([1, 2]), [2]))).to.throw(TypeError, /softmax: expects f32 inputs, got i32\[2\]/);
    expect(d.counters.dispatches).to.equal(before);
  });

  it('softmax: without subgroups the plain variant runs, and asking for the subgroup one is an error [3, 129]', async () => {
    const d = await openDevice({ disableFeatures: ['subgroups'] });
    try {
      const x = randn([3, 129], 9, 3);
      const t = Tensor.from(d, x.data, x.shape);
      assertClose(await t.softmax().toArray(), softmaxRef(x), TOL.softmax.fwd, 'softmax without subgroups');
      expect(() => logSoftmax(t, -1, { variant: 'subgroup' })).to.throw(/logSoftmax: the subgroup variant needs the 'subgroups' feature/);
    } finally {
      d.destroy();
    }
  });
});
