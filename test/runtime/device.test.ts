import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { dawnFlags, Device, DeviceLostError, GpuError, GpuTimer, matmul, NoAdapterError, openDevice, robustnessFromEnv, sizeClass, softmax, Tensor, unary, WaitEstimator } from '../../src/index.js';
import { sharedDevice } from '../helpers.js';

describe('device', () => {
  it('device: requests the adapter limits and the optional features it has', async () => {
    const d = await sharedDevice();
    // lavapipe offers 1024 invocations and 32 KiB of workgroup memory; the defaults are 256 and 16 KiB
    expect(d.limits.maxComputeInvocationsPerWorkgroup).to.be.at.least(256);
    expect(d.limits.maxComputeWorkgroupStorageSize).to.be.at.least(16384);
    for (const f of ['timestamp-query', 'subgroups', 'shader-f16'] as const) {
      expect(d.has(f), `lavapipe has ${f}; the device must request it`).to.equal(true);
    }
    expect(d.name).to.be.a('string').and.not.equal('');
  });

  it('device: robustness is off unless AUNCE_ROBUSTNESS turns it on; the Dawn flags follow', () => {
    for (const v of [undefined, '', 'off', 'OFF', '0']) expect(robustnessFromEnv({ AUNCE_ROBUSTNESS: v }), String(v)).to.equal(false);
    for (const v of ['on', 'On', '1']) expect(robustnessFromEnv({ AUNCE_ROBUSTNESS: v }), v).to.equal(true);
    expect(() => robustnessFromEnv({ AUNCE_ROBUSTNESS: 'yes' })).to.throw(/AUNCE_ROBUSTNESS=yes: expected on or off/);
    expect(dawnFlags(false)).to.include('enable-dawn-features=disable_robustness');
    expect(dawnFlags(true).join(' ')).to.not.match(/robustness/);
    // both keep exact timestamps
    for (const r of [false, true]) expect(dawnFlags(r)).to.include('disable-dawn-features=timestamp_quantization');
  });

  it('device: with robustness on and off, kernels give the same results (the default device has it off)', async () => {
    const off = await sharedDevice();
    expect(off.robustness).to.equal(robustnessFromEnv());
    const on = await openDevice({ robustness: true });
    try {
      expect(on.robustness).to.equal(true);
      // odd sizes: edge tiles of every matmul variant clamp their loads
      const m = 67, k = 33, n = 45;
      const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
      const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.7));
      const run = async (d: Device) => {
        const ta = Tensor.from(d, a, [m, k]);
        const tb = Tensor.from(d, b, [k, n]);
        const y = softmax(matmul(ta, tb));
        const out = (await y.toArray()) as Float32Array;
        for (const t of [ta, tb, y]) t.dispose();
        return out;
      };
      const [x, y] = [await run(off), await run(on)];
      expect(Array.from(x)).to.deep.equal(Array.from(y));
    } finally {
      on.destroy();
    }
  });

  it('device: a platform with no adapter gives NoAdapterError with a remedy and releases the handle', async () => {
    let released = 0;
    const fakeGpu = { requestAdapter: async () => null } as unknown as GPU;
    const err = await Device.open({ gpu: fakeGpu, release: () => released++ }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(NoAdapterError);
    expect((err as Error).message).to.match(/no WebGPU adapter was found.*scripts\/setup\.sh/);
    expect(released).to.equal(1);
  });

  it('device: after destroy, ops, uploads and read-backs throw DeviceLostError naming the call', async () => {
    const d = await openDevice();
    const t = Tensor.from(d, [1, 2], [2]);
    d.destroy();
    expect(d.alive).to.equal(false);
    expect(() => t.exp()).to.throw(DeviceLostError, /exp: the device was destroyed/);
    expect(() => Tensor.from(d, [1], [1])).to.throw(DeviceLostError, /Tensor\.empty: the device was destroyed/);
    const err = await t.toArray().then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(DeviceLostError);
    d.destroy(); // twice is harmless
  });

  it('device: a lost device is reported to the hooks and later calls throw DeviceLostError with the reason', async () => {
    const d = await openDevice();
    const seen: string[] = [];
    d.onError((m) => seen.push(m));
    const t = Tensor.from(d, [1], [1]);
    d.gpuDevice.destroy(); // lost from outside our destroy(): as when a driver resets
    await d.gpuDevice.lost;
    await new Promise((r) => setTimeout(r, 0));
    expect(d.alive).to.equal(false);
    expect(seen.join('\n')).to.match(/device lost \(destroyed/);
    expect(() => t.exp()).to.throw(DeviceLostError, /exp: the device was lost \(destroyed/);
    d.destroy();
  });

  it('device: tensors from two devices are an error naming both', async () => {
    const d1 = await sharedDevice();
    const d2 = await openDevice();
    try {
      const a = Tensor.from(d1, [1], [1]);
      const b = Tensor.from(d2, [1], [1]);
      expect(() => a.add(b)).to.throw(/add: inputs are on different devices \(f32\[1\] on device \d+, f32\[1\] on device \d+\)/);
    } finally {
      d2.destroy();
    }
  });

  it('device: a process that destroys its device exits by itself', function () {
    this.timeout(90000);
    const script = "import { openDevice, Tensor } from './src/index.ts'; const d = await openDevice(); await Tensor.from(d, [1], [1]).exp().toArray(); d.destroy(); console.log('destroyed');";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
    expect(r.error, 'the process did not exit within 60 s').to.equal(undefined);
    expect(r.stdout).to.contain('destroyed');
    expect(r.status).to.equal(0);
  });

  it('device: work recorded before an upload sees the old contents, work after sees the new', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2, 3], [3]);
    const before = unary('mulScalar', x, 1);
    d.writeBuffer(x.buffer, 0, new Float32Array([10, 20, 30]));
    const after = unary('mulScalar', x, 1);
    expect([...(await before.toArray())]).to.deep.equal([1, 2, 3]);
    expect([...(await after.toArray())]).to.deep.equal([10, 20, 30]);
  });

  it('device: many dispatches are batched into one submit until a sync', async () => {
    const d = await sharedDevice();
    await d.sync();
    const submits = d.counters.submits;
    let t = Tensor.from(d, [0], [1]);
    await d.sync();
    const s0 = d.counters.submits;
    for (let i = 0; i < 200; i++) t = unary('addScalar', t, 1);
    expect(d.counters.submits).to.equal(s0);
    expect(await t.item()).to.equal(200);
    expect(d.counters.submits).to.equal(s0 + 1);
    expect(s0).to.be.at.least(submits);
  });

  it('device: an error the GPU reports asynchronously is raised at the next sync, naming the batch', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, [1, 2], [2]);
    const y = x.exp();
    await d.sync();
    const dead = d.gpuDevice.createBuffer({ size: 16, usage: 0x80 });
    dead.destroy();
    d.dispatch(d.kernels.get('unary.wgsl', 'forward', { OP: 2, WG: 256 }), {
      buffers: { x: dead, y: y.buffer },
      uniforms: { p: { n: 2, alpha: 0 } },
      workgroups: 1,
    });
    const err = await d.sync().then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(GpuError);
    expect((err as Error).message).to.match(/a batch of 1 commands \(unary\.wgsl:forward\{OP=2,WG=256\}\).*destroyed/s);
    await d.sync(); // the error was reported once
  });

  it('device: onError hooks see uncaptured errors', async () => {
    const d = await openDevice();
    try {
      const seen: string[] = [];
      d.onError((m) => seen.push(m));
      d.gpuDevice.createBuffer({ size: 16, usage: 0xfffff }); // invalid usage, outside any error scope
      await d.sync().catch(() => {});
      expect(seen.length).to.be.greaterThan(0);
    } finally {
      d.destroy();
    }
  });
});

