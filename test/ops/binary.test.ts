import { expect } from 'chai';
import { binary, BINARY_OPS, Tensor, type BinaryOp } from '../../src/index.js';
import { broadcastVec4, mergeBroadcastDims } from '../../src/ops/binary.js';
import { binaryRef, binaryVjp } from '../../src/ref/binary.js';
import { map, type NDArray } from '../../src/ref/ndarray.js';
import { checkFiniteDiff, checkGpu, randn, sharedDevice, uniform } from '../helpers.js';

function inputsFor(op: BinaryOp, sa: number[], sb: number[], seed: number): [NDArray, NDArray] {
  if (op === 'pow') return [uniform(sa, seed, 0.3, 2), uniform(sb, seed + 1, -1.5, 2.5)];
  if (op === 'div') return [randn(sa, seed), map(uniform(sb, seed + 1, 0.5, 2), (v, i) => (i % 2 ? -v : v))];
  // maximum: keep a and b apart so that the kink is not sampled
  if (op === 'maximum') return [randn(sa, seed), map(randn(sb, seed + 1), (v) => v + 0.37)];
  return [randn(sa, seed), randn(sb, seed + 1)];
}

const SHAPES: [number[], number[]][] = [
  [[67], [67]],
  [[3, 33], [33]],
  [[4, 1, 5], [1, 3, 1]],
  [[2, 3], []],
  [[1], [5, 1]],
  [[2, 0, 3], [3]],
  // same shapes, a multiple of 4: 4 values per thread
  [[2, 6, 4], [2, 6, 4]],
  // dims that merge (4 x 6 walked as one by both) and dims that do not
  [[3, 4, 6], [3, 1, 1]],
  [[5, 2, 3, 4], [2, 1, 4]],
  // broadcasts 4 outputs per invocation: a bias [N, C] + [C], a row splat, a per-sample scale
  [[5, 8], [8]],
  [[2, 1], [8]],
  [[3, 4, 8], [3, 1, 1]],
];

const TOL = { fwd: { atol: 1e-6, rtol: 1e-5 }, bwd: { atol: 1e-5, rtol: 1e-4 } };

