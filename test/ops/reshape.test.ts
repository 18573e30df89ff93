import { expect } from 'chai';
import { flatten, reshape, squeeze, Tensor, unsqueeze } from '../../src/index.js';
import { reshapeRef, reshapeVjp, roundF32 } from '../../src/ref/shape_ops.js';
import { checkFiniteDiff, checkGpu, randn as randn64, sharedDevice } from '../helpers.js';

// Views move no values: forward and backward are exact (tolerance 0, bit-equal). Test data and dy
// are rounded to f32 first so that the float64 reference sees the values the GPU sees.
const TOL = { fwd: { atol: 0, rtol: 0 }, bwd: { atol: 0, rtol: 0 } };
const randn = (shape: number[], seed: number) => roundF32(randn64(shape, seed));

const CASES: [number[], number[], number[]][] = [
  // input shape, requested shape, resolved shape
  [[67], [1, 67], [1, 67]],
  [[3, 129], [129, -1], [129, 3]],
  [[2, 3, 4], [4, -1], [4, 6]],
  [[1], [], []],
  [[], [1, 1], [1, 1]],
  [[2, 0, 3], [0, 6], [0, 6]],
  [[2, 0, 3], [3, -1, 2], [3, 0, 2]],
  [[2, 3, 4, 5, 6], [-1], [720]],
  [[1, 2, 3, 1, 2, 3], [6, 1, 6], [6, 1, 6]],
];

