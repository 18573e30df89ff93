// Fused windowed attention (src/ops/window_attention.ts, kernels/window_attention.wgsl) against its
// float64 reference (src/ref/window_attention.ts) and against the unfused composition
// (src/nn/attention_unfused.ts); the Swin helpers (src/ops/window_attention_swin.ts) against
// values printed by the released Swin V1 code (PyTorch 1.13); input errors.
import { expect } from 'chai';
import { backward, noGrad, Tensor } from '../../src/index.js';
import '../../src/ops/index.js';
import { attentionUnfused } from '../../src/nn/attention_unfused.js';
import { windowAttention, windowAttentionKernels, windowAttentionPacked, windowAttentionTokens, windowAttentionUnsupported, type WindowAttentionKernels, type WindowAttentionOptions } from '../../src/ops/window_attention.js';
import { relativePositionBias, relativePositionIndex, swinShiftMaskData, swinShiftMask } from '../../src/ops/window_attention_swin.js';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { windowAttentionRef, windowAttentionVjpRef, type WindowAttentionRefOptions } from '../../src/ref/window_attention.js';
import { assertClose, checkFiniteDiff, checkGpu, randn, sharedDevice } from '../helpers.js';

/**
 * f32 kernels vs float64: scores carry ~dh ulps of rounding (dh <= 64) and the softmax and the
 * P·V / dS sums a few ulps more per term over T <= 64 terms; measured errors are ~2e-7 absolute
 * on O(1) values, so 2e-5 + 2e-4·|e| leaves a 100x margin without hiding an indexing bug (those
 * give O(0.1) errors). The bias gradient sums dS over up to 8 windows: same bound.
 * fused vs unfused: both f32, different summation orders; the same bound.
 */
const TOL = {
  fwd: { atol: 2e-5, rtol: 2e-4 },
  bwd: { atol: 2e-5, rtol: 2e-4 },
  unfused: { atol: 2e-5, rtol: 2e-4 },
};

interface Case {
  bw: number;
  heads: number;
  t: number;
  dh: number;
  /** windows per image of the mask (0: no mask) */
  nw: number;
  bias: boolean;
  scale?: number;
  /** force the scalar loads (vec4: false) where dh % 4 == 0 */
  scalar?: boolean;
  /** force the rows per lane of every kernel (default: defaultRows) */
  rows?: 1 | 2;
  /** force the kernel family (default: windowAttentionKernels, 'subgroup' on lavapipe) */
  kernels?: WindowAttentionKernels;
}

/** A mask of 0 / -100 entries, as the Swin shift mask has, drawn from the seed. */
function maskOf(nw: number, t: number, seed: number): NDArray {
  const r = randn([nw, t, t], seed);
  // keep the diagonal unmasked so that every row has an unmasked entry, as in Swin
  return nd([nw, t, t], Array.from(r.data, (x, i) => (x > 0.6 && Math.floor(i / t) % t !== i % t ? -100 : 0)));
}

function inputsOf(c: Case, seed = 1) {
  const shape = [c.bw, c.heads, c.t, c.dh];
  return {
    q: randn(shape, seed),
    k: randn(shape, seed + 1),
    v: randn(shape, seed + 2),
    bias: c.bias ? randn([c.heads, c.t, c.t], seed + 3, 0.5) : undefined,
    mask: c.nw > 0 ? maskOf(c.nw, c.t, seed + 4) : undefined,
    scale: c.scale ?? 1 / Math.sqrt(c.dh),
  };
}

const label = (c: Case) => `[${c.bw}, ${c.heads}, ${c.t}, ${c.dh}]${c.bias ? ' bias' : ''}${c.nw ? ` mask nW=${c.nw}` : ''}${c.scalar ? ' scalar loads' : ''}${c.rows ? ` rows=${c.rows}` : ''}${c.kernels ? ` ${c.kernels} kernels` : ''}`;

function refOpts(x: ReturnType<typeof inputsOf>, bias?: NDArray): WindowAttentionRefOptions {
  return { scale: x.scale, bias, mask: x.mask };
}

