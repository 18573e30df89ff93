import { expect } from 'chai';
import { narrow, slice, sliceAxis, Tensor } from '../../src/index.js';
import { pythonRange, roundF32, sliceRef, sliceVjp } from '../../src/ref/shape_ops.js';
import { checkFiniteDiff, checkGpu, randn as randn64, sharedDevice } from '../helpers.js';

// Slicing moves values without arithmetic: forward and backward (dy or 0) are exact (tolerance 0).
// Test data and dy are rounded to f32 first so that the float64 reference sees what the GPU sees.
const TOL = { fwd: { atol: 0, rtol: 0 }, bwd: { atol: 0, rtol: 0 } };
const randn = (shape: number[], seed: number) => roundF32(randn64(shape, seed));

// [what, shape, starts, ends, steps] with one entry per axis
const CASES: [string, number[], number[], number[], number[]][] = [
  ['rank 1 step 2', [67], [3], [60], [2]],
  ['negative bounds', [3, 129], [1, -100], [3, -1], [1, 7]],
  ['clamped bounds', [5, 33], [-10, 2], [1000, 1000], [2, 3]],
  ['whole tensor', [4, 5], [0, 0], [4, 5], [1, 1]],
  ['empty result', [4, 5], [3, 0], [1, 5], [1, 1]],
  ['empty input axis', [2, 0, 3], [0, 0, 1], [2, 0, 3], [1, 1, 1]],
  ['size-1 axes', [1, 67, 1], [0, 66, 0], [1, 67, 1], [1, 1, 1]],
  ['step larger than the axis', [7, 9], [2, 0], [7, 9], [100, 4]],
  ['rank 6', [2, 3, 4, 3, 2, 5], [1, 0, 1, -2, 0, 1], [2, 3, 4, 3, 2, 5], [1, 2, 2, 1, 1, 3]],
  ['rank 0', [], [], [], []],
  ['vec4 moves', [3, 8, 12], [0, 2, 0], [3, 6, 12], [1, 1, 1]],
  ['vec4 moves, every other row', [6, 16], [1, 4], [6, 12], [2, 1]],
  ['scalar moves, unaligned start', [3, 8, 12], [0, 0, 2], [3, 8, 10], [1, 1, 1]],
];

