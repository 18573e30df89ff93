import { expect } from 'chai';
import { runBench } from '../../bench/harness.js';
import { QUICK_MAX_FLOPS } from '../../bench/cases.js';
import { sharedDevice } from '../helpers.js';

describe('bench harness', () => {
  it('harness quick: `--quick --impl ours` measures every quick case with positive medians and a roofline', async function () {
    this.timeout(60000);
    const device = await sharedDevice();
    const out: string[] = [];
    const log: string[] = [];
    const r = await runBench(
      { op: 'matmul', quick: true, impls: ['ours'], timing: { repeats: 3, budgetMs: 100 } },
      { device, out: (l) => out.push(l), log: (l) => log.push(l) },
    );
    expect(r.cases.length).to.be.greaterThan(3);
    expect(r.cases.every((c) => c.flops <= QUICK_MAX_FLOPS)).to.equal(true);
    // every case has a row of matmul() as users get it ('auto') and of each kernel variant
    const variants = new Set(r.rows.map((x) => x.variant));
    for (const v of ['auto', 'plain', 'subgroup']) expect(variants.has(v), `variant ${v}: ${log.join('\n')}`).to.equal(true);
    for (const c of r.cases) expect(r.rows.filter((x) => x.case === c.name && x.variant === 'auto')).to.have.length(1);
    for (const row of r.rows) {
      expect(row.impl).to.equal('ours');
      expect(row.medianMs, row.case).to.be.greaterThan(0);
      expect(row.gflops, row.case).to.be.greaterThan(0);
      expect(row.repeats).to.be.within(1, 3);
      expect(row.clock).to.equal(device.has('timestamp-query') ? 'gpu' : 'wall');
      expect(row.device).to.equal(device.name);
      expect(row.roofPct, row.case).to.be.greaterThan(0);
    }
    expect(r.roofline!.peakGflops).to.be.greaterThan(0);
    expect(r.roofline!.bandwidthGBs).to.be.greaterThan(0);
    const text = out.join('\n');
    expect(text).to.include(`WebGPU device: ${device.name}`);
    expect(text).to.match(/roofline of .*FMA peak [\d.]+ GFLOP\/s, copy bandwidth [\d.]+ GB\/s/);
    expect(text).to.include('square 256  [256x256x256]');
    expect(text).to.include('vs ours/auto');
  });

  it('harness filter: a filter that matches nothing is an error naming the filter', async () => {
    let caught: Error | null = null;
    try {
      await runBench({ caseFilter: 'no such case', impls: ['ours'] }, { device: await sharedDevice(), out: () => {}, log: () => {} });
    } catch (err) {
      caught = err as Error;
    }
    expect(caught?.message).to.match(/no case matches .*'no such case'/);
  });
});