describe('reshape ops', () => {
  it('reshape reference: gradient matches finite differences [2, 3, 4] -> [6, 4]', () => {
    checkFiniteDiff('reshape', [randn([2, 3, 4], 1)], ([x]) => reshapeRef(x!, [6, 4]), ([x], dy) => [reshapeVjp(x!, roundF32(dy))]);
  });

  for (const [from, to, want] of CASES) {
    it(`reshape gpu: forward and backward are exact [${from}] -> [${to}]`, async () => {
      await checkGpu({
        name: 'reshape',
        inputs: [randn(from, 3)],
        gpu: ([x]) => reshape(x!, to),
        ref: ([x]) => reshapeRef(x!, want),
        vjp: ([x], dy) => [reshapeVjp(x!, roundF32(dy))],
        ...TOL,
      });
    });
  }

  it('reshape gpu: the result shares the input buffer (no copy) [2, 3] -> [3, 2]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2, 3, 4, 5, 6], [2, 3]);
    const before = d.counters.dispatches;
    const y = x.reshape([3, 2]);
    expect(y.buffer).to.equal(x.buffer);
    expect(d.counters.dispatches).to.equal(before);
    expect([...y.shape]).to.deep.equal([3, 2]);
    x.dispose();
    y.dispose();
  });

  it('reshape gpu: the view survives a dispose of the original (storage is refcounted) [2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2, 3, 4, 5, 6], [2, 3]);
    const y = x.reshape([6]).unsqueeze(0).flatten();
    x.dispose();
    expect(x.disposed).to.equal(true);
    // a new tensor must not be handed the shared buffer
    const z = Tensor.from(d, [9, 9, 9, 9, 9, 9], [6]);
    expect(z.buffer).to.not.equal(y.buffer);
    expect([...(await y.toArray())]).to.deep.equal([1, 2, 3, 4, 5, 6]);
    y.dispose();
    z.dispose();
  });

  it('reshape gpu: gradient of a chain through views reaches the leaf at its shape [2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true });
    const y = x.reshape([3, 2]).transpose(0, 1).flatten().mul(2);
    y.backward(Tensor.from(d, [1, 2, 3, 4, 5, 6], [6]));
    expect([...x.grad!.shape]).to.deep.equal([2, 3]);
    // y = 2 * [x0, x2, x4, x1, x3, x5]
    expect([...(await x.grad!.toArray())]).to.deep.equal([2, 8, 4, 10, 6, 12]);
  });

  it('reshape gpu: i32 tensors reshape too [4]', async () => {
    const d = await sharedDevice();
    const t = Tensor.from(d, new Int32Array([1, -2, 3, 4]), [4]).reshape([2, 2]);
    expect(t.dtype).to.equal('i32');
    expect([...(await t.toArray())]).to.deep.equal([1, -2, 3, 4]);
  });

  it('reshape: a different element count names the op and both shapes', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [2, 3]);
    expect(() => x.reshape([4, 2])).to.throw(RangeError, 'reshape: cannot reshape [2, 3] (6 elements) to [4, 2]');
    expect(() => x.reshape([4, -1])).to.throw(RangeError, 'reshape: cannot reshape [2, 3] (6 elements) to [4, -1]');
  });

  it('reshape: two -1, negative or fractional dims, and an -1 beside 0 are errors naming the shapes', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [2, 3]).reshape([-1, -1])).to.throw(RangeError, 'reshape: only one dimension may be -1, got [-1, -1]');
    expect(() => Tensor.empty(d, [2, 3]).reshape([-2, -3])).to.throw(RangeError, 'reshape: invalid shape [-2, -3]');
    expect(() => Tensor.empty(d, [2, 3]).reshape([1.5, 4])).to.throw(RangeError, 'reshape: invalid shape [1.5, 4]');
    expect(() => Tensor.empty(d, [0, 3]).reshape([0, -1])).to.throw(RangeError, 'reshape: cannot infer the -1 in [0, -1] for [0, 3] (0 elements)');
  });

  it('reshape: a disposed input is an error naming the op', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [2, 3]);
    x.dispose();
    expect(() => x.reshape([6])).to.throw(/reshape: input f32\[2, 3\] was disposed/);
  });

  it('flatten gpu: merges a range of axes, negative axes included [2, 3, 4, 5]', async () => {
    await checkGpu({
      name: 'flatten',
      inputs: [randn([2, 3, 4, 5], 5)],
      gpu: ([x]) => flatten(x!, 1, -2),
      ref: ([x]) => reshapeRef(x!, [2, 12, 5]),
      vjp: ([x], dy) => [reshapeVjp(x!, roundF32(dy))],
      ...TOL,
    });
    const d = await sharedDevice();
    expect([...Tensor.empty(d, [2, 3, 4, 5]).flatten().shape]).to.deep.equal([120]);
    expect([...Tensor.empty(d, [2, 3, 4, 5]).flatten(2).shape]).to.deep.equal([2, 3, 20]);
    expect([...Tensor.empty(d, []).flatten().shape]).to.deep.equal([1]);
    expect([...Tensor.empty(d, [2, 0, 3]).flatten(0, 1).shape]).to.deep.equal([0, 3]);
  });

  it('flatten: startDim after endDim, or out of range, is an error naming the shape', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [2, 3, 4]).flatten(2, 1)).to.throw(RangeError, 'flatten: startDim 2 comes after endDim 1 for [2, 3, 4]');
    expect(() => Tensor.empty(d, [2, 3, 4]).flatten(3)).to.throw(RangeError, 'flatten: axis 3 is out of range for rank 3');
  });

  it('squeeze gpu: removes one size-1 axis, or all of them [1, 3, 1, 67]', async () => {
    await checkGpu({
      name: 'squeeze',
      inputs: [randn([1, 3, 1, 67], 6)],
      gpu: ([x]) => squeeze(x!, -2),
      ref: ([x]) => reshapeRef(x!, [1, 3, 67]),
      vjp: ([x], dy) => [reshapeVjp(x!, roundF32(dy))],
      ...TOL,
    });
    const d = await sharedDevice();
    expect([...Tensor.empty(d, [1, 3, 1, 67]).squeeze().shape]).to.deep.equal([3, 67]);
    expect([...Tensor.empty(d, [1, 1]).squeeze().shape]).to.deep.equal([]);
  });

  it('squeeze: an axis whose size is not 1, or out of range, is an error naming the shape', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [2, 3]).squeeze(1)).to.throw(RangeError, 'squeeze: axis 1 of [2, 3] has size 3, not 1');
    expect(() => Tensor.empty(d, [2, 3]).squeeze(-3)).to.throw(RangeError, 'squeeze: axis -3 is out of range for rank 2');
  });

  it('unsqueeze gpu: inserts a size-1 axis anywhere, -1 appends [3, 33]', async () => {
    await checkGpu({
      name: 'unsqueeze',
      inputs: [randn([3, 33], 7)],
      gpu: ([x]) => unsqueeze(x!, 1),
      ref: ([x]) => reshapeRef(x!, [3, 1, 33]),
      vjp: ([x], dy) => [reshapeVjp(x!, roundF32(dy))],
      ...TOL,
    });
    const d = await sharedDevice();
    expect([...Tensor.empty(d, [3, 33]).unsqueeze(0).shape]).to.deep.equal([1, 3, 33]);
    expect([...Tensor.empty(d, [3, 33]).unsqueeze(-1).shape]).to.deep.equal([3, 33, 1]);
    expect([...Tensor.empty(d, []).unsqueeze(0).shape]).to.deep.equal([1]);
  });

  it('unsqueeze: an axis beyond rank + 1 is an error naming the op', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [3, 33]).unsqueeze(3)).to.throw(RangeError, 'unsqueeze: axis 3 is out of range for rank 3');
    expect(() => Tensor.empty(d, [3, 33]).unsqueeze(-4)).to.throw(RangeError, 'unsqueeze: axis -4 is out of range for rank 3');
  });
});
