import { expect } from 'chai';
import { indexSelect, Tensor, tidy, type Device } from '../../src/index.js';
import { windowAttentionUnsupported } from '../../src/ops/window_attention.js';
import { relativePositionIndex, swinShiftMaskData } from '../../src/ops/window_attention_swin.js';
import { parseSwinConfig, swinParameterCount, swinPreset, validateSwinConfig, type SwinConfig } from '../../src/nn/presets.js';
import { dropPath, PatchEmbed, PatchMerging, SwinBlock, SwinTransformer, type SwinOptions } from '../../src/nn/swin.js';
import { inverseOrder, roll, windowPartition, windowReverse, windowTokenOrder } from '../../src/nn/swin_windows.js';
import { Module } from '../../src/nn/module.js';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { roundF32 } from '../../src/ref/shape_ops.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, randn, sharedDevice } from '../helpers.js';
import { blockRef, mergingRef, partitionRef, patchEmbedRef, relIndexRef, reverseRef, rollRef, shiftMaskRef, swinRef, type Params } from './swin_ref.js';

/**
 * f32 GPU vs float64 CPU. Pieces that only move values (inputs rounded to f32 first): exact.
 * Blocks and the backbone: f32 roundings in matmuls of length <= 4C, softmax and LayerNorm on
 * O(1) activations; the worst error seen on the tiny backbone was 9.3e-7, so 2e-5 leaves a 20x
 * margin for other adapters' summation orders.
 */
const EXACT = { atol: 0, rtol: 0 };
const TOL = { atol: 2e-5, rtol: 1e-4 };

const up = (d: Device, a: NDArray) => Tensor.from(d, a.data, a.shape);
const f64 = async (t: Tensor) => nd(t.shape, await t.toFloat32());

async function params(m: Module): Promise<Params> {
  const out: Params = new Map();
  for (const [k, t] of m.stateDict()) if (t.dtype === 'f32') out.set(k, await f64(t));
  return out;
}

/** Swin options for a test: the fused kernels where this adapter runs them. */
const fusedOk = (d: Device) => windowAttentionUnsupported(d) === null;

function tiny(d: Device, over: Partial<SwinConfig> = {}, opts: SwinOptions = {}): SwinTransformer {
  return new SwinTransformer(d, { ...swinPreset('tiny-test'), ...over }, { seed: 3, ...opts });
}

