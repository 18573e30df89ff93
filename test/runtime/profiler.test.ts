// Per-dispatch GPU timing (Device.profile / Profiler) and the training-step breakdown built on it.
import { expect } from 'chai';
import { Tensor, tidy } from '../../src/index.js';
import { full } from '../../src/ops/unary.js';
import { categoryOf, formatProfile, profileStep } from '../../src/train/profile.js';
import { sharedDevice } from '../helpers.js';

describe('profiler', function () {
  it('profiler: times every dispatch, across more than one query set, grouped by kernel', async function () {
    const device = await sharedDevice();
    expect(device.has('timestamp-query'), `${device.name} lacks timestamp-query`).to.equal(true);
    const times = await device.profile(() => {
      tidy(() => {
        const x = Tensor.from(device, [1, 2, 3, 4], [4]);
        for (let i = 0; i < 2100; i++) x.add(1);
        full(device, [8], 2);
      });
    }, 4096);
    const add = times.find((t) => t.dispatches === 2100);
    expect(add, `no kernel with 2100 dispatches in ${times.map((t) => `${t.kernel} x${t.dispatches}`).join(', ')}`).to.not.equal(undefined);
    expect(times.find((t) => t.kernel.startsWith('unary.wgsl:fill'))?.dispatches).to.equal(1);
    for (const t of times) expect(t.ms >= 0 && Number.isFinite(t.ms), t.kernel).to.equal(true);
    // work after profile() runs normally again
    const y = Tensor.from(device, [1], [1]).add(2);
    expect(await y.item()).to.equal(3);
  });

  it('profiler: a step breakdown sums its categories and reports the GPU-busy fraction and peak memory', async function () {
    const device = await sharedDevice();
    const a = Tensor.from(device, new Float32Array(64 * 64).fill(0.5), [64, 64]);
    const p = await profileStep(device, () => tidy(() => void a.matmul(a).softmax(1).sum()));
    const total = Object.values(p.byCategory).reduce((s, v) => s + v, 0);
    expect(total).to.be.closeTo(p.gpuMs, 1e-9);
    expect(p.byCategory.matmul).to.be.greaterThan(0);
    expect(p.gpuBusy).to.be.greaterThan(0);
    expect(p.busyMs).to.be.at.most(p.wallMs + 1);
    expect(p.peakBytes).to.be.greaterThan(0);
    expect(formatProfile(p, 1)).to.match(/GPU busy \d+ ms = \d+% of the step/);
    expect(formatProfile(p, 1)).to.match(/\| matmul\w*\.wgsl:\w+[^|]* \| \d+ \| [\d.]+ \| [\d.]+% \|/);
  });

  it('profiler: kernels map to the categories of the breakdown', function () {
    expect(categoryOf('matmul_subgroup.wgsl:forward{VEC4=1}')).to.equal('matmul');
    expect(categoryOf('linear.wgsl:forward')).to.equal('matmul');
    expect(categoryOf('window_attention.wgsl:backward_rows')).to.equal('attention');
    expect(categoryOf('aunce.wgsl:backward{SHUFFLE=0}')).to.equal('loss');
    expect(categoryOf('adamw.wgsl:update')).to.equal('optimizer');
    expect(categoryOf('augment.wgsl:colour')).to.equal('data');
    expect(categoryOf('batch_norm.wgsl:stats_partial')).to.equal('normalisation');
    expect(categoryOf('permute.wgsl:read_view_vec4{WG=256}')).to.equal('layout (permute, slices, gathers)');
    expect(categoryOf('gather.wgsl:forward')).to.equal('layout (permute, slices, gathers)');
    expect(categoryOf('binary.wgsl:forward')).to.equal('elementwise');
    expect(categoryOf('softmax_subgroup.wgsl:forward')).to.equal('reductions and softmax');
    expect(categoryOf('knn_graph.wgsl:forward')).to.equal('other');
  });
});
