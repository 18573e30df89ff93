import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { attentionCase, casesOf, QUICK_MAX_FLOPS, selectCases, shapeKey, type AttentionCase } from '../../bench/cases.js';
import { runBench } from '../../bench/harness.js';
import { attentionInputs } from '../../bench/runners/ours_attention.js';
import { attentionSummary, caseTable } from '../../bench/table.js';
import { makeRow, type Impl, type Row } from '../../bench/types.js';
import { sharedDevice } from '../helpers.js';

const attention = casesOf('attention');
const byName = (name: string): AttentionCase => {
  const c = attention.find((x) => x.name === name);
  expect(c, `case '${name}'; have ${attention.map((x) => x.name).join(', ')}`).to.not.equal(undefined);
  return c!;
};

describe('bench attention', () => {
  it('cases attention: Swin-T stage 1 at 224 px and the small stage 1 at 112 px; FLOPs of six products 12·T²·dh [128x3x49x32]', () => {
    const swin = byName('attention swin-t s1 b2 56x56 w7 s3 64x3x49x32');
    expect([swin.batch, swin.windows, swin.heads, swin.t, swin.dh, swin.grid, swin.window, swin.shift]).to.deep.equal([2, 64, 3, 49, 32, 56, 7, 3]);
    expect(shapeKey(swin)).to.equal('128x3x49x32');
    // forward q kᵀ and P v: 4·T²·dh; backward dP, dV, dQ, dK: 8·T²·dh; per (window, head)
    expect(swin.flops).to.equal(128 * 3 * (4 + 8) * 49 * 49 * 32);
    expect(swin.bytes).to.equal(4 * 11 * 128 * 3 * 49 * 32);
    expect(byName('attention swin-t s1 b8 56x56 w7 s3 64x3x49x32').batch).to.equal(8);
    const small = byName('attention small s1 b8 28x28 w7 s3 16x1x49x32');
    expect([small.windows, small.heads, small.grid]).to.deep.equal([16, 1, 28]);
    expect(shapeKey(byName('attention small s1 b32 28x28 w7 s3 16x1x49x32'))).to.equal('512x1x49x32');
    for (const c of attention) expect(c.flops, c.name).to.equal(12 * c.batch * c.windows * c.heads * c.t * c.t * c.dh);
    expect(() => attentionCase('bad', 1, 30, 1)).to.throw(RangeError, /grid 30 is not a multiple of window 7/);
  });

  it('cases attention: --quick selects the tiny case only; bench/cases.json carries every case', () => {
    const quick = selectCases({ op: 'attention', quick: true });
    expect(quick.map((c) => c.name)).to.deep.equal(['attention tiny b1 14x14 w7 s3 4x1x49x32']);
    expect(attention.filter((c) => c.flops > QUICK_MAX_FLOPS)).to.have.length(4);
    const json = JSON.parse(readFileSync(new URL('../../bench/cases.json', import.meta.url), 'utf8')) as { cases: { op: string; name: string }[] };
    expect(json.cases.filter((c) => c.op === 'attention').map((c) => c.name)).to.deep.equal(attention.map((c) => c.name));
  });

  it('runners attention: the same inputs for every runner, scaled into [-0.5, 0.5) [4x1x49x32]', () => {
    const c = byName('attention tiny b1 14x14 w7 s3 4x1x49x32');
    const a = attentionInputs(c);
    const b = attentionInputs(c);
    expect(a.q).to.have.length(4 * 49 * 32);
    expect(a.bias).to.have.length(49 * 49);
    expect(a.q).to.deep.equal(b.q);
    expect(a.q).to.not.deep.equal(a.k);
    expect(Math.max(...a.q.map(Math.abs))).to.be.at.most(0.5);
  });

  it('harness attention: tfjs-wasm, onnxruntime and torch skip the attention cases with a reason and are listed as not run', async () => {
    const out: string[] = [];
    const log: string[] = [];
    const impls: Impl[] = ['tfjs-wasm', 'onnxruntime', 'torch'];
    const r = await runBench({ op: 'attention', quick: true, impls, noRoofline: true }, { device: await sharedDevice(), out: (l) => out.push(l), log: (l) => log.push(l) });
    expect(r.rows).to.have.length(0);
    expect(log).to.include('bench: tfjs-wasm: skips 1 attention case(s): this runner measures matmul only');
    expect(log).to.include('bench: torch: skips 1 attention case(s): this runner measures matmul and aunce only');
    for (const impl of impls) expect(r.unavailable.map((u) => u.impl)).to.include(impl);
    expect(out.join('\n')).to.include('onnxruntime: not run: it measures matmul cases only');
  });

  it('harness attention quick: fused and unfused rows, forward + backward, and the fused vs unfused line [4x1x49x32]', async function () {
    this.timeout(60000);
    const device = await sharedDevice();
    const out: string[] = [];
    const log: string[] = [];
    const r = await runBench(
      { op: 'attention', quick: true, impls: ['ours', 'naive'], timing: { repeats: 3, budgetMs: 50 }, noRoofline: true },
      { device, out: (l) => out.push(l), log: (l) => log.push(l) },
    );
    expect(r.rows.map((x) => `${x.impl}/${x.variant}`), log.join('\n')).to.deep.equal(['ours/fused', 'naive/unfused']);
    for (const row of r.rows) {
      expect(row.op).to.equal('attention');
      expect(row.shape).to.equal('4x1x49x32');
      expect(row.medianMs, row.variant).to.be.greaterThan(0);
      expect(row.repeats).to.be.within(1, 3);
      expect(row.clock).to.equal(device.has('timestamp-query') ? 'gpu' : 'wall');
    }
    const text = out.join('\n');
    expect(text).to.include('attention tiny b1 14x14 w7 s3 4x1x49x32  [4x1x49x32]');
    expect(text).to.match(/fused vs unfused: [\d.]+x faster \(median [\d.]+ ms \/ [\d.]+ ms, (gpu|wall) \/ (gpu|wall) clock; target >= 2x: (met|not met)\)/);
    expect(text).to.not.include('fused vs tfjs-webgpu');
  });

  it('table attention: both ratios against the issue targets (2x unfused, 20x TF.js WebGPU) [128x3x49x32]', () => {
    const c = byName('attention swin-t s1 b2 56x56 w7 s3 64x3x49x32');
    const row = (impl: Impl, variant: string, ms: number): Row => makeRow(c, impl, variant, [ms], 'gpu', 'dev');
    const rows = [row('tfjs-webgpu', 'webgpu composed', 150), row('naive', 'unfused', 25), row('ours', 'fused', 10)];
    const lines = caseTable(c, rows, null).split('\n');
    expect(lines[1]).to.match(/impl +variant +clock +median ms +GFLOP\/s +GB\/s +% roof +vs ours\/fused$/);
    expect(lines.slice(2, 5).map((l) => l.trim().split(/\s{2,}/)[0])).to.deep.equal(['ours', 'naive', 'tfjs-webgpu']);
    expect(lines.slice(5)).to.deep.equal([
      '  fused vs unfused: 2.50x faster (median 25.0 ms / 10.0 ms, gpu / gpu clock; target >= 2x: met)',
      '  fused vs tfjs-webgpu: 15.0x faster (median 150 ms / 10.0 ms, gpu / gpu clock; target >= 20x: not met)',
    ]);
    expect(attentionSummary([row('naive', 'unfused', 25)])).to.deep.equal([]);
  });
});