describe('nn swin', function () {
  this.timeout(60000);

  it('swin roll: torch.roll semantics on axes 1 and 2, both signs [2, 5, 6, 3]', async () => {
    const d = await sharedDevice();
    const x = roundF32(randn([2, 5, 6, 3], 1));
    for (const s of [2, -2]) {
      const y = await roll(up(d, x), [s, s], [1, 2]).toFloat32();
      assertClose(y, rollRef(x, s), EXACT, `roll ${s}`);
    }
  });

  it('swin windowPartition/windowReverse: match the released code and round-trip [2, 8, 12, 3] ws 4', async () => {
    const d = await sharedDevice();
    const x = roundF32(randn([2, 8, 12, 3], 2));
    const w = windowPartition(up(d, x), 4);
    expect(w.shape).to.deep.equal([12, 4, 4, 3]);
    assertClose(await w.toFloat32(), partitionRef(x, 4), EXACT, 'partition');
    assertClose(await windowReverse(w, 4, 8, 12).toFloat32(), reverseRef(partitionRef(x, 4), 4, 8, 12), EXACT, 'reverse');
    assertClose(await windowReverse(w, 4, 8, 12).toFloat32(), x, EXACT, 'round trip');
  });

  it('swin windowTokenOrder: one gather equals roll(-s) then window_partition, and the inverse undoes it [2, 8, 8, 3]', async () => {
    const d = await sharedDevice();
    const x = roundF32(randn([2, 8, 8, 3], 3));
    for (const s of [0, 2]) {
      const order = windowTokenOrder(8, 8, 4, s);
      const g = indexSelect(up(d, x).view([2, 64, 3]), 1, order);
      assertClose(await g.toFloat32(), partitionRef(rollRef(x, -s), 4), EXACT, `order shift ${s}`);
      assertClose(await indexSelect(g, 1, inverseOrder(order)).toFloat32(), x, EXACT, `inverse shift ${s}`);
    }
  });

  it('swin shift mask: the block buffer equals the released img_mask algorithm (0 / -100) [8x8 ws 4 s 2, 14x14 and 28x28 ws 7 s 3]', async () => {
    for (const [h, ws, s] of [
      [8, 4, 2],
      [14, 7, 3],
      [28, 7, 3],
    ] as const) {
      assertClose(swinShiftMaskData(h, h, ws, s), shiftMaskRef(h, h, ws, s), EXACT, `mask ${h} ${ws} ${s}`);
    }
    const d = await sharedDevice();
    const m = tiny(d);
    const blk = m.layers.at(0).blocks.at(1);
    expect(blk.shiftSize).to.equal(2);
    assertClose(await blk.attnMask!.toFloat32(), shiftMaskRef(8, 8, 4, 2), EXACT, 'attn_mask buffer');
    const idx = await m.layers.at(0).blocks.at(0).attn.relativePositionIndex.toArray();
    expect([...idx]).to.deep.equal(relIndexRef(4));
    expect([...relativePositionIndex(7)]).to.deep.equal(relIndexRef(7));
  });

  it('swin PatchEmbed: equals a direct 4x4 stride-4 convolution, then LayerNorm [2, 3, 16, 12] -> [2, 12, 8]', async () => {
    const d = await sharedDevice();
    const pe = new PatchEmbed(d, 4, 3, 8, true, new Rng(5));
    const x = randn([2, 3, 16, 12], 6);
    const y = pe.forward(up(d, x));
    expect(y.shape).to.deep.equal([2, 12, 8]);
    const ps = new Map([...(await params(pe))].map(([k, v]) => [`patch_embed.${k}`, v]));
    assertClose(await y.toFloat32(), patchEmbedRef(ps, x, 4, true), TOL, 'patch embed');
  });

  it('swin PatchMerging: the code order x0 (0,0), x1 (1,0), x2 (0,1), x3 (1,1), LN(4C), Linear(4C -> 2C) [2, 6x4, 3]', async () => {
    const d = await sharedDevice();
    const pm = new PatchMerging(d, [6, 4], 3, new Rng(7));
    expect([...pm.stateDict().keys()]).to.deep.equal(['reduction.weight', 'norm.weight', 'norm.bias']);
    const x = randn([2, 24, 3], 8);
    // the LN weight/bias made non-trivial so that a channel-order error shows
    d.writeBuffer(pm.norm.weight.buffer, 0, Float32Array.from({ length: 12 }, (_, i) => 1 + i / 10));
    const y = pm.forward(up(d, x));
    expect(y.shape).to.deep.equal([2, 6, 6]);
    const ps = new Map([...(await params(pm))].map(([k, v]) => [`m.${k}`, v]));
    assertClose(await y.toFloat32(), mergingRef(ps, 'm', x, 6, 4), TOL, 'patch merging');
  });

  for (const [attention, shift] of [
    ['unfused', 0],
    ['unfused', 2],
    ['fused', 2],
  ] as const) {
    it(`swin SwinBlock ${attention}: equals the float64 released block, shift ${shift} [2, 8x8, 8], 2 heads`, async () => {
      const d = await sharedDevice();
      if (attention === 'fused' && !fusedOk(d)) expect.fail(`fused attention unsupported here: ${windowAttentionUnsupported(d)}`);
      const ctx = { device: d, attention, dropRng: new Rng(1) };
      const blk = new SwinBlock(ctx, 8, [8, 8], 2, 4, shift, 4, 0, new Rng(9));
      // a non-zero bias table and LN affine so that each term shows
      const table = blk.attn.relativePositionBiasTable;
      d.writeBuffer(table.buffer, 0, Float32Array.from(randn(table.shape, 10, 0.5).data));
      d.writeBuffer(blk.norm1.bias.buffer, 0, Float32Array.from(randn([8], 11, 0.3).data));
      const x = randn([2, 64, 8], 12);
      const y = blk.forward(up(d, x));
      const ps = new Map([...(await params(blk))].map(([k, v]) => [`b.${k}`, v]));
      assertClose(await y.toFloat32(), blockRef(ps, 'b', x, 8, 8, 4, shift, 2), TOL, 'block');
    });
  }

  it('swin SwinTransformer: eval forward equals the float64 released backbone (tiny-test) [2, 3, 32, 32] -> [2, 4, 32]', async () => {
    const d = await sharedDevice();
    const m = tiny(d).eval();
    const x = randn([2, 3, 32, 32], 13);
    const y = m.forward(up(d, x));
    expect(y.shape).to.deep.equal([2, m.numTokens, m.numFeatures]);
    expect([m.numTokens, m.numFeatures]).to.deep.equal([4, 32]);
    assertClose(await y.toFloat32(), swinRef(await params(m), m.config, x), TOL, 'backbone');
  });

  it('swin SwinTransformer: fused and unfused attention agree, forward and every parameter gradient', async () => {
    const d = await sharedDevice();
    if (!fusedOk(d)) expect.fail(`fused attention unsupported here: ${windowAttentionUnsupported(d)}`);
    const x = randn([2, 3, 32, 32], 14);
    const r = randn([2, 4, 32], 15);
    const run = async (attention: 'fused' | 'unfused') => {
      const m = tiny(d, {}, { attention }).eval();
      const y = m.forward(up(d, x));
      y.backward(up(d, r));
      const grads = new Map<string, Float32Array>();
      for (const [k, p] of m.namedParameters()) grads.set(k, await p.grad!.toFloat32());
      return { y: await y.toFloat32(), grads };
    };
    const a = await run('fused');
    const b = await run('unfused');
    assertClose(a.y, b.y, { atol: 1e-5, rtol: 1e-4 }, 'forward');
    for (const [k, g] of a.grads) assertClose(g, b.grads.get(k)!, { atol: 1e-4, rtol: 1e-3 }, `grad ${k}`);
  });

  it('swin SwinTransformer: train forward + backward reaches every parameter (non-zero gradients) [2, 3, 32, 32]', async () => {
    const d = await sharedDevice();
    const m = tiny(d);
    const y = m.forward(up(d, randn([2, 3, 32, 32], 16)));
    y.backward(up(d, randn(y.shape, 17)));
    for (const [k, p] of m.namedParameters()) {
      expect(p.grad, k).to.not.equal(null);
      const g = await p.grad!.toFloat32();
      expect(g.some((v) => v !== 0), `${k} has an all-zero gradient`).to.equal(true);
      expect(g.every(Number.isFinite), `${k} has a non-finite gradient`).to.equal(true);
    }
  });

  it('swin SwinTransformer: backward matches float64 central differences of the released backbone along random directions', async () => {
    const d = await sharedDevice();
    const m = tiny(d).eval();
    const x = roundF32(randn([1, 3, 32, 32], 20));
    const r = randn([1, 4, 32], 21);
    const xt = Tensor.from(d, x.data, x.shape, { requiresGrad: true });
    m.forward(xt).backward(up(d, r));
    const ps = await params(m);
    const loss = (q: Params, xi: NDArray) => swinRef(q, m.config, xi).data.reduce((s, v, i) => s + v * r.data[i]!, 0);
    const eps = 1e-4;
    // the input, and three parameters on different paths (shifted attention's table, merging, embedding)
    const wrt = ['x', 'layers.0.blocks.1.attn.relative_position_bias_table', 'layers.0.downsample.reduction.weight', 'patch_embed.proj.weight'];
    for (const [k, key] of wrt.entries()) {
      const base = key === 'x' ? x : ps.get(key)!;
      const v = randn(base.shape, 30 + k);
      const shifted = (sgn: number) => nd(base.shape, base.data.map((b, i) => b + sgn * eps * v.data[i]!));
      const at = (sgn: number) => (key === 'x' ? loss(ps, shifted(sgn)) : loss(new Map([...ps, [key, shifted(sgn)]]), x));
      const numeric = (at(1) - at(-1)) / (2 * eps);
      const g = await (key === 'x' ? xt.grad! : m.stateDict().get(key)!.grad!).toFloat32();
      const analytic = g.reduce((s, gi, i) => s + gi * v.data[i]!, 0);
      expect(Math.abs(analytic - numeric), `${key}: analytic ${analytic}, numeric ${numeric}`).to.be.at.most(1e-4 + 2e-3 * Math.abs(numeric));
    }
  });

  it('swin dropPath: one uniform per sample, kept samples scaled by 1/(1-p), same seed same mask [64, 2, 3]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, new Float32Array(64 * 6).fill(1), [64, 2, 3]);
    const a = await dropPath(x, 0.25, true, new Rng(4)).toFloat32();
    const b = await dropPath(x, 0.25, true, new Rng(4)).toFloat32();
    expect([...a]).to.deep.equal([...b]);
    const per = Array.from({ length: 64 }, (_, i) => a.slice(i * 6, i * 6 + 6));
    expect(per.every((s) => s.every((v) => v === s[0]) && (s[0] === 0 || Math.abs(s[0]! - 4 / 3) < 1e-6))).to.equal(true);
    const dropped = per.filter((s) => s[0] === 0).length;
    expect(dropped).to.be.within(6, 28); // 16 expected
    expect(dropPath(x, 0.25, false, new Rng(4))).to.equal(x);
    // the rates rise linearly from 0 to dropPathRate over all blocks (torch.linspace)
    const m = tiny(d, { dropPathRate: 0.5 });
    const rates = [...m.layers].flatMap((l) => [...l.blocks].map((b) => b.dropPathRate));
    assertClose(rates, [0, 0.1, 0.2, 0.3, 0.4, 0.5], { atol: 1e-12, rtol: 0 }, 'drop-path rates');
  });

  it('swin SwinTransformer: stochastic depth is deterministic by seed, differs across seeds, and is off in eval', async () => {
    const d = await sharedDevice();
    const x = randn([4, 3, 32, 32], 18);
    const out = async (m: SwinTransformer) => tidy(() => m.forward(up(d, x))).toFloat32();
    const cfg = { dropPathRate: 0.5 };
    const a = await out(tiny(d, cfg, { dropPathSeed: 1 }));
    const b = await out(tiny(d, cfg, { dropPathSeed: 1 }));
    const c = await out(tiny(d, cfg, { dropPathSeed: 2 }));
    expect([...a]).to.deep.equal([...b]);
    expect([...a]).to.not.deep.equal([...c]);
    const e1 = await out(tiny(d, cfg, { dropPathSeed: 1 }).eval());
    const e2 = await out(tiny(d, cfg, { dropPathSeed: 2 }).eval());
    const none = await out(tiny(d, { dropPathRate: 0 }));
    expect([...e1]).to.deep.equal([...e2]);
    assertClose(e1, none, EXACT, 'eval equals train without drop path');
    expect([...e1]).to.not.deep.equal([...a]);
  });

  it('swin stateDict: the released key names, derived buffers, and a round trip that reproduces the output', async () => {
    const d = await sharedDevice();
    const a = tiny(d).eval();
    const keys = [...a.stateDict().keys()];
    expect(keys.slice(0, 4)).to.deep.equal(['patch_embed.proj.weight', 'patch_embed.proj.bias', 'patch_embed.norm.weight', 'patch_embed.norm.bias']);
    expect(keys).to.include.members([
      'layers.0.blocks.0.attn.relative_position_bias_table',
      'layers.0.blocks.0.attn.relative_position_index',
      'layers.0.blocks.1.attn_mask',
      'layers.0.blocks.1.attn.qkv.weight',
      'layers.1.blocks.1.mlp.fc2.bias',
      'layers.1.downsample.reduction.weight',
      'layers.1.downsample.norm.bias',
      'norm.weight',
    ]);
    expect(keys).to.not.include('layers.1.blocks.1.attn_mask'); // 4x4 grid = one window: no shift
    expect(keys.some((k) => k.startsWith('layers.2.downsample') || k.includes('token_order'))).to.equal(false);
    expect(a.stateDict().get('patch_embed.proj.weight')!.shape).to.deep.equal([8, 3, 4, 4]);
    expect(a.stateDict().get('layers.2.blocks.0.attn.relative_position_bias_table')!.shape).to.deep.equal([9, 2]);
    expect(a.numParameters()).to.equal(swinParameterCount(a.config));
    const b = new SwinTransformer(d, a.config, { seed: 99 }).eval();
    const x = up(d, randn([1, 3, 32, 32], 19));
    b.loadStateDict(a.stateDict());
    assertClose(await b.forward(x).toFloat32(), await a.forward(x).toFloat32(), EXACT, 'reloaded');
    const sd = new Map(a.stateDict());
    sd.delete('layers.0.blocks.1.attn_mask');
    sd.delete('layers.0.blocks.0.attn.relative_position_index');
    expect(() => b.loadStateDict(sd)).to.not.throw();
    sd.set('layers.0.blocks.0.attn.relative_position_bias_table', Tensor.from(d, new Float32Array(48), [48, 1]));
    expect(() => b.loadStateDict(sd)).to.throw(/'layers\.0\.blocks\.0\.attn\.relative_position_bias_table': shape \[48, 1\] in the state dict, \[49, 1\] in the model/);
  });

  it('swin presets: parameter counts of the released models (Swin-B 86,743,224 as spec 7.6; Swin-T 27,519,354)', () => {
    expect(swinParameterCount(swinPreset('swin-b'))).to.equal(86743224);
    expect(swinParameterCount(swinPreset('swin-t'))).to.equal(27519354);
    expect(swinParameterCount(swinPreset('swin-s'))).to.equal(48837258);
    for (const n of ['swin-t', 'swin-s', 'swin-b', 'small', 'tiny-test']) expect(() => validateSwinConfig(swinPreset(n), n)).to.not.throw();
  });

  it('swin parseSwinConfig: the issue arch.json backbone, defaults, presets, and errors naming the field', () => {
    const c = parseSwinConfig({ type: 'swin', imgSize: 112, patchSize: 4, embedDim: 32, depths: [2, 2, 2], numHeads: [1, 2, 4], windowSize: 7, mlpRatio: 4 });
    expect(c).to.deep.equal({ ...swinPreset('small'), dropPathRate: 0 });
    expect(parseSwinConfig({ type: 'swin', preset: 'swin-b', dropPathRate: 0 }).embedDim).to.equal(128);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ type: 'vit' }, /backbone\.type: must be "swin"/],
      [{ type: 'swin', preset: 'small', depth: [2] }, /backbone\.depth: unknown field/],
      [{ type: 'swin', preset: 'small', imgSize: 100 }, /backbone\.imgSize: the 25 x 25 patch grid cannot be halved 2 times/],
      [{ type: 'swin', preset: 'small', numHeads: [1, 3, 4] }, /backbone\.numHeads\[1\]: 3 heads do not divide stage 1's 64 channels/],
      [{ type: 'swin', preset: 'small', numHeads: [1, 2] }, /backbone\.numHeads: has 2 entries, depths has 3/],
      [{ type: 'swin', preset: 'small', windowSize: 6 }, /backbone\.windowSize: 6 does not divide stage 0's 28 x 28 token grid/],
      [{ type: 'swin', preset: 'small', patchSize: 2.5 }, /backbone\.patchSize: must be a whole number > 0, got 2\.5/],
      [{ type: 'swin', imgSize: 112 }, /backbone\.patchSize: missing/],
      [{ type: 'swin', preset: 'huge' }, /backbone\.preset: must be one of/],
      [{ type: 'swin', preset: 'small', ape: 1 }, /backbone\.ape: must be true or false/],
    ];
    for (const [o, re] of bad) expect(() => parseSwinConfig(o), JSON.stringify(o)).to.throw(re);
  });

  it('swin SwinTransformer: windows beyond the fused limit (T = 81 > 64) take the unfused path and stay correct [1, 3, 72, 72]', async () => {
    const d = await sharedDevice();
    const cfg = { imgSize: 72, patchSize: 4, embedDim: 8, depths: [2], numHeads: [2], windowSize: 9 };
    const m = tiny(d, cfg).eval();
    expect(m.layers.at(0).blocks.at(1).shiftSize).to.equal(4);
    const x = randn([1, 3, 72, 72], 22);
    assertClose(await m.forward(up(d, x)).toFloat32(), swinRef(await params(m), m.config, x), TOL, 'backbone, window 9');
  });

  it('swin SwinTransformer: bad input shapes are errors naming the shapes', async () => {
    const d = await sharedDevice();
    const m = tiny(d);
    expect(() => m.forward(Tensor.from(d, new Float32Array(3 * 16 * 16), [1, 3, 16, 16]))).to.throw(RangeError, /SwinTransformer: input \[1, 3, 16, 16\] must be \[B, 3, 32, 32\]/);
    expect(() => m.layers.at(0).blocks.at(0).forward(Tensor.from(d, new Float32Array(8 * 9), [1, 9, 8]))).to.throw(RangeError, /SwinBlock: input \[1, 9, 8\] must be \[B, 64, 8\]/);
  });
});
