import { expect } from 'chai';
import { runBench } from '../../bench/harness.js';
import { isUnavailable, mergeRounds, type Row } from '../../bench/types.js';
import { roundSpread } from '../../bench/table.js';
import { QUICK_MAX_FLOPS, matmulCase } from '../../bench/cases.js';
import { AUTO, oursRunner, type OursVariant } from '../../bench/runners/ours.js';
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

  it('harness rounds: `--rounds 3` measures each case with every variant in each round and merges them into one row', async function () {
    this.timeout(60000);
    const device = await sharedDevice();
    const out: string[] = [];
    const log: string[] = [];
    const r = await runBench(
      { op: 'matmul', caseFilter: 'square 256', impls: ['ours', 'naive'], timing: { repeats: 3, budgetMs: 100 }, rounds: 3, noRoofline: true },
      { device, out: (l) => out.push(l), log: (l) => log.push(l) },
    );
    expect(log.filter((l) => /^bench: round \d of 3$/.test(l))).to.have.length(3);
    const variants = r.rows.map((x) => `${x.impl}/${x.variant}`);
    expect(new Set(variants).size, 'one row per variant').to.equal(variants.length);
    expect(variants).to.include.members(['ours/auto', 'ours/subgroup', 'naive/naive']);
    for (const row of r.rows) {
      expect(row.rounds).to.equal(3);
      expect(row.round).to.equal(undefined);
      expect(row.roundMedianMs).to.have.length(3);
      const sorted = [...row.roundMedianMs!].sort((a, b) => a - b);
      expect(row.medianMs).to.equal(sorted[1]);
      expect(row.repeats).to.be.within(3, 9);
      expect(row.gflops).to.be.closeTo((2 * 256 ** 3) / row.medianMs / 1e6, 1e-6 * row.gflops);
      const lines = log.filter((l) => l.startsWith(`  ${row.impl}/${row.variant}  square 256:`));
      expect(lines, `${row.impl}/${row.variant}`).to.have.length(3);
    }
    const text = out.join('\n');
    expect(text).to.include('3 interleaved rounds');
    expect(text).to.include('rounds spread');
  });

  it('harness rounds: merging keeps unrounded rows, takes the median of the rounds and the largest memory figures', () => {
    const base: Row = { op: 'encoder', case: 'c', shape: '1x3x8x8', impl: 'ours', variant: 'v', medianMs: 10, minMs: 9, repeats: 4, gflops: 2, gbps: 1, clock: 'gpu', device: 'd', roofPct: null };
    const plain: Row = { ...base, variant: 'plain' };
    const rows: Row[] = [
      { ...base, round: 0, imagesPerS: 100, peakBytes: 10 },
      plain,
      { ...base, round: 1, medianMs: 40, minMs: 30, imagesPerS: 25, peakBytes: 30 },
      { ...base, round: 2, medianMs: 20, minMs: 5, imagesPerS: 50, peakBytes: 20 },
    ];
    const m = mergeRounds(rows);
    expect(m).to.have.length(2);
    expect(m[0]).to.deep.include({ medianMs: 20, minMs: 5, repeats: 12, gflops: 1, gbps: 0.5, imagesPerS: 50, peakBytes: 30, rounds: 3 });
    expect(m[0]!.roundMedianMs).to.deep.equal([10, 40, 20]);
    expect('round' in m[0]!).to.equal(false);
    expect(m[1]).to.equal(plain);
    expect(roundSpread(m[0]!)).to.equal('4.00x');
    expect(roundSpread(plain)).to.equal('-');
  });

  it('harness rounds: a count below 1 or not whole is an error', async () => {
    for (const rounds of [0, 1.5]) {
      let caught: Error | null = null;
      try {
        await runBench({ caseFilter: 'square 256', impls: ['ours'], rounds }, { device: await sharedDevice(), out: () => {}, log: () => {} });
      } catch (err) {
        caught = err as Error;
      }
      expect(caught?.message, String(rounds)).to.match(/rounds must be a positive integer/);
    }
  });
  it('harness ours: the variants of a case take turns in blocks of repetitions, each starting the next block', async function () {
    this.timeout(60000);
    const device = await sharedDevice();
    const calls: string[] = [];
    const spy = (name: string): OursVariant => ({ name, transposes: true, run: (a, b, c) => (calls.push(name), AUTO.run(a, b, c)) });
    const runner = await oursRunner([spy('first'), spy('second')])({ device, gpu: null, timing: { repeats: 8, budgetMs: 1e6 }, log: () => {} });
    if (isUnavailable(runner)) throw new Error(runner.unavailable);
    const rows: Row[] = [];
    try {
      await runner.runAll([matmulCase('turns 32', 1, 32, 32, 32)], (row) => rows.push(row));
    } finally {
      await runner.close();
    }
    expect(rows.map((r) => [r.variant, r.repeats])).to.deep.equal([['first', 8], ['second', 8]]);
    // warm-up + estimate of each, then 4 blocks of 2 repetitions: first, second, then second, first, ...
    const timedCalls = calls.slice(4);
    const blocks = Array.from({ length: 4 }, (_, i) => timedCalls.slice(4 * i, 4 * i + 4).join(','));
    expect(calls.slice(0, 4)).to.deep.equal(['first', 'first', 'second', 'second']);
    expect(blocks).to.deep.equal(['first,first,second,second', 'second,second,first,first', 'first,first,second,second', 'second,second,first,first']);
  });
});