describe('windowAttention', function () {
  this.timeout(60000);

  for (const c of [
    { bw: 2, heads: 2, t: 4, dh: 3, nw: 2, bias: true },
    { bw: 3, heads: 1, t: 5, dh: 2, nw: 0, bias: false, scale: 0.7 },
  ] as Case[]) {
    it(`windowAttention reference: VJP matches finite differences ${label(c)}`, () => {
      const x = inputsOf(c, 7);
      const xs = c.bias ? [x.q, x.k, x.v, x.bias!] : [x.q, x.k, x.v];
      checkFiniteDiff(
        `windowAttentionRef ${label(c)}`,
        xs,
        (a) => windowAttentionRef(a[0]!, a[1]!, a[2]!, refOpts(x, a[3])),
        (a, dy) => {
          const g = windowAttentionVjpRef(a[0]!, a[1]!, a[2]!, refOpts(x, a[3]), dy);
          return c.bias ? [g.dq, g.dk, g.dv, g.dbias] : [g.dq, g.dk, g.dv];
        },
      );
    });
  }

  const gpuCases: Case[] = [
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 0, bias: false },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 0, bias: true },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 4, bias: false },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, scalar: true },
    { bw: 2, heads: 2, t: 10, dh: 12, nw: 2, bias: true },
    { bw: 3, heads: 2, t: 10, dh: 5, nw: 3, bias: true },
    { bw: 6, heads: 1, t: 10, dh: 5, nw: 2, bias: true },
    { bw: 2, heads: 2, t: 9, dh: 33, nw: 1, bias: true },
    { bw: 2, heads: 1, t: 64, dh: 64, nw: 2, bias: true },
    { bw: 1, heads: 4, t: 16, dh: 8, nw: 1, bias: true },
    { bw: 1, heads: 1, t: 1, dh: 1, nw: 1, bias: true },
    { bw: 5, heads: 2, t: 7, dh: 31, nw: 5, bias: false, scale: 2 },
    // rows per lane forced in every kernel (by default backward_cols takes 2 where T > 8, so the
    // cases above cover it there): T not a multiple of 16, scalar loads, NC = 2, T = 1 (the second
    // row of every lane past T); few, since each one compiles three more pipelines
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, rows: 1 },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, rows: 2 },
    { bw: 3, heads: 2, t: 10, dh: 5, nw: 3, bias: true, rows: 2 },
    { bw: 2, heads: 1, t: 64, dh: 64, nw: 2, bias: true, rows: 2 },
    { bw: 1, heads: 1, t: 1, dh: 1, nw: 1, bias: true, rows: 2 },
    // the workgroup kernels (the default on GPUs), forced here: dh % 4 == 0 only
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, kernels: 'workgroup' },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 0, bias: false, kernels: 'workgroup' },
    { bw: 2, heads: 2, t: 10, dh: 12, nw: 2, bias: true, kernels: 'workgroup' },
    { bw: 2, heads: 1, t: 64, dh: 32, nw: 2, bias: true, kernels: 'workgroup' },
    { bw: 1, heads: 4, t: 16, dh: 8, nw: 1, bias: true, kernels: 'workgroup' },
    { bw: 1, heads: 1, t: 1, dh: 4, nw: 1, bias: true, kernels: 'workgroup' },
    { bw: 5, heads: 2, t: 7, dh: 28, nw: 5, bias: false, scale: 2, kernels: 'workgroup' },
  ];
  for (const c of gpuCases) {
    it(`windowAttention fused: forward and dq, dk, dv${c.bias ? ', dbias' : ''} match the reference ${label(c)}`, async () => {
      const x = inputsOf(c, 11);
      const withBias = c.bias;
      await checkGpu({
        name: `windowAttention ${label(c)}`,
        inputs: withBias ? [x.q, x.k, x.v, x.bias!] : [x.q, x.k, x.v],
        gpu: (ts) => {
          const mask = x.mask ? Tensor.from(ts[0]!.device, x.mask.data, x.mask.shape) : undefined;
          return windowAttention(ts[0]!, ts[1]!, ts[2]!, { scale: x.scale, bias: ts[3], mask, ...(c.scalar ? { vec4: false } : {}), ...(c.rows ? { rows: c.rows } : {}), ...(c.kernels ? { kernels: c.kernels } : {}) });
        },
        ref: (a) => windowAttentionRef(a[0]!, a[1]!, a[2]!, refOpts(x, a[3])),
        vjp: (a, dy) => {
          const g = windowAttentionVjpRef(a[0]!, a[1]!, a[2]!, refOpts(x, a[3]), dy);
          return withBias ? [g.dq, g.dk, g.dv, g.dbias] : [g.dq, g.dk, g.dv];
        },
        fwd: TOL.fwd,
        bwd: TOL.bwd,
      });
    });
  }

  // q, k, v packed as one [3, Bw, heads, T, dh] tensor: the parts read at offsets, one packed gradient
  for (const c of [
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, rows: 1 },
    { bw: 3, heads: 2, t: 10, dh: 5, nw: 3, bias: true, rows: 2 },
    { bw: 2, heads: 1, t: 9, dh: 4, nw: 1, bias: false, scalar: true },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, kernels: 'workgroup' },
    { bw: 2, heads: 1, t: 9, dh: 4, nw: 1, bias: false, kernels: 'workgroup' },
  ] as Case[]) {
    it(`windowAttentionPacked: forward and the packed dqkv${c.bias ? ', dbias' : ''} match the reference ${label(c)}`, async () => {
      const x = inputsOf(c, 17);
      const n = x.q.data.length;
      const packed = nd([3, ...x.q.shape], Float64Array.from([...x.q.data, ...x.k.data, ...x.v.data]));
      const parts = (a: NDArray) => [0, 1, 2].map((i) => nd(x.q.shape, a.data.slice(i * n, (i + 1) * n)));
      await checkGpu({
        name: `windowAttentionPacked ${label(c)}`,
        inputs: c.bias ? [packed, x.bias!] : [packed],
        gpu: (ts) => {
          const mask = x.mask ? Tensor.from(ts[0]!.device, x.mask.data, x.mask.shape) : undefined;
          return windowAttentionPacked(ts[0]!, { scale: x.scale, bias: ts[1], mask, ...(c.scalar ? { vec4: false } : {}), ...(c.rows ? { rows: c.rows } : {}), ...(c.kernels ? { kernels: c.kernels } : {}) });
        },
        ref: (a) => {
          const [q, k, v] = parts(a[0]!);
          return windowAttentionRef(q!, k!, v!, refOpts(x, a[1]));
        },
        vjp: (a, dy) => {
          const [q, k, v] = parts(a[0]!);
          const g = windowAttentionVjpRef(q!, k!, v!, refOpts(x, a[1]), dy);
          const dqkv = nd(packed.shape, Float64Array.from([...g.dq.data, ...g.dk.data, ...g.dv.data]));
          return c.bias ? [dqkv, g.dbias] : [dqkv];
        },
        fwd: TOL.fwd,
        bwd: TOL.bwd,
      });
    });
  }

  // Swin's qkv Linear output read in place: qkv [Bw, T, 3, heads, dh], output [Bw, T, heads, dh]
  for (const c of [
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, rows: 2 },
    { bw: 3, heads: 2, t: 10, dh: 5, nw: 3, bias: true },
    { bw: 2, heads: 2, t: 9, dh: 4, nw: 1, bias: false, scalar: true },
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true, kernels: 'workgroup' },
    { bw: 3, heads: 2, t: 10, dh: 8, nw: 3, bias: true, kernels: 'workgroup' },
  ] as Case[]) {
    it(`windowAttentionTokens: forward and dqkv in Swin's token-major layout${c.bias ? ', dbias' : ''} match the reference ${label(c)}`, async () => {
      const x = inputsOf(c, 23);
      const { bw, heads, t, dh } = c;
      // [Bw, heads, T, dh] index of (b, h, i, e), and the [Bw, T, 3, heads, dh] index of part p
      const hm = (b: number, h: number, i: number, e: number) => ((b * heads + h) * t + i) * dh + e;
      const tm = (b: number, i: number, p: number, h: number, e: number) => (((b * t + i) * 3 + p) * heads + h) * dh + e;
      const each = (f: (b: number, h: number, i: number, e: number) => void) => {
        for (let b = 0; b < bw; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < t; i++) for (let e = 0; e < dh; e++) f(b, h, i, e);
      };
      const pack = (parts: NDArray[]) => {
        const out = new Float64Array(3 * bw * t * heads * dh);
        parts.forEach((a, p) => each((b, h, i, e) => (out[tm(b, i, p, h, e)] = a.data[hm(b, h, i, e)]!)));
        return nd([bw, t, 3, heads, dh], out);
      };
      const unpack = (a: NDArray) => [0, 1, 2].map((p) => {
        const out = new Float64Array(bw * heads * t * dh);
        each((b, h, i, e) => (out[hm(b, h, i, e)] = a.data[tm(b, i, p, h, e)]!));
        return nd([bw, heads, t, dh], out);
      });
      const tokenMajor = (a: NDArray) => {
        const out = new Float64Array(a.data.length);
        each((b, h, i, e) => (out[((b * t + i) * heads + h) * dh + e] = a.data[hm(b, h, i, e)]!));
        return nd([bw, t, heads, dh], out);
      };
      const headMajor = (a: NDArray) => {
        const out = new Float64Array(a.data.length);
        each((b, h, i, e) => (out[hm(b, h, i, e)] = a.data[((b * t + i) * heads + h) * dh + e]!));
        return nd([bw, heads, t, dh], out);
      };
      const qkv = pack([x.q, x.k, x.v]);
      await checkGpu({
        name: `windowAttentionTokens ${label(c)}`,
        inputs: c.bias ? [qkv, x.bias!] : [qkv],
        gpu: (ts) => {
          const mask = x.mask ? Tensor.from(ts[0]!.device, x.mask.data, x.mask.shape) : undefined;
          return windowAttentionTokens(ts[0]!, { scale: x.scale, bias: ts[1], mask, ...(c.scalar ? { vec4: false } : {}), ...(c.rows ? { rows: c.rows } : {}), ...(c.kernels ? { kernels: c.kernels } : {}) });
        },
        ref: (a) => {
          const [q, k, v] = unpack(a[0]!);
          return tokenMajor(windowAttentionRef(q!, k!, v!, refOpts(x, a[1])));
        },
        vjp: (a, dy) => {
          const [q, k, v] = unpack(a[0]!);
          const g = windowAttentionVjpRef(q!, k!, v!, refOpts(x, a[1]), headMajor(dy));
          return c.bias ? [pack([g.dq, g.dk, g.dv]), g.dbias] : [pack([g.dq, g.dk, g.dv])];
        },
        fwd: TOL.fwd,
        bwd: TOL.bwd,
      });
    });
  }

  it('windowAttentionTokens errors: qkv must be [Bw, T, 3, heads, dh]', async () => {
    const device = await sharedDevice();
    expect(() => windowAttentionTokens(Tensor.empty(device, [2, 9, 2, 1, 4]), { scale: 1 })).to.throw(/windowAttentionTokens: qkv must be \[Bw, T, 3, heads, dh\], got \[2, 9, 2, 1, 4\]/);
  });

  it('windowAttentionPacked errors: qkv must be [3, Bw, heads, T, dh]', async () => {
    const device = await sharedDevice();
    const before = device.counters.dispatches;
    expect(() => windowAttentionPacked(Tensor.empty(device, [2, 1, 1, 4, 4]), { scale: 1 })).to.throw(/windowAttentionPacked: qkv must be \[3, Bw, heads, T, dh\], got \[2, 1, 1, 4, 4\]/);
    expect(() => windowAttentionPacked(Tensor.empty(device, [3, 1, 1, 65, 4]), { scale: 1 })).to.throw(/windowAttentionPacked: T must be in 1\.\.64.*qkv \[3, 1, 1, 65, 4\]/);
    expect(device.counters.dispatches).to.equal(before);
  });

  it('windowAttention fused: gradients only for the inputs that require one [2, 2, 10, 5]', async () => {
    const device = await sharedDevice();
    const x = inputsOf({ bw: 2, heads: 2, t: 10, dh: 5, nw: 0, bias: true }, 3);
    const q = Tensor.from(device, x.q.data, x.q.shape);
    const k = Tensor.from(device, x.k.data, x.k.shape, { requiresGrad: true });
    const v = Tensor.from(device, x.v.data, x.v.shape);
    const bias = Tensor.from(device, x.bias!.data, x.bias!.shape, { requiresGrad: true });
    const dy = randn(x.q.shape, 5);
    backward(windowAttention(q, k, v, { scale: x.scale, bias }), Tensor.from(device, dy.data, dy.shape));
    const g = windowAttentionVjpRef(x.q, x.k, x.v, { scale: x.scale, bias: x.bias }, dy);
    expect(q.grad).to.equal(null);
    expect(v.grad).to.equal(null);
    assertClose(await k.grad!.toFloat32(), g.dk, TOL.bwd, 'dk');
    assertClose(await bias.grad!.toFloat32(), g.dbias!, TOL.bwd, 'dbias');
  });

  it('windowAttention fused: forward under noGrad matches, and the bias gradient is bit-identical run to run [4, 3, 49, 32]', async () => {
    const device = await sharedDevice();
    const c: Case = { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true };
    const x = inputsOf(c, 21);
    const up = (a: NDArray, g = true) => Tensor.from(device, a.data, a.shape, { requiresGrad: g });
    const [q, k, v, bias, mask] = [up(x.q), up(x.k), up(x.v), up(x.bias!), up(x.mask!, false)];
    const opts: WindowAttentionOptions = { scale: x.scale, bias, mask };
    const plain = await noGrad(() => windowAttention(q, k, v, opts)).toFloat32();
    assertClose(plain, windowAttentionRef(x.q, x.k, x.v, refOpts(x, x.bias)), TOL.fwd, 'noGrad forward');
    const dy = up(randn(x.q.shape, 2), false);
    const grads: Float32Array[] = [];
    for (let r = 0; r < 2; r++) {
      backward(windowAttention(q, k, v, opts), dy);
      grads.push(await bias.grad!.toFloat32());
      bias.grad!.dispose();
      bias.grad = null;
    }
    expect(Buffer.from(grads[0]!.buffer).equals(Buffer.from(grads[1]!.buffer))).to.equal(true);
  });

  it('windowAttention fused: empty batch of windows gives an empty output and zero bias gradient [0, 2, 9, 4]', async () => {
    const device = await sharedDevice();
    const q = Tensor.from(device, [], [0, 2, 9, 4], { requiresGrad: true });
    const bias = Tensor.from(device, randn([2, 9, 9], 1).data, [2, 9, 9], { requiresGrad: true });
    const y = windowAttention(q, q, q, { scale: 0.5, bias });
    expect([...y.shape]).to.deep.equal([0, 2, 9, 4]);
    backward(y, Tensor.from(device, [], [0, 2, 9, 4]));
    expect(Array.from(await bias.grad!.toFloat32()).every((g) => g === 0)).to.equal(true);
  });

  for (const c of [
    { bw: 4, heads: 3, t: 49, dh: 32, nw: 2, bias: true },
    { bw: 6, heads: 2, t: 10, dh: 5, nw: 3, bias: true },
  ] as Case[]) {
    it(`windowAttention fused: matches the unfused composition, forward and gradients ${label(c)}`, async () => {
      const device = await sharedDevice();
      const x = inputsOf(c, 31);
      const dy = randn(x.q.shape, 4);
      const run = async (f: typeof windowAttention) => {
        const up = (a: NDArray, g = true) => Tensor.from(device, a.data, a.shape, { requiresGrad: g });
        const ts = [up(x.q), up(x.k), up(x.v), up(x.bias!)];
        const y = f(ts[0]!, ts[1]!, ts[2]!, { scale: x.scale, bias: ts[3], mask: up(x.mask!, false) });
        backward(y, up(dy, false));
        return [await y.toFloat32(), ...(await Promise.all(ts.map((t) => t.grad!.toFloat32())))];
      };
      const fused = await run(windowAttention);
      const unfused = await run(attentionUnfused);
      ['output', 'dq', 'dk', 'dv', 'dbias'].forEach((what, i) => assertClose(fused[i]!, unfused[i]!, TOL.unfused, `fused vs unfused ${what}`));
    });
  }

  it('windowAttention kernels: subgroup by default on 8-lane subgroups (lavapipe), and the workgroup family runs where it fits', async () => {
    const device = await sharedDevice();
    const eight = device.adapter.subgroupMinSize === 8 && device.adapter.subgroupMaxSize === 8 && device.has('subgroups');
    if (!eight) expect.fail(`this suite runs on lavapipe, whose subgroups have 8 lanes; this adapter: ${device.name}`);
    expect(windowAttentionKernels(device, 49, 32)).to.equal('subgroup');
    expect(windowAttentionUnsupported(device)).to.equal(null);
    expect(windowAttentionUnsupported(device, { t: 64, dh: 64 })).to.equal(null);
  });

  describe('bad input', () => {
    const cases: [string, (d: Awaited<ReturnType<typeof sharedDevice>>) => void, RegExp][] = [
      ['rank 3 q', (d) => { const q = Tensor.empty(d, [2, 9, 4]); windowAttention(q, q, q, { scale: 1 }); }, /windowAttention: q must be \[Bw, heads, T, dh\], got q \[2, 9, 4\]/],
      ['k of another shape', (d) => { windowAttention(Tensor.empty(d, [2, 1, 9, 4]), Tensor.empty(d, [2, 1, 9, 5]), Tensor.empty(d, [2, 1, 9, 4]), { scale: 1 }); }, /same shape.*k \[2, 1, 9, 5\]/],
      ['T = 65', (d) => { const q = Tensor.empty(d, [1, 1, 65, 4]); windowAttention(q, q, q, { scale: 1 }); }, /T must be in 1\.\.64.*\[1, 1, 65, 4\]/],
      ['dh = 65', (d) => { const q = Tensor.empty(d, [1, 1, 4, 65]); windowAttention(q, q, q, { scale: 1 }); }, /dh must be in 1\.\.64.*\[1, 1, 4, 65\]/],
      ['bias of the wrong shape', (d) => { const q = Tensor.empty(d, [2, 3, 9, 4]); windowAttention(q, q, q, { scale: 1, bias: Tensor.empty(d, [2, 9, 9]) }); }, /bias must be \[heads, T, T\] = \[3, 9, 9\], got \[2, 9, 9\]/],
      ['mask of the wrong T', (d) => { const q = Tensor.empty(d, [2, 3, 9, 4]); windowAttention(q, q, q, { scale: 1, mask: Tensor.empty(d, [2, 8, 8]) }); }, /mask must be \[nW, T, T\] with T = 9, got \[2, 8, 8\]/],
      ['Bw not a multiple of nW', (d) => { const q = Tensor.empty(d, [5, 3, 9, 4]); windowAttention(q, q, q, { scale: 1, mask: Tensor.empty(d, [2, 9, 9]) }); }, /Bw = 5 windows is not a multiple of the mask's nW = 2/],
      ['vec4 with dh = 5', (d) => { const q = Tensor.empty(d, [1, 1, 4, 5]); windowAttention(q, q, q, { scale: 1, vec4: true }); }, /vec4 needs dh % 4 == 0, got dh = 5/],
      ['rows = 3', (d) => { const q = Tensor.empty(d, [1, 1, 4, 4]); windowAttention(q, q, q, { scale: 1, rows: 3 as 2 }); }, /rows must be 1 or 2, got 3/],
      ['rows = 3 with the workgroup kernels', (d) => { const q = Tensor.empty(d, [1, 1, 4, 4]); windowAttention(q, q, q, { scale: 1, rows: 3 as 2, kernels: 'workgroup' }); }, /rows must be 1 or 2, got 3/],
      ['a NaN scale', (d) => { const q = Tensor.empty(d, [1, 1, 4, 4]); windowAttention(q, q, q, { scale: NaN }); }, /scale must be finite, got NaN/],
      ['workgroup kernels with dh = 5', (d) => { const q = Tensor.empty(d, [1, 1, 4, 5]); windowAttention(q, q, q, { scale: 1, kernels: 'workgroup' }); }, /workgroup window attention kernels need dh % 4 == 0, got dh = 5/],
      ['workgroup kernels past the workgroup memory', (d) => { const q = Tensor.empty(d, [1, 1, 64, 64]); windowAttention(q, q, q, { scale: 1, kernels: 'workgroup' }); }, /need 33024 bytes of workgroup memory at T = 64, dh = 64; this device allows \d+/],
      ['an unknown kernel family', (d) => { const q = Tensor.empty(d, [1, 1, 4, 4]); windowAttention(q, q, q, { scale: 1, kernels: 'tiles' as 'workgroup' }); }, /kernels must be 'subgroup' or 'workgroup', got tiles/],
    ];
    for (const [what, f, re] of cases) {
      it(`windowAttention errors: ${what} is rejected before any dispatch`, async () => {
        const device = await sharedDevice();
        const before = device.counters.dispatches;
        expect(() => f(device)).to.throw(re);
        expect(device.counters.dispatches).to.equal(before);
      });
    }
  });
});

