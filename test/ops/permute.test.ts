import { expect } from 'chai';
import { collapseView, permute, stridedPlan, stridesOf, Tensor, transpose } from '../../src/index.js';
import { permuteRef, permuteVjp, roundF32 } from '../../src/ref/shape_ops.js';
import { checkFiniteDiff, checkGpu, randn as randn64, sharedDevice } from '../helpers.js';

// A permutation moves values without arithmetic: forward and backward are exact (tolerance 0).
// Test data and dy are rounded to f32 first so that the float64 reference sees what the GPU sees.
const TOL = { fwd: { atol: 0, rtol: 0 }, bwd: { atol: 0, rtol: 0 } };
const randn = (shape: number[], seed: number) => roundF32(randn64(shape, seed));

const CASES: [string, number[], number[]][] = [
  ['rank 1', [67], [0]],
  ['rank 2', [3, 129], [1, 0]],
  ['size-1 axes', [1, 67, 1], [2, 1, 0]],
  ['empty axis', [2, 0, 3], [2, 0, 1]],
  ['rank 4', [2, 33, 1, 5], [3, 1, 0, 2]],
  ['Swin window partition', [2, 2, 7, 3, 7, 5], [0, 1, 3, 2, 4, 5]],
  ['Swin window reverse', [2, 2, 3, 7, 7, 5], [0, 1, 3, 2, 4, 5]],
  ['Swin window partition, vec4 moves', [2, 2, 7, 3, 7, 12], [0, 1, 3, 2, 4, 5]],
  ['qkv split, vec4 moves', [2, 49, 3, 4, 8], [2, 0, 3, 1, 4]],
  ['qkv split, odd head dim', [1, 33, 3, 2, 5], [2, 0, 3, 1, 4]],
  ['rank 6', [2, 3, 1, 4, 2, 3], [5, 3, 1, 0, 2, 4]],
  ['rank 8', [2, 1, 3, 1, 2, 2, 1, 3], [7, 6, 5, 4, 3, 2, 1, 0]],
  ['identity', [4, 5, 6], [0, 1, 2]],
  ['negative entries', [3, 4, 5], [-1, 0, -2]],
  ['rank 0', [], []],
];

