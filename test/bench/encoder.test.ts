import { expect } from 'chai';
import { casesOf, ENCODER_PRESETS, encoderCase, QUICK_MAX_FLOPS, selectCases, shapeKey, swinForwardFlops, type EncoderCase } from '../../bench/cases.js';
import { runBench } from '../../bench/harness.js';
import { caseTable } from '../../bench/table.js';
import { makeRow, type Impl } from '../../bench/types.js';
import { SWIN_PRESETS } from '../../src/nn/presets.js';
import { sharedDevice } from '../helpers.js';

const encoder = casesOf('encoder');

describe('bench encoder', () => {
  it('cases encoder: small at 112 px (b8, b32) and Swin-T at 224 px (b1), eval and train each; presets as in src/nn [1x3x224x224]', () => {
    expect(encoder.map((c) => `${c.preset} b${c.batch} ${c.mode}`)).to.deep.equal([
      'small b8 eval', 'small b8 train', 'small b32 eval', 'small b32 train', 'swin-t b1 eval', 'swin-t b1 train', 'tiny-test b2 eval', 'tiny-test b2 train',
    ]);
    const t = encoder.find((c) => c.preset === 'swin-t' && c.mode === 'eval')!;
    expect(t.name).to.equal('encoder swin-t 224px b1 forward (eval)');
    expect(shapeKey(t)).to.equal('1x3x224x224');
    // Swin-T is about 4.5 GMAC per 224 px image (the released model card)
    expect(swinForwardFlops('swin-t') / 2e9).to.be.within(4.3, 4.6);
    for (const name of ['swin-t', 'small', 'tiny-test'] as const) {
      const p = SWIN_PRESETS[name];
      const mine = ENCODER_PRESETS[name];
      expect([mine.imgSize, mine.embedDim, mine.depths, mine.numHeads, mine.window], name).to.deep.equal([p.imgSize, p.embedDim, p.depths, p.numHeads, p.windowSize]);
    }
    for (const c of encoder) {
      expect(c.flops, c.name).to.equal(c.batch * swinForwardFlops(c.preset) * (c.mode === 'eval' ? 1 : 3));
      const p = SWIN_PRESETS[c.preset];
      expect(shapeKey(c), c.name).to.equal(`${c.batch}x3x${p.imgSize}x${p.imgSize}`);
    }
  });

  it('cases encoder: --quick selects the tiny-test pair only', () => {
    const quick = selectCases({ op: 'encoder', quick: true });
    expect(quick.map((c) => c.name)).to.deep.equal(['encoder tiny-test 32px b2 forward (eval)', 'encoder tiny-test 32px b2 forward+backward (train)']);
    expect(encoder.filter((c) => c.flops > QUICK_MAX_FLOPS)).to.have.length(6);
  });

  it('harness encoder: every other runner skips the encoder cases with a reason and is listed as not run', async () => {
    const out: string[] = [];
    const log: string[] = [];
    const impls: Impl[] = ['tfjs-webgpu', 'tfjs-wasm', 'onnxruntime', 'torch'];
    const r = await runBench({ op: 'encoder', quick: true, impls, noRoofline: true }, { device: await sharedDevice(), out: (l) => out.push(l), log: (l) => log.push(l) });
    expect(r.rows).to.have.length(0);
    expect(log).to.include('bench: tfjs-webgpu: skips 2 encoder case(s): this runner measures matmul and attention only');
    expect(log).to.include('bench: onnxruntime: skips 2 encoder case(s): this runner measures matmul only');
    expect(r.unavailable.map((u) => u.impl)).to.deep.equal(impls);
    expect(out.join('\n')).to.include('tfjs-webgpu: not run: it measures matmul and attention cases only');
    const naive: string[] = [];
    await runBench({ op: 'encoder', quick: true, impls: ['naive'], noRoofline: true }, { device: await sharedDevice(), out: () => {}, log: (l) => naive.push(l) });
    expect(naive).to.include("bench: the encoder cases run under impl 'ours' only");
  });

  it('harness encoder quick: images/s and peak memory for the forward and the forward + backward [2x3x32x32]', async function () {
    this.timeout(60000);
    const device = await sharedDevice();
    const out: string[] = [];
    const log: string[] = [];
    const r = await runBench(
      { op: 'encoder', quick: true, impls: ['ours'], timing: { repeats: 3, budgetMs: 50 }, noRoofline: true },
      { device, out: (l) => out.push(l), log: (l) => log.push(l) },
    );
    expect(r.rows.map((x) => `${x.impl}/${x.variant}`), log.join('\n')).to.deep.equal(['ours/forward', 'ours/forward+backward']);
    const [fwd, train] = r.rows;
    for (const row of r.rows) {
      expect(row.medianMs, row.variant).to.be.greaterThan(0);
      expect(row.imagesPerS, row.variant).to.be.closeTo((1000 * 2) / row.medianMs, 1e-9);
      expect(row.repeats).to.be.within(1, 3);
      expect(row.clock).to.equal(device.has('timestamp-query') ? 'gpu' : 'wall');
    }
    // the training step keeps activations for the backward and allocates every gradient
    expect(fwd!.peakBytes).to.be.greaterThan(0);
    expect(train!.peakBytes).to.be.greaterThan(fwd!.peakBytes!);
    const text = out.join('\n');
    expect(text).to.include('encoder tiny-test 32px b2 forward+backward (train)  [2x3x32x32]');
    expect(text).to.match(/impl +variant +clock +median ms +images\/s +peak memory +GFLOP\/s/);
  });

  it('table encoder: images/s and peak memory columns, with - where a row has none [8x3x112x112]', () => {
    const c: EncoderCase = encoderCase('small', 8, 'eval');
    const row = { ...makeRow(c, 'ours', 'forward', [40], 'gpu', 'dev'), imagesPerS: 200, peakBytes: 3 << 20 };
    const lines = caseTable(c, [row, makeRow(c, 'naive', 'x', [80], 'wall', 'dev')], null).split('\n');
    expect(lines[2]!.trim().split(/\s{2,}/).slice(0, 6)).to.deep.equal(['ours', 'forward', 'gpu', '40.0', '200', '3.00 MiB']);
    expect(lines[3]!.trim().split(/\s{2,}/).slice(3, 6)).to.deep.equal(['80.0', '-', '-']);
  });
});