describe('windowAttention Swin helpers', function () {
  this.timeout(30000);

  it('relativePositionIndex: equals the released code for 2x2 and 3x3 windows', () => {
    expect(Array.from(relativePositionIndex(2))).to.deep.equal([4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]);
    const three = [12, 11, 10, 7, 6, 5, 2, 1, 0, 13, 12, 11, 8, 7, 6, 3, 2, 1, 14, 13, 12, 9, 8, 7, 4, 3, 2, 17, 16, 15, 12, 11, 10, 7, 6, 5, 18, 17, 16, 13, 12, 11, 8, 7, 6, 19, 18, 17, 14, 13, 12, 9, 8, 7, 22, 21, 20, 17, 16, 15, 12, 11, 10, 23, 22, 21, 18, 17, 16, 13, 12, 11, 24, 23, 22, 19, 18, 17, 14, 13, 12];
    expect(Array.from(relativePositionIndex(3))).to.deep.equal(three);
    const seven = relativePositionIndex(7);
    expect([Math.min(...seven), Math.max(...seven), seven[0]]).to.deep.equal([0, 168, 84]);
  });

  it('relativePositionBias: gathers the table to [heads, T, T] and scatter-adds its gradient [9, 2] -> [2, 4, 4]', async () => {
    const device = await sharedDevice();
    const index = relativePositionIndex(2);
    const table = randn([9, 2], 3);
    const gather = (tb: NDArray) => nd([2, 4, 4], Array.from({ length: 32 }, (_, o) => tb.data[index[o % 16]! * 2 + Math.floor(o / 16)]!));
    await checkGpu({
      name: 'relativePositionBias [9, 2]',
      inputs: [table],
      gpu: (ts) => relativePositionBias(ts[0]!, Tensor.from(device, index, [16], { dtype: 'i32' }), 4),
      ref: (a) => gather(a[0]!),
      vjp: (_, dy) => {
        const g = nd([9, 2]);
        for (let o = 0; o < 32; o++) g.data[index[o % 16]! * 2 + Math.floor(o / 16)]! += dy.data[o]!;
        return [g];
      },
      fwd: { atol: 1e-6, rtol: 1e-6 },
      bwd: { atol: 1e-6, rtol: 1e-6 },
    });
    expect(() => relativePositionBias(Tensor.empty(device, [9, 2]), index, 3)).to.throw(/relativePositionBias: the index has 16 entries, T \* T = 9 expected/);
  });

  it('swinShiftMask: equals the released code for 4x4 tokens, window 2, shift 1 [4, 4, 4]', async () => {
    const z = 0;
    const m = -100;
    const want = [
      z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z,
      z, m, z, m, m, z, m, z, z, m, z, m, m, z, m, z,
      z, z, m, m, z, z, m, m, m, m, z, z, m, m, z, z,
      z, m, m, m, m, z, m, m, m, m, z, m, m, m, m, z,
    ];
    expect(Array.from(swinShiftMaskData(4, 4, 2, 1))).to.deep.equal(want);
    const t = swinShiftMask(await sharedDevice(), 4, 4, 2, 1);
    expect([...t.shape]).to.deep.equal([4, 4, 4]);
    expect(Array.from(await t.toFloat32())).to.deep.equal(want);
  });

  it('swinShiftMask: masked counts per window equal the released code for 14x14 / 7 / 3 and 8x12 / 4 / 2', () => {
    const counts = (d: Float32Array, nw: number) => Array.from({ length: nw }, (_, w) => d.slice((w * d.length) / nw, ((w + 1) * d.length) / nw).filter((x) => x !== 0).length);
    expect(counts(swinShiftMaskData(14, 14, 7, 3), 4)).to.deep.equal([0, 1176, 1176, 1776]);
    expect(counts(swinShiftMaskData(8, 12, 4, 2), 6)).to.deep.equal([0, 0, 128, 128, 128, 192]);
    expect(() => swinShiftMaskData(14, 14, 7, 7)).to.throw(/swinShiftMask: needs window >= 1 dividing h = 14/);
    expect(() => swinShiftMaskData(15, 14, 7, 3)).to.throw(/swinShiftMask/);
  });
});
