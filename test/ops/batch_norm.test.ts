import { expect } from 'chai';
import { batchNorm, Tensor, type Device } from '../../src/index.js';
import { batchNormRef, batchNormVjp, runningStatsRef, type BatchNormRefOptions } from '../../src/ref/batch_norm.js';
import { map, nd, type NDArray } from '../../src/ref/ndarray.js';
import { assertClose, checkFiniteDiff, checkGpu, randn, sharedDevice, uniform } from '../helpers.js';

// Inputs ~ 2 +- 1.5 per channel. Forward: f32 Welford means and variances over <= 6600 values per
// channel, then (x - mean) * rstd * w + b with outputs up to ~6: measured errors <= 2e-6. Backward
// (training): dx subtracts two channel sums (<= 6600 terms of magnitude ~3) scaled by 1/M, and
// dweight/dbias are those sums themselves, whose f32 rounding grows with M (measured <= 3e-5 at
// M = 6600 for sums of magnitude ~100). Eval mode is elementwise apart from the same sums.
const TOL = { fwd: { atol: 1e-5, rtol: 1e-4 }, bwd: { atol: 5e-5, rtol: 2e-4 } };

const input = (shape: number[], seed: number) => map(randn(shape, seed, 1.5), (v) => v + 2);

interface Case {
  shape: number[];
  axis: number;
  training: boolean;
  affine?: boolean;
}

function caseOf(c: Case, seed: number) {
  const channels = c.shape[c.axis < 0 ? c.axis + c.shape.length : c.axis]!;
  const affine = c.affine ?? true;
  const inputs: NDArray[] = [input(c.shape, seed)];
  if (affine) inputs.push(map(randn([channels], seed + 1, 0.5), (v) => v + 1), randn([channels], seed + 2, 0.5));
  const runningMean = randn([channels], seed + 3, 0.5);
  const runningVar = uniform([channels], seed + 4, 0.5, 2);
  const o: BatchNormRefOptions = { axis: c.axis, training: c.training, runningMean, runningVar, eps: 1e-5 };
  const split = <T>(xs: T[]): [T, T | null, T | null] => [xs[0]!, affine ? xs[1]! : null, affine ? xs[2]! : null];
  return {
    inputs,
    runningMean,
    runningVar,
    gpu: (ts: Tensor[]) => {
      const [x, w, b] = split(ts);
      const d = x.device;
      return batchNorm(x, w, b, { axis: c.axis, training: c.training, runningMean: Tensor.from(d, runningMean.data, [channels]), runningVar: Tensor.from(d, runningVar.data, [channels]) });
    },
    ref: (xs: NDArray[]) => {
      const [x, w, b] = split(xs);
      return batchNormRef(x, w, b, o);
    },
    vjp: (xs: NDArray[], dy: NDArray) => {
      const [x, w, b] = split(xs);
      const [dx, dw, db] = batchNormVjp(x, w, b, o, dy);
      return [dx, ...(affine ? [dw, db] : [])];
    },
  };
}

const mode = (training: boolean) => (training ? 'train' : 'eval');

