import { expect } from 'chai';
import { matmulCase } from '../../bench/cases.js';
import { parseImpls, parseVariants } from '../../bench/harness.js';
import { importOptional, MissingPackage } from '../../bench/optional.js';
import { bestRoofline, rooflineLimit, type Roofline } from '../../bench/roofline.js';
import { findTorchPython } from '../../bench/runners/torch.js';
import { annotateRoofline, caseTable, formatNumber, formatRatio, formatTable } from '../../bench/table.js';
import { median, plannedRepeats } from '../../bench/timing.js';
import { makeRow, type Impl } from '../../bench/types.js';

const roof: Roofline = { peakGflops: 100, bandwidthGBs: 10, clock: 'gpu', copyBytes: 1 << 26 };

describe('bench table', () => {
  it('table numbers: three significant digits, ratios with an x', () => {
    expect([1234.5, 123.4, 12.345, 1.2345, 0.12345, 0.012345, 0].map(formatNumber)).to.deep.equal(['1235', '123', '12.3', '1.23', '0.12', '0.012', '0.00']);
    expect(formatRatio(12.34)).to.equal('12.3x');
    expect(formatRatio(0.5)).to.equal('0.50x');
    expect(formatRatio(NaN)).to.equal('-');
  });

  it('table layout: columns padded to the widest cell, numbers right-aligned', () => {
    const t = formatTable(['impl', 'ms'], [['ours', '1.5'], ['tfjs-webgpu', '120']], ['left', 'right']);
    expect(t.split('\n')).to.deep.equal(['impl          ms', 'ours         1.5', 'tfjs-webgpu  120']);
  });

  it('table roofline: the limit is min(peak, intensity x bandwidth) and rows get their percent', () => {
    const compute = matmulCase('big', 1, 1024, 1024, 1024);
    const memory = matmulCase('thin', 1, 4096, 1, 4096);
    expect(rooflineLimit(roof, compute.flops, compute.bytes)).to.equal(100);
    expect(rooflineLimit(roof, memory.flops, memory.bytes)).to.be.closeTo((memory.flops / memory.bytes) * 10, 1e-9);
    const rows = [makeRow(compute, 'ours', 'plain', [compute.flops / 50e6], 'gpu', 'dev')];
    annotateRoofline(rows, [compute], roof);
    expect(rows[0]!.gflops).to.be.closeTo(50, 1e-9);
    expect(rows[0]!.roofPct).to.be.closeTo(50, 1e-9);
    annotateRoofline(rows, [compute], null);
    expect(rows[0]!.roofPct).to.equal(null);
    const best = bestRoofline(roof, { ...roof, peakGflops: 80, bandwidthGBs: 12 });
    expect([best.peakGflops, best.bandwidthGBs]).to.deep.equal([100, 12]);
    expect(bestRoofline(null, roof)).to.equal(roof);
  });

  it('table case: rows fastest first with the ratio of every row to each of our variants [1024x1024x1024]', () => {
    const c = matmulCase('square 1024', 1, 1024, 1024, 1024);
    const row = (impl: Impl, variant: string, ms: number) => makeRow(c, impl, variant, [ms, ms, ms], impl === 'ours' || impl === 'tfjs-webgpu' ? 'gpu' : 'wall', 'dev');
    const rows = [row('tfjs-webgpu', 'webgpu', 500), row('ours', 'plain', 40), row('ours', 'fast', 20), row('torch', 'cpu', 10)];
    annotateRoofline(rows, [c], roof);
    const lines = caseTable(c, rows, roof).split('\n');
    expect(lines[0]).to.match(/^square 1024 {2}\[1024x1024x1024\] {2}2\.15 GFLOP, 12\.0 MiB, roofline 100 GFLOP\/s \(compute-bound\)$/);
    expect(lines[1]).to.match(/impl +variant +clock +median ms +GFLOP\/s +GB\/s +% roof +vs ours\/fast +vs ours\/plain/);
    const cells = lines.slice(2).map((l) => l.trim().split(/\s{2,}/));
    expect(cells.map((r) => r[0])).to.deep.equal(['torch', 'ours', 'ours', 'tfjs-webgpu']);
    // torch: 10 ms vs ours/fast 20 ms -> 0.50x, vs ours/plain 40 ms -> 0.25x
    expect(cells[0]!.slice(-2)).to.deep.equal(['0.50x', '0.25x']);
    // tfjs-webgpu: 500 ms -> 25.0x and 12.5x; its GFLOP/s and roofline percent
    expect(cells[3]!.slice(-2)).to.deep.equal(['25.0x', '12.5x']);
    expect(cells[3]![4]).to.equal('4.29');
    expect(cells[3]![6]).to.equal('4.29%');
  });

  it('table runners: --impl accepts the known names and rejects others by name', () => {
    expect(parseImpls('ours, torch')).to.deep.equal(['ours', 'torch']);
    expect(() => parseImpls('ours,tfjs,cuda')).to.throw(/unknown runner\(s\) tfjs, cuda \(runners: ours, naive, tfjs-webgpu/);
  });

  it('table variants: --variant picks our matmul variants by name, in the registry order, and rejects others by name', () => {
    expect(parseVariants('subgroup32, auto').map((v) => v.name)).to.deep.equal(['auto', 'subgroup32']);
    expect(parseVariants('naive').map((v) => [v.name, v.impl])).to.deep.equal([['naive', 'naive']]);
    expect(() => parseVariants('auto,cublas')).to.throw(/unknown matmul variant\(s\) cublas \(variants: auto, .*subgroup32/);
  });

  it('table timing: medians and a repetition count that fits the budget (at least 3)', () => {
    expect(median([5, 1, 3])).to.equal(3);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(plannedRepeats(10, { repeats: 10, budgetMs: 1000 })).to.equal(10);
    expect(plannedRepeats(400, { repeats: 10, budgetMs: 1000 })).to.equal(3);
    expect(plannedRepeats(200, { repeats: 10, budgetMs: 1000 })).to.equal(5);
    expect(plannedRepeats(1, { repeats: 2, budgetMs: 1000 })).to.equal(2);
  });

  it('table optional: a missing reference package says how to install it', async () => {
    let caught: unknown = null;
    try {
      await importOptional('aunce-bench-no-such-package');
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(MissingPackage);
    expect((caught as Error).message).to.match(/aunce-bench-no-such-package is not installed: run `npm run bench:setup`/);
  });

  it('table torch: an interpreter that cannot run is reported, not thrown', () => {
    const r = findTorchPython({ AUNCE_PYTHON: '/nonexistent/python3' });
    expect(r.python).to.equal(null);
    expect(r.tried).to.deep.equal(['/nonexistent/python3: ENOENT']);
  });
});