describe('permute ops', () => {
  it('permute reference: gradient matches finite differences [2, 3, 4] by [2, 0, 1]', () => {
    checkFiniteDiff('permute', [randn([2, 3, 4], 1)], ([x]) => permuteRef(x!, [2, 0, 1]), ([x], dy) => [permuteVjp(x!, [2, 0, 1], dy)]);
  });

  for (const [what, shape, perm] of CASES) {
    it(`permute gpu ${what}: forward and backward are exact [${shape}] by [${perm}]`, async () => {
      const p = perm.map((a) => (a < 0 ? a + shape.length : a));
      await checkGpu({
        name: 'permute',
        inputs: [randn(shape, 3)],
        gpu: ([x]) => permute(x!, perm),
        ref: ([x]) => permuteRef(x!, p),
        vjp: ([x], dy) => [permuteVjp(x!, p, roundF32(dy))],
        ...TOL,
      });
    });
  }

  for (const [shape, d0, d1] of [[[4, 67], 0, 1], [[3, 5, 33], -1, -3], [[2, 1, 129], 1, 2], [[5, 6], 1, 1]] as [number[], number, number][]) {
    it(`transpose gpu: forward and backward are exact [${shape}] axes ${d0}, ${d1}`, async () => {
      const p = [...shape.keys()];
      const a = d0 < 0 ? d0 + shape.length : d0;
      const b = d1 < 0 ? d1 + shape.length : d1;
      [p[a], p[b]] = [p[b]!, p[a]!];
      await checkGpu({
        name: 'transpose',
        inputs: [randn(shape, 4)],
        gpu: ([x]) => transpose(x!, d0, d1),
        ref: ([x]) => permuteRef(x!, p),
        vjp: ([x], dy) => [permuteVjp(x!, p, roundF32(dy))],
        ...TOL,
      });
    });
  }

  it('permute: axes that stay adjacent are merged and size-1 axes dropped before the kernel', () => {
    const collapsePermutation = (shape: number[], perm: number[]) => {
      const s = stridesOf(shape);
      return collapseView(perm.map((p) => shape[p]!), perm.map((p) => s[p]!));
    };
    expect(collapsePermutation([2, 8, 7, 8, 7, 96], [0, 1, 3, 2, 4, 5])).to.deep.equal({ shape: [16, 8, 7, 672], strides: [37632, 672, 5376, 1] });
    expect(collapsePermutation([4, 5, 6], [0, 1, 2])).to.deep.equal({ shape: [120], strides: [1] });
    expect(collapsePermutation([1, 3, 1], [2, 1, 0])).to.deep.equal({ shape: [3], strides: [1] });
    expect(collapsePermutation([2, 3], [1, 0])).to.deep.equal({ shape: [3, 2], strides: [1, 3] });
  });

  it('permute: the Swin cases move vec4s; a transpose of the innermost axis or C = 5 moves scalars', () => {
    const plan = (shape: number[], perm: number[]) => {
      const s = stridesOf(shape);
      return stridedPlan(perm.map((p) => shape[p]!), perm.map((p) => s[p]!), 0).vec4;
    };
    expect(plan([2, 8, 7, 8, 7, 96], [0, 1, 3, 2, 4, 5])).to.equal(true);
    expect(plan([2, 3136, 3, 3, 32], [2, 0, 3, 1, 4])).to.equal(true);
    expect(plan([2, 8, 7, 8, 7, 5], [0, 1, 3, 2, 4, 5])).to.equal(false);
    expect(plan([4, 8], [1, 0])).to.equal(false);
    // a base that is not a multiple of 4 (a slice starting at element 2) moves scalars
    expect(stridedPlan([3, 8], [16, 1], 2).vec4).to.equal(false);
    expect(stridedPlan([3, 8], [16, 1], 4).vec4).to.equal(true);
  });

  it('permute gpu: i32 tensors are permuted bit for bit [2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, new Int32Array([1, -2, 3, 2147483647, -2147483648, 6]), [2, 3]);
    const y = x.permute([1, 0]);
    expect(y.dtype).to.equal('i32');
    expect([...(await y.toArray())]).to.deep.equal([1, 2147483647, -2, -2147483648, 3, 6]);
  });

  it('permute gpu: a Swin-sized window partition is exact [1, 8, 7, 8, 7, 96]', async () => {
    const d = await sharedDevice();
    const shape = [1, 8, 7, 8, 7, 96];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n).map((_, i) => i);
    const y = Tensor.from(d, data, shape).permute([0, 1, 3, 2, 4, 5]);
    const want = permuteRef({ shape, data: Float64Array.from(data) }, [0, 1, 3, 2, 4, 5]);
    expect([...y.shape]).to.deep.equal([1, 8, 8, 7, 7, 96]);
    const got = await y.toArray();
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) if (got[i] !== want.data[i]) bad = i;
    expect(bad, 'first mismatching element').to.equal(-1);
  });

  it('permute: a list that is not a permutation of the axes names the op and the shape', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [2, 3, 4]);
    expect(() => x.permute([0, 0, 1])).to.throw(RangeError, 'permute: [0, 0, 1] is not a permutation of the 3 axes of [2, 3, 4]');
    expect(() => x.permute([0, 1])).to.throw(RangeError, 'permute: [0, 1] is not a permutation of the 3 axes of [2, 3, 4]');
    expect(() => x.permute([0, 1, 3])).to.throw(RangeError, 'permute: [0, 1, 3] is not a permutation of the 3 axes of [2, 3, 4]');
    expect(() => x.permute([0, 1, -1, 2])).to.throw(RangeError, 'permute: [0, 1, -1, 2] is not a permutation');
    expect(() => x.permute([0.5, 1, 2])).to.throw(RangeError, 'permute: [0.5, 1, 2] is not a permutation');
  });

  it('transpose: an axis out of range names the op and the shape', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [2, 3]).transpose(0, 2)).to.throw(RangeError, 'transpose: axis 2 is out of range for rank 2 ([2, 3])');
    expect(() => Tensor.empty(d, [2, 3]).transpose(-3, 0)).to.throw(RangeError, 'transpose: axis -3 is out of range for rank 2 ([2, 3])');
  });

  it('permute: a rank above MAX_RANK, or a disposed input, is an error naming the op', async () => {
    const d = await sharedDevice();
    const big = Tensor.empty(d, [1, 1, 1, 1, 1, 1, 1, 1, 2]);
    expect(() => big.permute([8, 0, 1, 2, 3, 4, 5, 6, 7])).to.throw(RangeError, 'permute: rank 9 of f32[1, 1, 1, 1, 1, 1, 1, 1, 2] exceeds 8');
    const x = Tensor.empty(d, [2, 3]);
    x.dispose();
    expect(() => x.permute([1, 0])).to.throw(/permute: input f32\[2, 3\] was disposed/);
  });
});