describe('slice ops', () => {
  it('slice reference: Python slicing of range(n) for negative, clamped and empty bounds', () => {
    // values from Python: list(range(10))[a:b:c]
    expect(pythonRange(10, -3, 100, 2)).to.deep.equal([7, 9]);
    expect(pythonRange(10, -100, 3, 1)).to.deep.equal([0, 1, 2]);
    expect(pythonRange(10, 8, 2, 1)).to.deep.equal([]);
    expect(pythonRange(10, 1, -1, 3)).to.deep.equal([1, 4, 7]);
    expect(pythonRange(0, 0, 5, 1)).to.deep.equal([]);
  });

  it('slice reference: gradient matches finite differences [4, 5, 3]', () => {
    const [s, e, st] = [[1, -4, 0], [4, 5, 3], [2, 2, 1]];
    checkFiniteDiff('slice', [randn([4, 5, 3], 1)], ([x]) => sliceRef(x!, s, e, st), ([x], dy) => [sliceVjp(x!, s, e, st, dy)]);
  });

  for (const [what, shape, starts, ends, steps] of CASES) {
    it(`slice gpu ${what}: forward and backward are exact [${shape}] [${starts}]:[${ends}]:[${steps}]`, async () => {
      await checkGpu({
        name: 'slice',
        inputs: [randn(shape, 3)],
        gpu: ([x]) => slice(x!, starts, ends, steps),
        ref: ([x]) => sliceRef(x!, starts, ends, steps),
        vjp: ([x], dy) => [sliceVjp(x!, starts, ends, steps, roundF32(dy))],
        ...TOL,
      });
    });
  }

  it('slice gpu: fewer ranges than axes keep the later axes whole; ±Infinity clamps [3, 4, 5]', async () => {
    await checkGpu({
      name: 'slice',
      inputs: [randn([3, 4, 5], 4)],
      gpu: ([x]) => x!.slice([1, -Infinity], [Infinity, 3]),
      ref: ([x]) => sliceRef(x!, [1, 0, 0], [3, 3, 5], [1, 1, 1]),
      vjp: ([x], dy) => [sliceVjp(x!, [1, 0, 0], [3, 3, 5], [1, 1, 1], roundF32(dy))],
      ...TOL,
    });
  });

  it('sliceAxis gpu: one axis, negative axis and start, default end [3, 67, 2]', async () => {
    await checkGpu({
      name: 'sliceAxis',
      inputs: [randn([3, 67, 2], 5)],
      gpu: ([x]) => sliceAxis(x!, -2, -60, undefined, 3),
      ref: ([x]) => sliceRef(x!, [0, 7, 0], [3, 67, 2], [1, 3, 1]),
      vjp: ([x], dy) => [sliceVjp(x!, [0, 7, 0], [3, 67, 2], [1, 3, 1], roundF32(dy))],
      ...TOL,
    });
  });

  it('narrow gpu: a start and a length along one axis, negative start [5, 33]', async () => {
    await checkGpu({
      name: 'narrow',
      inputs: [randn([5, 33], 6)],
      gpu: ([x]) => narrow(x!, 1, -10, 4),
      ref: ([x]) => sliceRef(x!, [0, 23], [5, 27], [1, 1]),
      vjp: ([x], dy) => [sliceVjp(x!, [0, 23], [5, 27], [1, 1], roundF32(dy))],
      ...TOL,
    });
  });

  it('slice gpu: i32 tensors are sliced bit for bit [2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, new Int32Array([1, -2, 3, 2147483647, -2147483648, 6]), [2, 3]);
    const y = x.sliceAxis(1, 1);
    expect(y.dtype).to.equal('i32');
    expect([...(await y.toArray())]).to.deep.equal([-2, 3, -2147483648, 6]);
  });

  it('slice: a step of 0 or below, or a fractional step, names the op and the shape', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [4, 5]);
    expect(() => x.slice([0, 0], [4, 5], [1, 0])).to.throw(RangeError, 'slice: step 0 of axis 1 must be a whole number > 0 (x [4, 5])');
    expect(() => x.slice([0, 0], [4, 5], [-1, 1])).to.throw(RangeError, 'slice: step -1 of axis 0 must be a whole number > 0 (x [4, 5])');
    expect(() => x.sliceAxis(0, 0, 4, -2)).to.throw(RangeError, 'sliceAxis: step -2 must be a whole number > 0 (x [4, 5])');
    expect(() => x.sliceAxis(0, 0, 4, 1.5)).to.throw(RangeError, 'sliceAxis: step 1.5 must be a whole number > 0 (x [4, 5])');
  });

  it('slice: ranges of different lengths, too many ranges, or fractional bounds name the op and the shapes', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [4, 5]);
    expect(() => x.slice([0, 0], [4])).to.throw(RangeError, 'slice: starts [0, 0], ends [4] differ in length');
    expect(() => x.slice([0], [4], [1, 1])).to.throw(RangeError, 'slice: starts [0], ends [4] and steps [1, 1] differ in length');
    expect(() => x.slice([0, 0, 0], [1, 1, 1])).to.throw(RangeError, 'slice: 3 ranges for the 2 axes of [4, 5]');
    expect(() => x.slice([0.5], [2])).to.throw(RangeError, 'slice: start 0.5 and end 2 of axis 0 must be whole numbers (x [4, 5])');
    expect(() => x.sliceAxis(1, 0, NaN)).to.throw(RangeError, 'sliceAxis: start 0 and end NaN must be whole numbers (x [4, 5])');
    expect(() => x.sliceAxis(2, 0)).to.throw(RangeError, 'sliceAxis: axis 2 is out of range for rank 2');
  });

  it('narrow: a range that does not fit the axis names the op and the shape', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [2, 4]);
    expect(() => x.narrow(1, 3, 2)).to.throw(RangeError, 'narrow: start 3 and length 2 do not fit axis 1 of size 4 of [2, 4]');
    expect(() => x.narrow(-1, -5, 1)).to.throw(RangeError, 'narrow: start -5 and length 1 do not fit axis -1 of size 4 of [2, 4]');
    expect(() => x.narrow(0, 0, -1)).to.throw(RangeError, 'narrow: start 0 and length -1 do not fit axis 0 of size 2 of [2, 4]');
    expect(() => x.narrow(2, 0, 1)).to.throw(RangeError, 'narrow: axis 2 is out of range for rank 2');
  });

  it('slice: a disposed input is an error raised before any dispatch', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [4]);
    x.dispose();
    const before = d.counters.dispatches;
    expect(() => x.slice([0], [2])).to.throw(/slice: input f32\[4\] was disposed/);
    expect(d.counters.dispatches).to.equal(before);
  });
});