describe('binary ops', () => {
  it('binary merge: size-1 dims dropped, dims both inputs walk as one merged [N, C] + [C] -> rank 2', () => {
    const pad = (xs: number[], fill: number) => [...new Array<number>(8 - xs.length).fill(fill), ...xs];
    // [4, 5, 6] + [6]: a walks 4 x 5 as one, b too (stride 0): rank 2
    let m = mergeBroadcastDims([4, 5, 6], pad([30, 6, 1], 0), pad([0, 0, 1], 0));
    expect([m.rank, m.shape.slice(-2), m.a.slice(-2), m.b.slice(-2)]).to.deep.equal([2, [20, 6], [6, 1], [0, 1]]);
    // [3, 1, 4] * [3, 1, 1]: the size-1 dim goes, 3 and 4 do not merge (b is broadcast along 4)
    m = mergeBroadcastDims([3, 1, 4], pad([4, 4, 1], 0), pad([1, 1, 0], 0));
    expect([m.rank, m.shape.slice(-2), m.a.slice(-2), m.b.slice(-2)]).to.deep.equal([2, [3, 4], [4, 1], [1, 0]]);
    // all ones: rank 0, offset 0
    expect(mergeBroadcastDims([1, 1], pad([1, 1], 0), pad([0, 0], 0)).rank).to.equal(0);
  });

  it('binary forward4: 4 outputs per invocation where the innermost merged dim is a multiple of 4 and each input walks it contiguously or not at all', () => {
    const plan = (shape: number[], sa: number[], sb: number[]) => {
      const pad = (xs: number[], fill: number) => [...new Array<number>(8 - xs.length).fill(fill), ...xs];
      return broadcastVec4(mergeBroadcastDims(shape, pad(sa, 0), pad(sb, 0)));
    };
    // [N, C] + [C]: both read as vec4
    expect(plan([5, 8], [8, 1], [0, 1])).to.deep.equal({ A4: true, B4: true });
    // [B, T, C] * [B, 1, 1]: the scale is splat
    expect(plan([3, 4, 8], [32, 8, 1], [1, 0, 0])).to.deep.equal({ A4: true, B4: false });
    // innermost 6, or an input that walks it with stride 2: one output per invocation
    expect(plan([3, 6], [6, 1], [0, 1])).to.equal(null);
    expect(plan([4, 8], [1, 4], [8, 1])).to.equal(null);
    // an input that walks it contiguously but starts rows off a multiple of 4
    expect(plan([3, 8], [10, 1], [0, 1])).to.equal(null);
    // all dims of size 1: nothing to split
    expect(plan([1, 1], [1, 1], [0, 0])).to.equal(null);
  });

  for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) {
    it(`${op} reference: gradient matches finite differences [4, 1, 5] x [1, 3, 1]`, () => {
      const [a, b] = inputsFor(op, [4, 1, 5], [1, 3, 1], 3);
      checkFiniteDiff(op, [a, b], ([x, y]) => binaryRef(op, x!, y!), ([x, y], dy) => binaryVjp(op, x!, y!, dy));
    });
    for (const [sa, sb] of SHAPES) {
      it(`${op} gpu: forward and backward match the reference [${sa}] x [${sb}]`, async () => {
        await checkGpu({
          name: op,
          inputs: inputsFor(op, sa, sb, 11),
          gpu: ([a, b]) => binary(op, a!, b!),
          ref: ([a, b]) => binaryRef(op, a!, b!),
          vjp: ([a, b], dy) => binaryVjp(op, a!, b!, dy),
          ...TOL,
        });
      });
    }
  }

  // only one input wants a gradient: the kernel writes that partial alone (WANT_A / WANT_B), and
  // add passes dy through, summed down where the input was broadcast
  for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) {
    for (const [sa, sb] of [[[3, 4, 6], [3, 1, 1]], [[2, 6, 4], [2, 6, 4]]] as [number[], number[]][]) {
      for (const grad of [[true, false], [false, true]]) {
        it(`${op} gpu: only input ${grad[0] ? 'a' : 'b'} wants a gradient [${sa}] x [${sb}]`, async () => {
          await checkGpu({
            name: `${op} grad ${grad}`,
            inputs: inputsFor(op, sa, sb, 5),
            gpu: ([a, b]) => binary(op, a!, b!),
            ref: ([a, b]) => binaryRef(op, a!, b!),
            vjp: ([a, b], dy) => binaryVjp(op, a!, b!, dy),
            grad,
            ...TOL,
          });
        });
      }
    }
  }

  it('add gpu: the same tensor on both sides gets twice the gradient, dy is left intact [4]', async () => {
    const d = await sharedDevice();
    const a = Tensor.from(d, [1, 2, 3, 4], [4], { requiresGrad: true });
    const dy = Tensor.from(d, [1, -1, 0.5, 2], [4]);
    a.add(a).backward(dy);
    expect([...(await a.grad!.toArray())]).to.deep.equal([2, -2, 1, 4]);
    expect([...(await dy.toArray())]).to.deep.equal([1, -1, 0.5, 2]);
  });

  it('add gpu: a gradient flows only to inputs that require one [3]', async () => {
    const d = await sharedDevice();
    const a = Tensor.from(d, [1, 2, 3], [3], { requiresGrad: true });
    const b = Tensor.from(d, [1, 1, 1], [3]);
    const y = a.mul(b).add(a);
    y.backward(Tensor.from(d, [1, 1, 1], [3]));
    expect([...(await a.grad!.toArray())]).to.deep.equal([2, 2, 2]);
    expect(b.grad).to.equal(null);
  });

  it('mul: shapes that do not broadcast name the op and both shapes', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [2, 3]).mul(Tensor.empty(d, [4]))).to.throw(/mul: shapes \[2, 3\] and \[4\] do not broadcast/);
  });

  it('add: an i32 operand is a dtype error naming the op', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [2]).add(Tensor.from(d, new Int32Array([1, 2]), [2]))).to.throw(TypeError, /add: expects f32 inputs, got f32\[2\], i32\[2\]/);
  });

  it('div: dividing by the scalar 0 is an error naming the tensor', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.empty(d, [2]).div(0)).to.throw(/division by the scalar 0/);
  });

  it('maximum gpu: a number operand is filled on the device, with no upload and no flush [4]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [-1, 0.25, 0.75, 3], [4], { requiresGrad: true });
    await d.sync();
    const submits = d.counters.submits;
    const y = x.maximum(0.5);
    expect(d.counters.submits).to.equal(submits);
    expect([...(await y.toArray())]).to.deep.equal([0.5, 0.5, 0.75, 3]);
    y.backward(Tensor.from(d, [1, 1, 1, 1], [4]));
    expect([...(await x.grad!.toArray())]).to.deep.equal([0, 0, 1, 1]);
  });

  it('scalar operands: add, sub, mul, div, pow by numbers match the reference [5]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [0.5, 1, 1.5, 2, 2.5], [5]);
    const out = await x.add(1).sub(0.5).mul(3).div(2).pow(2).toArray();
    const want = [0.5, 1, 1.5, 2, 2.5].map((v) => (((v + 1 - 0.5) * 3) / 2) ** 2);
    want.forEach((w, i) => expect(out[i]).to.be.closeTo(w, 1e-5 * w));
  });
});