describe('batch norm', () => {
  const FD_CASES: Case[] = [
    { shape: [5, 3], axis: 1, training: true },
    { shape: [3, 2, 4], axis: 1, training: true },
    { shape: [2, 3, 4], axis: -1, training: true },
    { shape: [4, 3], axis: 1, training: false },
    { shape: [2, 3, 2], axis: 1, training: true, affine: false },
  ];
  for (const c of FD_CASES) {
    it(`batchNorm ${mode(c.training)} axis ${c.axis}${c.affine === false ? ' no affine' : ''} reference: gradient matches finite differences [${c.shape}]`, () => {
      const k = caseOf(c, 1);
      checkFiniteDiff('batchNorm', k.inputs, k.ref, k.vjp);
    });
  }

  it('batchNorm reference: training output has zero mean and unit (biased) variance per channel [6, 4, 5]', () => {
    const x = input([6, 4, 5], 3);
    const y = batchNormRef(x, null, null, { axis: 1, training: true, eps: 0 });
    for (let c = 0; c < 4; c++) {
      let s = 0;
      let s2 = 0;
      for (let o = 0; o < 6; o++) for (let j = 0; j < 5; j++) {
        const v = y.data[(o * 4 + c) * 5 + j]!;
        s += v;
        s2 += v * v;
      }
      expect(Math.abs(s / 30)).to.be.below(1e-12);
      expect(Math.abs(s2 / 30 - 1)).to.be.below(1e-12);
    }
  });

  const SHAPES: Case[] = [
    { shape: [67, 5], axis: 1, training: true },
    { shape: [67, 5], axis: 1, training: false },
    { shape: [3, 33, 7], axis: 1, training: true },
    { shape: [3, 49, 33], axis: -1, training: true },
    { shape: [3, 49, 33], axis: -1, training: false },
    { shape: [4, 12, 129], axis: 1, training: true },
    { shape: [2, 12, 3300], axis: 1, training: true },
    { shape: [2, 1], axis: 1, training: true },
    { shape: [1, 5], axis: 1, training: false },
    { shape: [1, 3, 1], axis: 1, training: false },
    { shape: [0, 4], axis: 1, training: false },
    { shape: [3, 0, 2], axis: 1, training: true },
    { shape: [5, 129], axis: 1, training: true, affine: false },
    // 4 values per invocation: 4 channels (innermost, a multiple of 4) or one channel (runs of 4)
    { shape: [3, 49, 32], axis: -1, training: true },
    { shape: [3, 49, 32], axis: -1, training: false },
    { shape: [6, 8], axis: 1, training: true, affine: false },
    { shape: [4, 12, 128], axis: 1, training: true },
    { shape: [4, 12, 128], axis: 1, training: false },
    { shape: [3, 5, 8], axis: 1, training: true, affine: false },
  ];
  for (const c of SHAPES) {
    it(`batchNorm ${mode(c.training)} axis ${c.axis}${c.affine === false ? ' no affine' : ''}: forward and backward match the reference [${c.shape}]`, async function () {
      this.timeout(20000);
      await checkGpu({ name: `batchNorm ${mode(c.training)}`, ...caseOf(c, 7), ...TOL });
    });
  }

  for (const axis of [1, -1]) {
    it(`batchNorm train axis ${axis}: running statistics updated in place with momentum 0.1 and unbiased variance [4, 9, 33]`, async () => {
      const d = await sharedDevice();
      const x = input([4, 9, 33], 11);
      const ch = axis === 1 ? 9 : 33;
      const rm = randn([ch], 12, 0.5);
      const rv = uniform([ch], 13, 0.5, 2);
      const tm = Tensor.from(d, rm.data, [ch]);
      const tv = Tensor.from(d, rv.data, [ch]);
      batchNorm(Tensor.from(d, x.data, x.shape), null, null, { axis, training: true, runningMean: tm, runningVar: tv }).dispose();
      const [em, ev] = runningStatsRef(x, rm, rv, axis, 0.1);
      assertClose(await tm.toArray(), em, { atol: 1e-6, rtol: 1e-5 }, 'running mean');
      assertClose(await tv.toArray(), ev, { atol: 1e-6, rtol: 1e-5 }, 'running var');
    });
  }

  it('batchNorm train: momentum 0.3 and no running buffers leave nothing else changed [8, 5]', async () => {
    const d = await sharedDevice();
    const x = input([8, 5], 2);
    const rm = nd([5], [0, 1, 2, 3, 4]);
    const rv = nd([5], [1, 1, 1, 1, 1]);
    const tm = Tensor.from(d, rm.data, [5]);
    const tv = Tensor.from(d, rv.data, [5]);
    const y = batchNorm(Tensor.from(d, x.data, x.shape), null, null, { training: true, runningMean: tm, runningVar: tv, momentum: 0.3 });
    const [em, ev] = runningStatsRef(x, rm, rv, 1, 0.3);
    assertClose(await tm.toArray(), em, { atol: 1e-6, rtol: 1e-5 }, 'running mean');
    assertClose(await tv.toArray(), ev, { atol: 1e-6, rtol: 1e-5 }, 'running var');
    const y2 = batchNorm(Tensor.from(d, x.data, x.shape), null, null, { training: true });
    expect([...(await y2.toArray())]).to.deep.equal([...(await y.toArray())]);
  });

  it('batchNorm: numBatchesTracked counts training calls only [6, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, input([6, 3], 5).data, [6, 3]);
    const count = Tensor.from(d, new Int32Array([41]), []);
    const rm = Tensor.from(d, [0, 0, 0], [3]);
    const rv = Tensor.from(d, [1, 1, 1], [3]);
    for (let i = 0; i < 3; i++) batchNorm(x, null, null, { training: true, runningMean: rm, runningVar: rv, numBatchesTracked: count }).dispose();
    batchNorm(x, null, null, { training: false, runningMean: rm, runningVar: rv, numBatchesTracked: count }).dispose();
    expect([...(await count.toArray())]).to.deep.equal([44]);
    expect(() => batchNorm(x, null, null, { training: true, numBatchesTracked: rm })).to.throw(/batchNorm: expects i32 inputs/);
  });

  it('batchNorm: only the inputs that require a gradient get one [6, 33]', async () => {
    const k = caseOf({ shape: [6, 33], axis: 1, training: true }, 4);
    await checkGpu({ name: 'batchNorm partial grads', ...k, grad: [false, true, false], ...TOL });
    await checkGpu({ name: 'batchNorm partial grads', ...k, grad: [true, false, true], ...TOL });
  });

  it('batchNorm: weight and bias gradients are bitwise deterministic [300, 12]', async () => {
    const d = await sharedDevice();
    const k = caseOf({ shape: [300, 12], axis: 1, training: true }, 8);
    const dy = Tensor.from(d, randn([300, 12], 2).data, [300, 12]);
    const runs: Float32Array[][] = [];
    for (let r = 0; r < 2; r++) {
      const [x, w, b] = k.inputs.map((v) => Tensor.from(d, v.data, v.shape, { requiresGrad: true }));
      batchNorm(x!, w!, b!, { training: true }).backward(dy);
      runs.push([await w!.grad!.toFloat32(), await b!.grad!.toFloat32(), await x!.grad!.toFloat32()]);
    }
    for (let i = 0; i < 3; i++) expect([...runs[1]![i]!]).to.deep.equal([...runs[0]![i]!]);
  });

  it('batchNorm: the Tensor method matches the function [4, 6]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, input([4, 6], 1).data, [4, 6]);
    const a = await x.batchNorm(null, null, { training: true, eps: 1e-3 }).toArray();
    const b = await batchNorm(x, null, null, { training: true, eps: 1e-3 }).toArray();
    expect([...a]).to.deep.equal([...b]);
  });

  describe('batchNorm errors (raised before any dispatch)', () => {
    const bad: [string, (d: Device) => Tensor, RegExp][] = [
      ['a weight of the wrong length', (d) => batchNorm(Tensor.empty(d, [2, 4]), Tensor.empty(d, [5]), null, { training: true }), /batchNorm: weight \[5\] does not match the 4 channels of x \[2, 4\] along axis 1/],
      ['running stats of the wrong length', (d) => batchNorm(Tensor.empty(d, [2, 4, 3]), null, null, { axis: -1, training: false, runningMean: Tensor.empty(d, [4]), runningVar: Tensor.empty(d, [4]) }), /batchNorm: runningMean \[4\] does not match the 3 channels of x \[2, 4, 3\] along axis 2/],
      ['eval without running stats', (d) => batchNorm(Tensor.empty(d, [2, 4]), null, null, { training: false }), /batchNorm: eval mode needs runningMean and runningVar \(x \[2, 4\]\)/],
      ['one value per channel in training', (d) => batchNorm(Tensor.empty(d, [1, 4]), null, null, { training: true }), /batchNorm: training needs more than 1 value per channel, got x \[1, 4\]/],
      ['a rank-1 input', (d) => batchNorm(Tensor.empty(d, [4]), null, null, { training: true }), /batchNorm: x \[4\] needs a batch and a channel dimension/],
      ['an axis out of range', (d) => batchNorm(Tensor.empty(d, [2, 4]), null, null, { axis: 2, training: true }), /batchNorm: axis 2 is out of range for rank 2/],
      ['only a running mean', (d) => batchNorm(Tensor.empty(d, [2, 4]), null, null, { training: true, runningMean: Tensor.empty(d, [4]) }), /batchNorm: runningMean and runningVar must be given together/],
      ['a momentum above 1', (d) => batchNorm(Tensor.empty(d, [2, 4]), null, null, { training: true, momentum: 2 }), /batchNorm: momentum must be in \[0, 1\], got 2/],
    ];
    for (const [what, call, msg] of bad) {
      it(`batchNorm: ${what} is an error naming the op and shapes`, async () => {
        const d = await sharedDevice();
        const before = d.counters.dispatches;
        expect(() => call(d)).to.throw(msg);
        expect(d.counters.dispatches).to.equal(before);
      });
    }
  });
});
