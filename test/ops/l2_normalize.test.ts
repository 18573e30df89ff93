import { expect } from 'chai';
import { l2Normalize, Tensor, type Device } from '../../src/index.js';
import { l2NormalizeRef, l2NormalizeVjp } from '../../src/ref/l2_normalize.js';
import { map, type NDArray } from '../../src/ref/ndarray.js';
import { checkFiniteDiff, checkGpu, randn, sharedDevice } from '../helpers.js';

// Forward: a sum of at most 129 squares, a sqrt and a division: a few f32 ulps (relative ~1e-6)
// on values <= 1. Backward: one more dot product over the vector, divided by the norm (the norms
// here are >= ~1, so no amplification beyond ~1e-6 relative); the eps branch is a single division.
const TOL = { fwd: { atol: 1e-6, rtol: 1e-5 }, bwd: { atol: 1e-5, rtol: 1e-5 } };

const cases: [number[], number][] = [
  [[67], 0],
  [[3, 129], -1],
  [[3, 129], 0],
  [[33, 5, 7], 1],
  [[33, 5, 7], -3],
  [[2, 3, 4, 5], 2],
  [[1, 1], -1],
  [[4, 1], -1],
  [[2, 0, 3], 1],
  [[2, 0, 3], 2],
];

describe('l2 normalize', () => {
  for (const axis of [-1, 0, 1]) {
    it(`l2Normalize reference: gradient matches finite differences, axis ${axis} [3, 4, 5]`, () => {
      checkFiniteDiff('l2Normalize', [randn([3, 4, 5], 1)], ([x]) => l2NormalizeRef(x!, axis), ([x], dy) => [l2NormalizeVjp(x!, axis, 1e-12, dy)]);
    });
  }

  it('l2Normalize reference: the eps branch (norm <= eps) matches finite differences [6, 3]', () => {
    // eps = 0.5: rows scaled by 0.1 have norms below eps (y = x / eps), the others above
    const x = map(randn([6, 3], 2), (v, i) => (Math.floor(i / 3) % 2 ? v * 0.1 : v + 1));
    checkFiniteDiff('l2Normalize eps', [x], ([a]) => l2NormalizeRef(a!, -1, 0.5), ([a], dy) => [l2NormalizeVjp(a!, -1, 0.5, dy)]);
  });

  for (const [shape, axis] of cases) {
    it(`l2Normalize gpu: forward and backward match the reference, axis ${axis} [${shape}]`, async () => {
      await checkGpu({
        name: 'l2Normalize',
        inputs: [randn(shape, 7)],
        gpu: ([x]) => l2Normalize(x!, axis),
        ref: ([x]) => l2NormalizeRef(x!, axis),
        vjp: ([x], dy) => [l2NormalizeVjp(x!, axis, 1e-12, dy)],
        ...TOL,
      });
    });
  }

  it('l2Normalize gpu eps: vectors with norms below and above eps match the reference [6, 33]', async () => {
    const x = map(randn([6, 33], 3), (v, i) => (Math.floor(i / 33) % 2 ? v * 0.01 : v));
    await checkGpu({
      name: 'l2Normalize eps',
      inputs: [x],
      gpu: ([t]) => l2Normalize(t!, -1, 0.5),
      ref: ([t]) => l2NormalizeRef(t!, -1, 0.5),
      vjp: ([t], dy) => [l2NormalizeVjp(t!, -1, 0.5, dy)],
      ...TOL,
    });
  });

  it('l2Normalize gpu: a zero vector gives zeros and the gradient dy / eps [3, 4]', async () => {
    const x = map(randn([3, 4], 4), (v, i) => (i < 4 ? 0 : v));
    await checkGpu({
      name: 'l2Normalize zero',
      inputs: [x],
      gpu: ([t]) => l2Normalize(t!),
      ref: ([t]) => l2NormalizeRef(t!),
      vjp: ([t], dy) => [l2NormalizeVjp(t!, -1, 1e-12, dy)],
      ...TOL,
    });
    const d = await sharedDevice();
    const y = await Tensor.from(d, x.data, [3, 4]).l2Normalize().toArray();
    expect([...y.slice(0, 4)]).to.deep.equal([0, 0, 0, 0]);
  });

  it('l2Normalize gpu: more vectors than one grid dimension holds [4200000, 2]', async function () {
    this.timeout(120000);
    await checkGpu({
      name: 'l2Normalize many',
      inputs: [map(randn([4200000, 2], 5), (v) => v + 0.5)],
      gpu: ([x]) => l2Normalize(x!),
      ref: ([x]) => l2NormalizeRef(x!),
      ...TOL,
    });
  });

  it('l2Normalize: the Tensor method matches the function and gives unit norms [5, 16]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, randn([5, 16], 6).data, [5, 16]);
    const a = await x.l2Normalize(0, 1e-6).toArray();
    const b = await l2Normalize(x, 0, 1e-6).toArray();
    expect([...a]).to.deep.equal([...b]);
    const rows = await x.l2Normalize().toArray();
    for (let r = 0; r < 5; r++) {
      let s = 0;
      for (let c = 0; c < 16; c++) s += rows[r * 16 + c]! ** 2;
      expect(Math.sqrt(s)).to.be.closeTo(1, 1e-6);
    }
  });

  describe('l2Normalize errors (raised before any dispatch)', () => {
    const bad: [string, (d: Device) => Tensor, RegExp][] = [
      ['an axis out of range', (d) => l2Normalize(Tensor.empty(d, [2, 3]), 2), /l2Normalize: axis 2 is out of range for rank 2/],
      ['a negative axis out of range', (d) => l2Normalize(Tensor.empty(d, [2, 3]), -3), /l2Normalize: axis -3 is out of range for rank 2/],
      ['a scalar input', (d) => l2Normalize(Tensor.empty(d, [])), /l2Normalize: x \[\] must have at least one dimension/],
      ['eps = 0', (d) => l2Normalize(Tensor.empty(d, [2, 3]), -1, 0), /l2Normalize: eps must be finite and > 0, got 0/],
    ];
    for (const [what, call, msg] of bad) {
      it(`l2Normalize: ${what} is an error naming the op and shape`, async () => {
        const d = await sharedDevice();
        const before = d.counters.dispatches;
        expect(() => call(d)).to.throw(RangeError, msg);
        expect(d.counters.dispatches).to.equal(before);
      });
    }
  });
});
