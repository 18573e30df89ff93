import { expect } from 'chai';
import { gather, indexSelect, Tensor } from '../../src/index.js';
import { indexSelectRef, indexSelectVjp, roundF32 } from '../../src/ref/shape_ops.js';
import { Rng } from '../../src/util/rng.js';
import { checkFiniteDiff, checkGpu, randn as randn64, sharedDevice } from '../helpers.js';

// The forward moves values without arithmetic: exact (tolerance 0). The backward sums, in f32, the
// dy entries of repeated indices (a few terms of size ~1 here): a few f32 roundings, ~1e-6 relative.
// Test data and dy are rounded to f32 first so that the float64 reference sees what the GPU sees.
const TOL = { fwd: { atol: 0, rtol: 0 }, bwd: { atol: 1e-6, rtol: 1e-6 } };
const randn = (shape: number[], seed: number) => roundF32(randn64(shape, seed));

function randomIndices(count: number, n: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: count }, () => Math.min(n - 1, Math.floor(r.uniform(0, n))));
}

const CASES: [string, number[], number, number[]][] = [
  ['axis 0 with repeats', [5, 3], 0, [4, 0, 0, 2, 0]],
  ['middle axis, many repeats', [3, 67, 2], 1, randomIndices(100, 67, 1)],
  ['negative axis', [2, 33], -1, randomIndices(40, 33, 2)],
  ['rank 1', [129], 0, randomIndices(129, 129, 3)],
  ['no indices', [4, 3], 0, []],
  ['empty outer axis', [0, 5], 1, [1, 1, 4]],
  ['size-1 axis', [3, 1, 4], 1, [0, 0, 0]],
  ['rank 6', [2, 1, 3, 4, 2, 3], 3, [3, 1, 3, 0]],
  // rows of a multiple of 4 values: moved 4 at a time
  ['rows of 8 (vec4)', [2, 9, 8], 1, randomIndices(12, 9, 4)],
];

