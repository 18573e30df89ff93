// aunceLossAuto: the fused kernels where they can run, the composition of autograd primitives
// otherwise (re-normalised centroid, devices without suitable subgroups, or when asked), with the
// same loss and gradient either way.
import { expect } from 'chai';
import { Tensor } from '../../src/index.js';
import { aunceLossAuto } from '../../src/losses/aunce_auto.js';
import type { AunceOptions } from '../../src/ref/aunce.js';
import { makeBatch } from '../aunce_batch.js';
import { assertClose, sharedDevice } from '../helpers.js';

/** both sides f32 on the same device: the loss to rounding of the log-sum-exps, gradients likewise */
const TOL = { loss: { atol: 1e-6, rtol: 1e-5 }, grad: { atol: 1e-6, rtol: 1e-4 } };

async function run(opts: Parameters<typeof aunceLossAuto>[2], z: Float64Array, shape: readonly number[], labels: number[][]) {
  const device = await sharedDevice();
  const t = Tensor.from(device, z, shape, { requiresGrad: true });
  const r = aunceLossAuto(t, labels, opts);
  r.loss.backward();
  const out = { impl: r.impl, why: r.why, loss: await r.loss.item(), grad: await t.grad!.toFloat32() };
  t.grad!.dispose();
  t.dispose();
  return out;
}

describe('aunceLossAuto', function () {
  it('aunceLossAuto: fused where it can run, unfused when asked, same loss and gradient', async function () {
    const b = makeBatch(6, 3, 16, 41, { unit: false });
    for (const base of [
      { mode: 'official', positive: ['max', 'mean', 'aug'] },
      { mode: 'paper', positive: ['centroid', 'min', 'aug'], negWeighting: 'R2' },
    ] as AunceOptions[]) {
      for (const normalize of [false, true]) {
        const fused = await run({ ...base, normalize }, b.z.data, b.z.shape, b.labels);
        const unfused = await run({ ...base, normalize, impl: 'unfused' }, b.z.data, b.z.shape, b.labels);
        expect(fused.impl).to.equal('fused');
        expect(unfused).to.deep.include({ impl: 'unfused', why: 'asked for' });
        assertClose([unfused.loss], [fused.loss], TOL.loss, `${base.mode} normalize=${normalize}: loss`);
        assertClose(unfused.grad, fused.grad, TOL.grad, `${base.mode} normalize=${normalize}: gradient`);
      }
    }
  });

  it('aunceLossAuto: the re-normalised centroid runs unfused and says why', async function () {
    const b = makeBatch(4, 2, 8, 42);
    const r = await run({ mode: 'paper', positive: ['centroid', 'centroid'], centroidRenormalise: true }, b.z.data, b.z.shape, b.labels);
    expect(r.impl).to.equal('unfused');
    expect(r.why).to.match(/not bilinear/);
    expect(Number.isFinite(r.loss)).to.equal(true);
  });
});
