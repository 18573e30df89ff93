import { expect } from 'chai';
import { backward, isGradEnabled, keep, noGrad, record, Tensor, tidy } from '../../src/index.js';
import { sharedDevice } from '../helpers.js';

describe('tape', () => {
  it('tape: a tensor used twice accumulates both gradients (d(x*x)/dx = 2x) [3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, -2, 3], [3], { requiresGrad: true });
    x.mul(x).backward(Tensor.from(d, [1, 1, 1], [3]));
    expect([...(await x.grad!.toArray())]).to.deep.equal([2, -4, 6]);
  });

  it('tape: a diamond graph sums the gradients of its branches [2]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [0.5, 2], [2], { requiresGrad: true });
    const a = x.exp();
    const b = x.mul(3);
    const y = a.add(b).mul(a); // y = (e^x + 3x) e^x, dy/dx = e^x(e^x + 3x) + e^x(e^x + 3)
    y.backward(Tensor.from(d, [1, 1], [2]));
    const g = await x.grad!.toArray();
    [0.5, 2].forEach((v, i) => {
      const e = Math.exp(v);
      expect(g[i]).to.be.closeTo(e * (e + 3 * v) + e * (e + 3), 1e-4 * e * e);
    });
  });

  it('tape: backward twice adds into .grad, as PyTorch does [1]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [2], [1], { requiresGrad: true });
    x.mul(5).backward(undefined, { retainGraph: true });
    const y = x.mul(5);
    y.backward();
    expect(await x.grad!.item()).to.equal(10);
  });

  it('tape: a one-element output needs no explicit gradient; a larger one does', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2], [2], { requiresGrad: true });
    expect(() => x.exp().backward()).to.throw(RangeError, /f32\[2\] has 2 elements; pass the gradient of the output explicitly/);
    expect(() => x.exp().backward(Tensor.from(d, [1, 1, 1], [3]))).to.throw(RangeError, /gradient's shape \[3\] differs from the output's \[2\]/);
  });

  it('tape: backward from a tensor that needs no gradient is an error', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1], [1]);
    expect(() => backward(x.exp())).to.throw(/does not require a gradient/);
  });

  it('tape: a backward that returns a wrong shape is an error naming the op and both shapes', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2, 3], [3], { requiresGrad: true });
    const y = record('bad_op', [x], Tensor.from(d, [1], [1]), () => [Tensor.from(d, [1, 2], [2])]);
    expect(() => y.backward()).to.throw(RangeError, 'backward of bad_op: the gradient of input 0 has shape [2], the input [3]');
  });

  it('tape: a backward that returns too few gradients is an error naming the op', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1], [1], { requiresGrad: true });
    const y = record('short_op', [x, x], Tensor.from(d, [1], [1]), () => [null]);
    expect(() => y.backward()).to.throw(/backward of short_op: returned 1 gradients for 2 inputs/);
  });

  it('tape: noGrad records nothing and restores the mode, also after a throw', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1], [1], { requiresGrad: true });
    const y = noGrad(() => x.exp());
    expect(y.requiresGrad).to.equal(false);
    expect(y.node).to.equal(null);
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).to.throw('boom');
    expect(isGradEnabled()).to.equal(true);
    expect(x.exp().requiresGrad).to.equal(true);
  });

  it('tape: the graph is freed after backward unless retained', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1], [1], { requiresGrad: true });
    const y = x.exp().mul(2);
    expect(y.node?.op).to.equal('mulScalar');
    y.backward();
    expect(y.node).to.equal(null);
  });

  it('tape: a chain of 5000 ops runs backward without overflowing the stack [1]', async function () {
    this.timeout(120000);
    const d = await sharedDevice();
    const x = Tensor.from(d, [1], [1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 5000; i++) y = y.add(0.001);
    y.backward();
    expect(await x.grad!.item()).to.equal(1);
    expect(await y.item()).to.be.closeTo(6, 1e-3);
  });

  it('tape: i32 tensors cannot require a gradient', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.from(d, new Int32Array([1]), [1], { requiresGrad: true })).to.throw(TypeError, /i32 tensor cannot require a gradient/);
  });
});

describe('tensor', () => {
  it('tensor: from() checks that the values fill the shape', async () => {
    const d = await sharedDevice();
    expect(() => Tensor.from(d, [1, 2, 3], [2, 2])).to.throw(RangeError, /3 values do not fill shape \[2, 2\] \(4 elements\)/);
    expect(() => Tensor.from(d, [1], [1.5])).to.throw(RangeError, /invalid shape \[1\.5\]/);
    expect(() => Tensor.from(d, [1.5], [1], { dtype: 'i32' })).to.throw(TypeError, /value 1\.5 at index 0 is not an integer/);
  });

  it('tensor: round-trips f32 and i32 values exactly, including an empty tensor', async () => {
    const d = await sharedDevice();
    const f = Float32Array.from([0.1, -2.5, 3e-20, 7e30]);
    expect([...(await Tensor.from(d, f, [2, 2]).toArray())]).to.deep.equal([...f]);
    const i = Int32Array.from([-7, 0, 2147483647]);
    const ti = Tensor.from(d, i, [3]);
    expect(ti.dtype).to.equal('i32');
    expect([...(await ti.toArray())]).to.deep.equal([...i]);
    expect((await Tensor.from(d, [], [0, 3]).toArray()).length).to.equal(0);
  });

  it('tensor: a disposed tensor is an error naming it', async () => {
    const d = await sharedDevice();
    const t = Tensor.from(d, [1], [1], { name: 'weights' });
    t.dispose();
    expect(() => t.buffer).to.throw(/tensor 'weights' f32\[1\] was disposed/);
    expect(() => t.exp()).to.throw(/exp: input 'weights' f32\[1\] was disposed/);
  });

  it('tensor: views share storage, which lives until the last view is disposed', async () => {
    const d = await sharedDevice();
    const t = Tensor.from(d, [1, 2, 3, 4], [4]);
    const v = t.view([2, 2]);
    expect(v.buffer).to.equal(t.buffer);
    t.dispose();
    expect([...(await v.toArray())]).to.deep.equal([1, 2, 3, 4]);
    expect(() => t.view([5])).to.throw(/was disposed/);
    expect(() => v.view([5])).to.throw(/cannot view \[2, 2\] as \[5\]/);
  });

  it('tidy: disposes what was made inside except the result and kept tensors', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2], [2]);
    let inner: Tensor | null = null;
    let kept: Tensor | null = null;
    const { out } = tidy(() => {
      inner = x.exp();
      kept = keep(x.mul(2));
      return { out: inner.add(1) };
    });
    expect(inner!.disposed).to.equal(true);
    expect(kept!.disposed).to.equal(false);
    expect(out.disposed).to.equal(false);
    expect(x.disposed).to.equal(false);
    expect(await out.toArray()).to.have.length(2);
  });

  it('tidy: refuses an async function', () => {
    expect(() => tidy(() => Promise.resolve(1))).to.throw(TypeError, /must be synchronous/);
  });
});