describe('gather ops', () => {
  it('indexSelect reference: gradient matches finite differences with repeated indices [3, 4, 2]', () => {
    const idx = [2, 0, 2, 3, 2];
    checkFiniteDiff('indexSelect', [randn([3, 4, 2], 1)], ([x]) => indexSelectRef(x!, 1, idx), ([x], dy) => [indexSelectVjp(x!, 1, idx, dy)]);
  });

  for (const [what, shape, axis, idx] of CASES) {
    it(`indexSelect gpu ${what}: forward exact, backward sums repeats [${shape}] axis ${axis}, ${idx.length} indices`, async () => {
      const a = axis < 0 ? axis + shape.length : axis;
      await checkGpu({
        name: 'indexSelect',
        inputs: [randn(shape, 3)],
        gpu: ([x]) => indexSelect(x!, axis, idx),
        ref: ([x]) => indexSelectRef(x!, a, idx),
        vjp: ([x], dy) => [indexSelectVjp(x!, a, idx, roundF32(dy))],
        ...TOL,
      });
    });
  }

  it('indexSelect gpu: indices as an Int32Array and as an i32 tensor give the same result [6, 5]', async () => {
    const d = await sharedDevice();
    const idx = new Int32Array([5, 1, 1, 0]);
    const t = Tensor.from(d, idx, [4]);
    await checkGpu({
      name: 'indexSelect',
      inputs: [randn([6, 5], 4)],
      gpu: ([x]) => gather(x!, 0, idx),
      ref: ([x]) => indexSelectRef(x!, 0, [...idx]),
      vjp: ([x], dy) => [indexSelectVjp(x!, 0, [...idx], roundF32(dy))],
      ...TOL,
    });
    await checkGpu({
      name: 'indexSelect',
      inputs: [randn([6, 5], 4)],
      gpu: ([x]) => x!.indexSelect(0, t),
      ref: ([x]) => indexSelectRef(x!, 0, [...idx]),
      vjp: ([x], dy) => [indexSelectVjp(x!, 0, [...idx], roundF32(dy))],
      ...TOL,
    });
    expect(t.disposed, 'a caller-owned index tensor is left alone').to.equal(false);
  });

  it('indexSelect gpu: out-of-range indices in an i32 tensor (unchecked) read as 0 and get no gradient [4, 3], [4, 4]', async () => {
    const idx = [1, -1, 4, 2147483647, -2147483648, 3];
    const d = await sharedDevice();
    const t = Tensor.from(d, new Int32Array(idx), [idx.length]);
    // rows of 3 values move one by one, rows of 4 as a vec4
    for (const shape of [[4, 3], [4, 4]]) {
      await checkGpu({
        name: 'indexSelect',
        inputs: [randn(shape, 5)],
        gpu: ([x]) => indexSelect(x!, 0, t),
        ref: ([x]) => indexSelectRef(x!, 0, idx),
        vjp: ([x], dy) => [indexSelectVjp(x!, 0, idx, roundF32(dy))],
        ...TOL,
      });
    }
  });

  it('indexSelect gpu: the gradient of each entry counts how often it was picked (embedding-style) [5]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [10, 11, 12, 13, 14], [5], { requiresGrad: true });
    const y = gather(x, 0, [1, 1, 1, 4, 0, 1]);
    expect([...(await y.toArray())]).to.deep.equal([11, 11, 11, 14, 10, 11]);
    y.backward(y.fullLike(1));
    expect([...(await x.grad!.toArray())]).to.deep.equal([1, 4, 0, 0, 1]);
  });

  it('indexSelect gpu: without a gradient to record, no tape node is kept [4, 2]', async () => {
    const d = await sharedDevice();
    const y = Tensor.from(d, [1, 2, 3, 4, 5, 6, 7, 8], [4, 2]).indexSelect(0, [3, 0]);
    expect(y.node).to.equal(null);
    expect(y.requiresGrad).to.equal(false);
    expect([...(await y.toArray())]).to.deep.equal([7, 8, 1, 2]);
  });

  it('indexSelect gpu: i32 tensors are gathered bit for bit [2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, new Int32Array([1, -2, 3, 2147483647, -2147483648, 6]), [2, 3]);
    const y = x.indexSelect(1, [2, 0]);
    expect(y.dtype).to.equal('i32');
    expect([...(await y.toArray())]).to.deep.equal([3, 1, 6, 2147483647]);
  });

  it('indexSelect: a host index out of range names the op, the index, the axis and the shape, before any dispatch', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [3, 4]);
    const before = d.counters.dispatches;
    expect(() => x.indexSelect(1, [0, 4])).to.throw(RangeError, 'indexSelect: index 4 at position 1 is out of range for axis 1 of size 4 of [3, 4]');
    expect(() => x.indexSelect(-2, [-1])).to.throw(RangeError, 'indexSelect: index -1 at position 0 is out of range for axis -2 of size 3 of [3, 4]');
    expect(() => x.indexSelect(0, [0.5])).to.throw(RangeError, 'indexSelect: index 0.5 at position 0 is out of range for axis 0 of size 3 of [3, 4]');
    expect(d.counters.dispatches).to.equal(before);
  });

  it('indexSelect: an index tensor that is not 1-D i32, or an axis out of range, names the op and the shapes', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [3, 4]);
    expect(() => x.indexSelect(0, Tensor.empty(d, [2]))).to.throw(TypeError, 'indexSelect: indices must be a 1-D i32 tensor, got f32[2] (x [3, 4])');
    expect(() => x.indexSelect(0, Tensor.empty(d, [2, 1], 'i32'))).to.throw(TypeError, 'indexSelect: indices must be a 1-D i32 tensor, got i32[2, 1] (x [3, 4])');
    expect(() => x.indexSelect(2, [0])).to.throw(RangeError, 'indexSelect: axis 2 is out of range for rank 2');
    const gone = Tensor.empty(d, [2], 'i32');
    gone.dispose();
    expect(() => x.indexSelect(0, gone)).to.throw(/indexSelect: input i32\[2\] was disposed/);
  });
});
