// Adam / AdamW on the device (src/optim/adamw.ts, kernels/adamw.wgsl) against the float64
// reference (src/ref/adamw.ts) over several steps, with and without decoupled decay and gradient
// clipping; state save / restore continues identically; bad options are refused.
import { expect } from 'chai';
import { Tensor } from '../../src/index.js';
import { AdamW, type AdamWOptions } from '../../src/optim/adamw.js';
import { adamStepRef, clipScaleRef, type AdamRefState } from '../../src/ref/adamw.js';
import { assertClose, randn, sharedDevice } from '../helpers.js';

/**
 * f32 state vs float64: each step adds a few ulps of relative error to m, v and the parameter;
 * over 5 steps of lr 1e-2 on O(1) values that stays well below 1e-5 absolute.
 */
const TOL = { atol: 1e-5, rtol: 1e-5 };

async function runSteps(opts: AdamWOptions, shapes: number[][], steps: number, seed: number) {
  const device = await sharedDevice();
  const init = shapes.map((s, i) => randn(s, seed + i));
  const grads = Array.from({ length: steps }, (_, t) => shapes.map((s, i) => randn(s, 1000 * (t + 1) + seed + i, 3)));
  const params = init.map((x, i) => [`p${i}`, Tensor.from(device, x.data, x.shape, { requiresGrad: true })] as const);
  const opt = new AdamW(params, opts);
  const ref = init.map((x) => Float64Array.from(x.data));
  const st: AdamRefState[] = init.map((x) => ({ m: new Float64Array(x.data.length), v: new Float64Array(x.data.length), t: 0 }));
  const [b1, b2] = opts.betas ?? [0.9, 0.999];
  const dec = opts.decoupled ?? true;
  for (let t = 0; t < steps; t++) {
    params.forEach(([, p], i) => (p.grad = Tensor.from(device, grads[t]![i]!.data, shapes[i]!)));
    opt.step();
    opt.zeroGrad();
    const scale = opts.maxGradNorm ? clipScaleRef(grads[t]!.map((g) => g.data), opts.maxGradNorm) : 1;
    ref.forEach((r, i) =>
      adamStepRef(r, Array.from(grads[t]![i]!.data, (g) => g * scale), st[i]!, {
        lr: opts.lr,
        b1,
        b2,
        eps: opts.eps ?? 1e-8,
        wd: opts.weightDecay ?? (dec ? 0.01 : 0),
        decoupled: dec,
      }),
    );
  }
  for (let i = 0; i < params.length; i++) assertClose(await params[i]![1].toFloat32(), ref[i]!, TOL, `parameter ${i} after ${steps} steps`);
  return { opt, params };
}

describe('AdamW', function () {
  it('adamw decoupled: 5 steps match the float64 reference [67], [3, 33]', async function () {
    await runSteps({ lr: 1e-2, weightDecay: 0.05 }, [[67], [3, 33]], 5, 1);
  });

  it('adamw adam (L2 penalty): 5 steps match the reference, betas (0.8, 0.99) [129]', async function () {
    await runSteps({ lr: 1e-2, weightDecay: 1e-2, decoupled: false, betas: [0.8, 0.99] }, [[129]], 5, 2);
  });

  it('adamw clipping: the global-norm factor is applied on the device [40], [7, 5]', async function () {
    await runSteps({ lr: 1e-2, maxGradNorm: 0.5 }, [[40], [7, 5]], 3, 3);
  });

  it('adamw: parameters without a gradient are left alone and keep their step count', async function () {
    const device = await sharedDevice();
    const a = Tensor.from(device, [1, 2, 3], [3], { requiresGrad: true });
    const b = Tensor.from(device, [4, 5], [2], { requiresGrad: true });
    const opt = new AdamW([['a', a], ['b', b]], { lr: 0.1 });
    a.grad = Tensor.from(device, [1, 1, 1], [3]);
    opt.step();
    expect(Array.from(await b.toFloat32())).to.deep.equal([4, 5]);
    expect(opt.state().steps).to.deep.equal({ a: 1, b: 0 });
  });

  it('adamw: state() and loadState() continue the same trajectory', async function () {
    const device = await sharedDevice();
    const { opt, params } = await runSteps({ lr: 1e-2 }, [[10]], 2, 4);
    const st = opt.state();
    expect([...st.tensors.keys()]).to.deep.equal(['p0.exp_avg', 'p0.exp_avg_sq']);
    const copy = Tensor.from(device, await params[0]![1].toFloat32(), [10], { requiresGrad: true });
    const opt2 = new AdamW([['p0', copy]], { lr: 1e-2 });
    opt2.loadState(st);
    const g = randn([10], 77);
    params[0]![1].grad = Tensor.from(device, g.data, [10]);
    copy.grad = Tensor.from(device, g.data, [10]);
    opt.step();
    opt2.step();
    expect(Array.from(await copy.toFloat32())).to.deep.equal(Array.from(await params[0]![1].toFloat32()));
    expect(() => opt2.loadState({ steps: { p0: 1 }, tensors: new Map() })).to.throw(/missing 'p0.exp_avg'/);
    expect(() => opt2.loadState({ steps: {}, tensors: new Map() })).to.throw(/no step count for parameter 'p0'/);
  });

  it('adamw: bad options and parameters are refused with the value named', async function () {
    const device = await sharedDevice();
    const p = Tensor.from(device, [1], [1]);
    expect(() => new AdamW([], { lr: 1 })).to.throw(/no parameters/);
    expect(() => new AdamW([['p', p]], { lr: -1 })).to.throw(/lr -1/);
    expect(() => new AdamW([['p', p]], { lr: 1, betas: [1, 0.9] })).to.throw(/beta1 1/);
    expect(() => new AdamW([['p', p]], { lr: 1, maxGradNorm: 0 })).to.throw(/maxGradNorm 0/);
    expect(() => new AdamW([['p', p], ['p', p]], { lr: 1 })).to.throw(/'p' appears twice/);
  });
});