describe('buffer pool', () => {
  it('pool: size classes round up by at most a quarter and to 256 B below 4 KiB', () => {
    expect(sizeClass(1)).to.equal(256);
    expect(sizeClass(4096)).to.equal(4096);
    expect(sizeClass(4097)).to.equal(5120);
    for (const n of [5000, 123457, 1 << 20, 3e6 + 7]) {
      expect(sizeClass(n)).to.be.at.least(n).and.at.most(n * 1.25 + 1);
    }
  });

  it('pool: a disposed tensor buffer is reused by the next tensor of its size class', async () => {
    const d = await sharedDevice();
    const a = Tensor.empty(d, [1000]);
    const buf = a.buffer;
    a.dispose();
    const before = d.pool.snapshot.reused;
    const b = Tensor.empty(d, [990]);
    expect(b.buffer).to.equal(buf);
    expect(d.pool.snapshot.reused).to.equal(before + 1);
    b.dispose();
  });

  it('pool: peak in-use bytes are tracked', async () => {
    const d = await sharedDevice();
    d.pool.resetPeak();
    const base = d.pool.snapshot.inUseBytes;
    const t = Tensor.empty(d, [1 << 16]);
    expect(d.pool.snapshot.peakInUseBytes - base).to.equal(1 << 18);
    t.dispose();
    expect(d.pool.snapshot.inUseBytes).to.equal(base);
  });

  it('pool: a buffer larger than maxBufferSize is an error naming the size', async () => {
    const d = await sharedDevice();
    expect(() => d.pool.acquire(d.limits.maxBufferSize! + 1)).to.throw(RangeError, /exceeds the device's maxBufferSize/);
  });
});

describe('gpu timer', () => {
  it('timer: timestamp queries measure a kernel in GPU time', async () => {
    const d = await sharedDevice();
    const timer = new GpuTimer(d);
    expect(timer.clock).to.equal('gpu');
    const x = Tensor.empty(d, [1 << 20]).fullLike(1);
    const ms = await timer.time(() => x.exp().dispose(), 3);
    expect(ms).to.have.length(3);
    for (const m of ms) expect(m).to.be.greaterThan(0).and.below(10000);
    timer.destroy();
  });

  it('timer: labelled regions come back in order', async () => {
    const d = await sharedDevice();
    const timer = new GpuTimer(d);
    const x = Tensor.empty(d, [1 << 16]).fullLike(1);
    timer.measure('small', () => x.exp().dispose());
    timer.measure('large', () => {
      for (let i = 0; i < 20; i++) x.exp().dispose();
    });
    const r = await timer.read();
    expect(r.map((z) => z.label)).to.deep.equal(['small', 'large']);
    expect(r[1]!.ms).to.be.greaterThan(r[0]!.ms);
    timer.destroy();
  });

  it('wait: the estimator sleeps for most of the expected time before awaiting', async () => {
    const w = new WaitEstimator(0.8, 0.25);
    const slow = () => new Promise<void>((r) => setTimeout(r, 20));
    await w.wait(slow, undefined, 'step');
    expect(w.lastEstimateMs).to.be.at.least(15);
    const t0 = performance.now();
    let calledAt = 0;
    await w.wait(async () => {
      calledAt = performance.now() - t0;
    }, undefined, 'step');
    // the second wait slept ~0.8 x the learned 20 ms before calling done()
    expect(calledAt).to.be.at.least(10);
  });

  it('wait: an overslept estimate halves, and other keys keep their own', async () => {
    // 5 ms counts as "done at once" here, so that a loaded machine cannot make it look late
    const w = new WaitEstimator(0.8, 0.25, 5);
    await w.wait(() => new Promise<void>((r) => setTimeout(r, 40)), undefined, 'big');
    const learned = w.lastEstimateMs;
    await w.wait(async () => {}, undefined, 'big'); // finished during the sleep: overslept
    expect(w.lastEstimateMs).to.be.closeTo(learned / 2, 1);
    const t0 = performance.now();
    await w.wait(async () => {}, undefined, 'tiny'); // a new key starts without sleeping
    expect(performance.now() - t0).to.be.below(10);
  });
});
