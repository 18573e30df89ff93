import { expect } from 'chai';
import { concat, Tensor } from '../../src/index.js';
import { concatRef, concatVjp, roundF32 } from '../../src/ref/shape_ops.js';
import { checkFiniteDiff, checkGpu, randn as randn64, sharedDevice } from '../helpers.js';

// Concat moves values without arithmetic: forward and backward are exact (tolerance 0).
// Test data and dy are rounded to f32 first so that the float64 reference sees what the GPU sees.
const TOL = { fwd: { atol: 0, rtol: 0 }, bwd: { atol: 0, rtol: 0 } };
const randn = (shape: number[], seed: number) => roundF32(randn64(shape, seed));

const CASES: [string, number[][], number][] = [
  ['axis 0', [[2, 3], [4, 3]], 0],
  ['three inputs, middle axis', [[3, 1, 5], [3, 67, 5], [3, 2, 5]], 1],
  ['negative axis', [[2, 33], [2, 1], [2, 129]], -1],
  ['one input', [[5, 7]], 1],
  ['rank 1', [[67], [129]], 0],
  ['zero-length inputs', [[2, 0, 4], [2, 3, 4], [2, 0, 4]], 1],
  ['all zero-length', [[2, 0], [2, 0]], 1],
  ['empty other axis', [[0, 3], [0, 2]], 1],
  ['rank 6', [[2, 1, 3, 2, 2, 3], [2, 1, 3, 5, 2, 3]], 3],
  ['size-1 everywhere', [[1, 1], [1, 1]], 0],
  ['vec4 moves', [[2, 3, 4], [2, 5, 4], [2, 1, 4]], 1],
  ['vec4 moves along the last axis', [[3, 8], [3, 4], [3, 12]], -1],
];

describe('concat ops', () => {
  it('concat reference: gradient matches finite differences [2, 1, 3] + [2, 4, 3] + [2, 2, 3] axis 1', () => {
    const xs = [randn([2, 1, 3], 1), randn([2, 4, 3], 2), randn([2, 2, 3], 3)];
    checkFiniteDiff('concat', xs, (ts) => concatRef(ts, 1), (ts, dy) => concatVjp(ts, 1, dy));
  });

  for (const [what, shapes, axis] of CASES) {
    it(`concat gpu ${what}: forward and backward are exact ${shapes.map((s) => `[${s}]`).join(' + ')} axis ${axis}`, async () => {
      const a = axis < 0 ? axis + shapes[0]!.length : axis;
      await checkGpu({
        name: 'concat',
        inputs: shapes.map((s, i) => randn(s, 10 + i)),
        gpu: (ts) => concat(ts, axis),
        ref: (xs) => concatRef(xs, a),
        vjp: (xs, dy) => concatVjp(xs, a, roundF32(dy)),
        ...TOL,
      });
    });
  }

  it('concat gpu: gradients reach only the inputs that require one [2, 3] + [2, 1] + [2, 2]', async () => {
    await checkGpu({
      name: 'concat',
      inputs: [randn([2, 3], 1), randn([2, 1], 2), randn([2, 2], 3)],
      grad: [true, false, true],
      gpu: (ts) => concat(ts, 1),
      ref: (xs) => concatRef(xs, 1),
      vjp: (xs, dy) => concatVjp(xs, 1, roundF32(dy)),
      ...TOL,
    });
  });

  it('concat gpu: the same tensor twice gets the sum of both gradients [3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2, 3], [3], { requiresGrad: true });
    const y = x.concat([x], 0);
    expect([...(await y.toArray())]).to.deep.equal([1, 2, 3, 1, 2, 3]);
    y.backward(Tensor.from(d, [1, 2, 3, 10, 20, 30], [6]));
    expect([...(await x.grad!.toArray())]).to.deep.equal([11, 22, 33]);
  });

  it('concat gpu: i32 tensors are joined bit for bit [2] + [1]', async () => {
    const d = await sharedDevice();
    const y = concat([Tensor.from(d, new Int32Array([-1, 2147483647]), [2]), Tensor.from(d, new Int32Array([-2147483648]), [1])], 0);
    expect(y.dtype).to.equal('i32');
    expect([...(await y.toArray())]).to.deep.equal([-1, 2147483647, -2147483648]);
  });

  it('concat: shapes that differ outside the axis name the op, the axis and both shapes', async () => {
    const d = await sharedDevice();
    const a = Tensor.empty(d, [2, 3]);
    expect(() => concat([a, Tensor.empty(d, [3, 4])], 1)).to.throw(
      RangeError,
      'concat: along axis 1, input 1 of shape [3, 4] does not match input 0 of shape [2, 3] outside the axis',
    );
    expect(() => concat([a, a, Tensor.empty(d, [2, 3, 1])], -1)).to.throw(
      RangeError,
      'concat: along axis -1, input 2 of shape [2, 3, 1] does not match input 0 of shape [2, 3] outside the axis',
    );
  });

  it('concat: no inputs, an axis out of range, or mixed dtypes are errors naming the op', async () => {
    const d = await sharedDevice();
    expect(() => concat([], 0)).to.throw(RangeError, 'concat: needs at least one tensor, got none');
    expect(() => concat([Tensor.empty(d, [2, 3])], 2)).to.throw(RangeError, 'concat: axis 2 is out of range for rank 2');
    expect(() => concat([Tensor.empty(d, [])], 0)).to.throw(RangeError, 'concat: axis 0 is out of range for rank 0');
    expect(() => concat([Tensor.empty(d, [2]), Tensor.empty(d, [2], 'i32')], 0)).to.throw(TypeError, 'concat: inputs have different dtypes (f32[2], i32[2])');
  });

  it('concat: a disposed input is an error raised before any dispatch', async () => {
    const d = await sharedDevice();
    const a = Tensor.empty(d, [2]);
    const b = Tensor.empty(d, [2]);
    b.dispose();
    const before = d.counters.dispatches;
    expect(() => concat([a, b], 0)).to.throw(/concat: input f32\[2\] was disposed/);
    expect(d.counters.dispatches).to.equal(before);
  });
});
