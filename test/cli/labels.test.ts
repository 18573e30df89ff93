// `aunce labels`: the JSON of each source against hand-counted values from test/fixtures, the human
// table, errors naming file:line and field (exit 1), --skip-bad counts, and Aff-Wild2's dropped rows.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLabels, labelsCommand, runLabels } from '../../src/cli/labels.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');

function aunce(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'aunce.js'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The command in process (stdout, stderr and exit code captured): spawning costs seconds here. */
async function labels(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write;
  const error = console.error;
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  console.error = (...a: unknown[]) => void err.push(`${a.join(' ')}\n`);
  process.exitCode = undefined;
  let code: number;
  try {
    const cmd = labelsCommand().exitOverride().configureOutput({ writeErr: (s) => void err.push(s), writeOut: (s) => void out.push(s) });
    await cmd.parseAsync(args, { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 99;
  } finally {
    process.stdout.write = write;
    console.error = error;
    process.exitCode = undefined;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** w_i = (1/r_i) / sum(1/r) * m from hand-counted positives and labelled frames. */
function weightsFrom(p: number[], n: number[]): number[] {
  const inv = p.map((pi, i) => n[i]! / pi);
  const sum = inv.reduce((a, b) => a + b, 0);
  return inv.map((v) => (v / sum) * p.length);
}

function expectClose(got: unknown, want: number[], what: string): void {
  expect(got, what).to.be.an('array').with.lengthOf(want.length);
  (got as number[]).forEach((g, i) => expect(g, `${what}[${i}]`).to.be.closeTo(want[i]!, 1e-12));
}

describe('cli labels', () => {
  it('labels bp4d --fold 1 --split train --json: exactly frames, aus, occurrence, missing, weights [9 frames]', () => {
    const r = aunce('labels', 'bp4d', '--root', join(FIXTURES, 'bp4d'), '--fold', '1', '--split', 'train', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).to.deep.equal(['frames', 'aus', 'occurrence', 'missing', 'weights']);
    const pos = [2, 3, 1, 4, 4, 4, 5, 4, 1, 1, 1, 2];
    const lab = [8, 8, 7, 8, 8, 8, 8, 7, 8, 8, 8, 8];
    expect(j.frames).to.equal(9);
    expect(j.aus).to.deep.equal([1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]);
    expectClose(j.occurrence, pos.map((p, i) => p / lab[i]!), 'occurrence');
    expect(j.missing).to.deep.equal([1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 1]);
    expectClose(j.weights, weightsFrom(pos, lab), 'weights');
  });

  it('labels disfa/gft/affwild2: counts and weights by hand (in process)', async () => {
    const disfa = await runLabels('disfa', { root: join(FIXTURES, 'disfa'), fold: 1, split: 'train' });
    expect(disfa.stats.frames).to.equal(8);
    expectClose(disfa.stats.weights, weightsFrom([3, 3, 1, 3, 1, 4, 5, 1], new Array(8).fill(8)), 'disfa weights');
    const disfa1 = await runLabels('disfa', { root: join(FIXTURES, 'disfa'), fold: 1, split: 'train', threshold: 1 });
    expectClose(disfa1.stats.occurrence, [4, 3, 1, 6, 1, 5, 6, 4].map((p) => p / 8), 'disfa >= 1');
    const gft = await runLabels('gft', { root: join(FIXTURES, 'gft'), split: 'test' });
    // 028C/1, 028C/2 (CSV) and 008A/1 (list): AUs 1 2 4 6 10 12 14 15 23 24
    expect(gft.stats.frames).to.equal(3);
    expectClose(gft.stats.occurrence, [0, 2, 2, 1, 0, 3, 3, 3, 3, 2].map((p) => p / 3), 'gft test');
    const aw = await runLabels('affwild2', { root: join(FIXTURES, 'affwild2'), split: 'train' });
    expect(aw.stats.frames).to.equal(5);
    expect(aw.dropped).to.deep.equal({ '-1 row (unannotated)': 2 });
    const all = await runLabels('affwild2', { root: join(FIXTURES, 'affwild2') });
    expect(all.stats.frames).to.equal(8);
  });

  it('labels table: one row per AU with rate, labelled, missing and weight', async () => {
    const r = await runLabels('bp4d', { root: join(FIXTURES, 'bp4d'), fold: 1, split: 'test' });
    const t = formatLabels('bp4d, fold 1 test', r.stats).split('\n');
    expect(t[0]).to.equal('bp4d, fold 1 test: 3 frames');
    expect(t).to.have.lengthOf(2 + 12 + 1);
    expect(t[2]).to.match(/^AU1\s+66\.7%\s+3\s+0\s+0\.714286$/); // 1/r = 1.5; sum over 10 AUs = 21
    expect(t[3]).to.match(/^AU2\s+0\.0%\s+3\s+0\s+-$/);
  });

  it('labels affwild2 (table): dropped -1 rows are reported on stderr', async () => {
    const r = await labels('affwild2', '--root', join(FIXTURES, 'affwild2'), '--split', 'train');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^affwild2, fold 1 train: 5 frames\n/);
    expect(r.stderr).to.include('dropped 2 (-1 row (unannotated))');
  });

  it('labels malformed: exit 1 naming file:line and field; --skip-bad reports the counts', async () => {
    const root = mkdtempSync(join(tmpdir(), 'aunce-labels-'));
    cpSync(join(FIXTURES, 'disfa'), root, { recursive: true });
    const file = join(root, 'ActionUnit_Labels', 'SN013', 'SN013_au12.txt');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = '2,high';
    writeFileSync(file, lines.join('\n'));
    const bad = await labels('disfa', '--root', root, '--json');
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.equal('');
    expect(bad.stderr).to.include(`${file}:2: intensity (column 2): expected an integer, got "high"`);
    const skip = await labels('disfa', '--root', root, '--json', '--skip-bad');
    expect(skip.code, skip.stderr).to.equal(0);
    const j = JSON.parse(skip.stdout) as { frames: number; missing: number[]; skipped: Record<string, number> };
    expect(j.skipped).to.deep.equal({ 'non-numeric cell': 1 });
    expect(j.frames).to.equal(12);
    expect(j.missing).to.deep.equal([0, 0, 0, 0, 1, 1, 0, 0]); // SN003 AU9 frame 4; SN013 AU12 frame 2
    expect(skip.stderr).to.include('skipped 1 (non-numeric cell)');
    rmSync(root, { recursive: true });
  });

  it('labels --weights-file: one line of six-decimal weights; refused when an AU never occurs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aunce-weights-'));
    const file = join(dir, 'DISFA_weight_fold1.txt');
    const r = await labels('disfa', '--root', join(FIXTURES, 'disfa'), '--fold', '1', '--split', 'train', '--weights-file', file);
    expect(r.code, r.stderr).to.equal(0);
    const want = weightsFrom([3, 3, 1, 3, 1, 4, 5, 1], new Array(8).fill(8)).map((w) => w.toFixed(6)).join(' ');
    expect(readFileSync(file, 'utf8')).to.equal(`${want}\n`);
    const none = await labels('bp4d', '--root', join(FIXTURES, 'bp4d'), '--fold', '1', '--split', 'test', '--weights-file', join(dir, 'x.txt'));
    expect(none.code).to.equal(1);
    expect(none.stderr).to.include('AU2 never occurs in the selected frames: no weights file');
    rmSync(dir, { recursive: true });
  });

  it('labels bad arguments: unknown source, fold out of range', async () => {
    const r = await labels('ckplus', '--root', FIXTURES);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/Allowed choices are bp4d, disfa, gft, affwild2, native/);
    let msg = '';
    await runLabels('disfa', { root: join(FIXTURES, 'disfa'), fold: 4, split: 'test' }).catch((e: Error) => (msg = e.message));
    expect(msg).to.equal('disfa: fold 4 does not exist (folds 1-3)');
  });
});
