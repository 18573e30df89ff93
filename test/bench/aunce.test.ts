import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { aunceCase, aunceLabels, casesOf, matmulCase, positivePattern, QUICK_MAX_FLOPS, selectCases, shapeKey, type AunceCase } from '../../bench/cases.js';
import { runBench } from '../../bench/harness.js';
import { fusedVariant, UNFUSED } from '../../bench/runners/ours_aunce.js';
import { SpanTimer } from '../../bench/span_timer.js';
import { caseTable } from '../../bench/table.js';
import { median } from '../../bench/timing.js';
import { eachCase, makeRow, type Impl, type Row } from '../../bench/types.js';
import { matmul } from '../../src/ops/matmul.js';
import { noGrad } from '../../src/tensor/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { sharedDevice } from '../helpers.js';

const aunce = casesOf('aunce');
const byName = (name: string): AunceCase => {
  const c = aunce.find((x) => x.name === name);
  expect(c, `case '${name}'; have ${aunce.map((x) => x.name).join(', ')}`).to.not.equal(undefined);
  return c!;
};

describe('bench aunce', () => {
  it("cases aunce: the issue's shapes, FLOPs of the two products 4KN²D, bytes of Z twice, dZ and C [64x12x1024]", () => {
    const target = byName('aunce official max/mean/aug B32 K12 D1024');
    expect([target.b, target.k, target.d, target.mode, target.normalize]).to.deep.equal([32, 12, 1024, 'official', false]);
    expect(shapeKey(target)).to.equal('64x12x1024');
    // forward Gram 2·K·N²·D plus backward (G + Gᵀ) Z 2·K·N²·D
    expect(target.flops).to.equal(2 * 2 * 12 * 64 * 64 * 1024);
    expect(target.bytes).to.equal(4 * (3 * 64 * 12 * 1024 + 2 * 12 * 64 * 64));
    expect(byName('aunce official max/mean/aug B32 K12 D256').d).to.equal(256);
    expect(byName('aunce official max/mean/aug B128 K12 D1024').flops).to.equal(4 * 12 * 256 * 256 * 1024);
    expect(byName('aunce paper max/aug/centroid B32 K12 D1024').positive).to.include('centroid');
    expect(byName('aunce official max/mean/aug normalize B32 K12 D1024').normalize).to.equal(true);
    for (const c of aunce) {
      const n = 2 * c.b;
      expect(c.flops, c.name).to.equal(4 * c.k * n * n * c.d);
      expect(c.bytes, c.name).to.equal(4 * (3 * n * c.k * c.d + 2 * c.k * n * n));
      expect(c.positive, c.name).to.have.length(c.k);
    }
  });

  it('cases aunce: labels (5b + 3k) mod 7 < 3 hold both classes in every AU; positives follow the mode [B8 K12]', () => {
    const c = aunceCase(8, 12, 4, 'official');
    const y = aunceLabels(c);
    expect(y).to.have.length(8);
    expect(y[0]).to.deep.equal([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0]);
    for (let k = 0; k < 12; k++) expect(new Set(y.map((row) => row[k])).size, `AU ${k}`).to.equal(2);
    const official = positivePattern('official', 12);
    expect(official.filter((t) => t === 'max')).to.have.length(3);
    expect(official.filter((t) => t === 'aug')).to.have.length(2);
    expect(official.filter((t) => t === 'mean')).to.have.length(7);
    const paper = positivePattern('paper', 12);
    expect(new Set(paper)).to.deep.equal(new Set(['max', 'aug', 'centroid']));
    expect(paper.filter((t) => t === 'centroid')).to.have.length(8);
  });

  it('cases aunce: --op aunce and --quick select the small ones; bench/cases.json carries them for torch', () => {
    expect(selectCases({ op: 'aunce' })).to.deep.equal(aunce);
    const quick = selectCases({ op: 'aunce', quick: true });
    expect(quick.map((c) => c.name)).to.deep.equal(['aunce official max/mean/aug B8 K12 D64', 'aunce paper max/aug/centroid normalize B8 K12 D64']);
    expect(quick.every((c) => c.flops <= QUICK_MAX_FLOPS)).to.equal(true);
    const json = JSON.parse(readFileSync(new URL('../../bench/cases.json', import.meta.url), 'utf8')) as { cases: { op: string; name: string }[] };
    expect(json.cases.filter((c) => c.op === 'aunce').map((c) => c.name)).to.deep.equal(aunce.map((c) => c.name));
  });

  it('runners aunce: a matmul runner skips aunce cases with a logged reason and measures the rest', async () => {
    const log: string[] = [];
    const measured: string[] = [];
    const rows: Row[] = [];
    const mm = matmulCase('tiny', 1, 2, 3, 4);
    const ctx = { device: null, gpu: null, timing: { repeats: 3, budgetMs: 10 }, log: (l: string) => log.push(l) };
    await eachCase('tfjs-wasm', 'matmul', [mm, byName('aunce official max/mean/aug B8 K12 D64')], ctx, async (c) => {
      measured.push(c.name);
      return [makeRow(c, 'tfjs-wasm', 'x', [1], 'wall', 'cpu')];
    }, (r) => rows.push(r));
    expect(measured).to.deep.equal(['tiny']);
    expect(rows).to.have.length(1);
    expect(log).to.deep.equal(['tfjs-wasm: aunce official max/mean/aug B8 K12 D64: skipped (this runner measures matmul cases only)']);
  });

  it('harness aunce: tfjs and onnxruntime skip aunce cases with a reason, are not started, and are listed as not run', async () => {
    const out: string[] = [];
    const log: string[] = [];
    const impls: Impl[] = ['tfjs-webgpu', 'tfjs-wasm', 'onnxruntime'];
    const r = await runBench({ op: 'aunce', quick: true, impls, noRoofline: true }, { device: await sharedDevice(), out: (l) => out.push(l), log: (l) => log.push(l) });
    expect(r.rows).to.have.length(0);
    for (const impl of impls) {
      const ops = impl === 'tfjs-webgpu' ? 'matmul and attention' : 'matmul';
      expect(log, impl).to.include(`bench: ${impl}: skips 2 aunce case(s): this runner measures ${ops} only`);
      expect(r.unavailable).to.deep.include({ impl, unavailable: `it measures ${ops} cases only` });
    }
    expect(out.join('\n')).to.include('tfjs-wasm: not run: it measures matmul cases only');
  });

  it('span timer: a span covers every pass of a region that uploads between dispatches [4x 256x256x256]', async function () {
    this.timeout(60000);
    const device = await sharedDevice();
    const timer = new SpanTimer(device);
    const a = Tensor.from(device, new Float32Array(256 * 256).fill(0.5), [256, 256]);
    const scratch = Tensor.empty(device, [4]);
    try {
      const one = () => noGrad(() => matmul(a, a).dispose());
      const four = () => {
        for (let i = 0; i < 4; i++) {
          one();
          device.writeBuffer(scratch.buffer, 0, new Float32Array(4)); // flushes: four submits
        }
      };
      one();
      await device.sync();
      const ones: number[] = [];
      const fours: number[] = [];
      for (let r = 0; r < 3; r++) {
        ones.push(...(await timer.spans(one, 3, 2)));
        fours.push(...(await timer.spans(four, 3, 8)));
      }
      expect(ones.every((x) => x > 0) && fours.every((x) => x > 0)).to.equal(true);
      // a timer that kept only the last pass would see one product in `four`
      expect(Math.min(...fours), `one ${ones.join(', ')}; four ${fours.join(', ')}`).to.be.greaterThan(2 * Math.min(...ones));
      expect(timer.clock).to.equal(device.has('timestamp-query') ? 'gpu' : 'wall');
      if (timer.clock === 'gpu') {
        timer.span(() => {}); // nothing dispatched: still a span, of about no time
        const [empty] = await timer.read();
        expect(empty).to.be.within(0, median(ones));
      }
    } finally {
      a.dispose();
      scratch.dispose();
      timer.destroy();
    }
  });

  it('harness aunce quick: fused and unfused rows with the bytes kept for the backward, the ratio and the memory line [16x12x64]', async function () {
    this.timeout(120000);
    const device = await sharedDevice();
    const out: string[] = [];
    const log: string[] = [];
    const r = await runBench(
      { op: 'aunce', quick: true, impls: ['ours', 'naive'], timing: { repeats: 3, budgetMs: 50 }, noRoofline: true, aunceVariants: [fusedVariant(), UNFUSED] },
      { device, out: (l) => out.push(l), log: (l) => log.push(l) },
    );
    expect(r.cases).to.have.length(2);
    for (const c of r.cases as AunceCase[]) {
      const rows = r.rows.filter((x) => x.case === c.name);
      expect(rows.map((x) => `${x.impl}/${x.variant}`), `${c.name}: ${log.join('\n')}`).to.deep.equal(['ours/fused', 'naive/unfused']);
      const [fused, unfused] = rows as [Row, Row];
      for (const row of rows) {
        expect(row.op).to.equal('aunce');
        expect(row.shape).to.equal(`${2 * c.b}x${c.k}x${c.d}`);
        expect(row.medianMs, row.variant).to.be.greaterThan(0);
        expect(row.repeats).to.be.within(1, 3);
        expect(row.clock).to.equal(device.has('timestamp-query') ? 'gpu' : 'wall');
      }
      // the fused op keeps C [K, N, N] and O(N K) statistics, never a second [K, N, N]
      const gram = 4 * c.k * (2 * c.b) ** 2;
      expect(fused.keptBytes, c.name).to.be.within(gram, 2 * gram - 1);
      expect(unfused.keptBytes, c.name).to.be.greaterThan(2 * gram);
    }
    const text = out.join('\n');
    expect(text).to.include('aunce official max/mean/aug B8 K12 D64  [16x12x64]');
    expect(text).to.match(/kept fwd->bwd +vs ours\/fused/);
    expect(text).to.match(/fused vs unfused: [\d.]+x faster \(median [\d.]+ ms \/ [\d.]+ ms, (gpu|wall) clock\)/);
    expect(text).to.match(/kept between forward and backward: fused [\d.]+ KiB, unfused [\d.]+ KiB \([\d.]+x less\)/);
  });

  it('table aunce: a kept column, and the fused vs unfused lines from the rows [64x12x1024]', () => {
    const c = byName('aunce official max/mean/aug B32 K12 D1024');
    const row = (impl: Impl, variant: string, ms: number, keptBytes?: number): Row => ({ ...makeRow(c, impl, variant, [ms], 'gpu', 'dev'), ...(keptBytes === undefined ? {} : { keptBytes }) });
    const rows = [row('naive', 'unfused', 60, 8 << 20), row('ours', 'fused', 10, 256 << 10), row('ours', 'fused shuffle', 12, 256 << 10), row('torch', 'cpu', 30)];
    const lines = caseTable(c, rows, null).split('\n');
    expect(lines[1]).to.match(/impl +variant +clock +median ms +GFLOP\/s +GB\/s +% roof +kept fwd->bwd +vs ours\/fused +vs ours\/fused shuffle/);
    const cells = lines.slice(2, 6).map((l) => l.trim().split(/\s{2,}/));
    expect(cells.map((x) => `${x[0]}/${x[1]}`)).to.deep.equal(['ours/fused', 'ours/fused shuffle', 'torch/cpu', 'naive/unfused']);
    expect(cells[3]!.slice(-3)).to.deep.equal(['8.00 MiB', '6.00x', '5.00x']);
    expect(cells[2]![7]).to.equal('-');
    expect(lines.slice(6)).to.deep.equal([
      '  fused vs unfused: 6.00x faster (median 60.0 ms / 10.0 ms, gpu clock)',
      '  kept between forward and backward: fused 256 KiB, unfused 8.00 MiB (32.0x less)',
    ]);
  });
});
