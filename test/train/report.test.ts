// `aunce report` (src/train/report.ts, src/cli/report.ts): synthetic run directories in the format
// the trainer writes; the per-AU table's numbers, the SVG's line paths, errors naming file:line,
// and the command end to end.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReport } from '../../src/cli/report.js';
import { metricsFromCounts, type AuCounts } from '../../src/train/metrics.js';
import { auTable, curvePoints, parseEval, parseLog, readRun, readRuns, renderCurves, reportMarkdown, ReportError, type LogPhase } from '../../src/train/report.js';

const AUS = [1, 2, 4];

/** A run directory: config.json, log.jsonl (steps per phase) and, unless counts is null, eval.json. */
function writeRun(root: string, name: string, phases: Partial<Record<LogPhase, number>>, counts: AuCounts[] | null, protocol: 'strict' | 'released' = 'strict'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const config = { name, job: 'pretrain', data: { dataset: 'synthetic-bp4d', fold: 1 }, pretrain: { steps: phases.pretrain ?? 0 }, linear: { protocol } };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 1)}\n`);
  const lines: string[] = [];
  for (const [phase, steps] of Object.entries(phases)) {
    for (let s = 1; s <= steps; s++) lines.push(JSON.stringify({ phase, step: s, epoch: 1, loss: 2 / s + (name.length % 3), lr: 1e-3, time: s * 0.5, imagesPerSec: 64 + s }));
  }
  writeFileSync(join(dir, 'log.jsonl'), `${lines.join('\n')}\n`);
  if (counts) writeFileSync(join(dir, 'eval.json'), `${JSON.stringify({ name, protocol, fold: 1, aus: AUS, metrics: metricsFromCounts(counts) }, null, 1)}\n`);
  return dir;
}

// Per AU 100 test frames. aunce AU1: tp 30 fp 10 tn 50 fn 10 -> P 75, R 75, F1 75, Acc 80; positive rate 0.4 -> trivial F1 57.1.
const COUNTS_A: AuCounts[] = [
  { tp: 30, fp: 10, tn: 50, fn: 10 },
  { tp: 10, fp: 0, tn: 80, fn: 10 },
  { tp: 45, fp: 5, tn: 40, fn: 10 },
];
// wce: same positives per AU (same test frames), different predictions.
const COUNTS_B: AuCounts[] = [
  { tp: 40, fp: 60, tn: 0, fn: 0 },
  { tp: 0, fp: 0, tn: 80, fn: 20 },
  { tp: 50, fp: 10, tn: 35, fn: 5 },
];

const cells = (row: string): string[] => row.split('|').slice(1, -1).map((c) => c.trim());

describe('aunce report', () => {
  let root: string;
  let dirA: string;
  let dirB: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'aunce-report-'));
    dirA = writeRun(root, 'aunce', { pretrain: 30, linear: 12 }, COUNTS_A, 'strict');
    dirB = writeRun(root, 'wce', { wce: 20 }, COUNTS_B, 'released');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('report table: per-AU rows hold F1, accuracy, precision, recall in percent to one decimal, and the all-positive F1', () => {
    const table = auTable(readRuns([dirA, dirB])).split('\n');
    expect(cells(table[0]!)).to.deep.equal(['AU', 'aunce F1', 'aunce Acc', 'aunce P', 'aunce R', 'wce F1', 'wce Acc', 'wce P', 'wce R', 'all-positive F1']);
    expect(cells(table[2]!)).to.deep.equal(['AU1', '75.0', '80.0', '75.0', '75.0', '57.1', '40.0', '40.0', '100.0', '57.1']);
    expect(cells(table[3]!)).to.deep.equal(['AU2', '66.7', '90.0', '100.0', '50.0', '0.0', '80.0', '0.0', '0.0', '33.3']);
    expect(cells(table[4]!)).to.deep.equal(['AU4', '85.7', '85.0', '90.0', '81.8', '87.0', '85.0', '83.3', '90.9', '71.0']);
    // mean row: arithmetic over AUs (aunce F1 (75 + 66.67 + 85.71) / 3 = 75.8)
    expect(cells(table[5]!)).to.deep.equal(['**mean**', '**75.8**', '**85.0**', '**88.3**', '**68.9**', '**48.0**', '**68.3**', '**41.1**', '**63.6**', '**53.8**']);
    expect(table).to.have.length(6);
  });

  it('report table: runs on different test frames get one all-positive column each; missing AUs show a dash', () => {
    const other = writeRun(root, 'fold2', { pretrain: 2 }, [{ tp: 10, fp: 0, tn: 90, fn: 0 }, { tp: 1, fp: 0, tn: 99, fn: 0 }, { tp: 5, fp: 0, tn: 95, fn: 0 }]);
    const ev = JSON.parse(readFileSync(join(other, 'eval.json'), 'utf8'));
    writeFileSync(join(other, 'eval.json'), JSON.stringify({ ...ev, aus: [1, 2, 6] }));
    const table = auTable(readRuns([dirA, other])).split('\n');
    expect(cells(table[0]!).slice(-2)).to.deep.equal(['aunce all-positive F1', 'fold2 all-positive F1']);
    expect(table.slice(2, -1).map((r) => cells(r)[0])).to.deep.equal(['AU1', 'AU2', 'AU4', 'AU6']);
    expect(cells(table[4]!).slice(5, 9)).to.deep.equal(['–', '–', '–', '–']);
    expect(cells(table[5]!).slice(1, 5)).to.deep.equal(['–', '–', '–', '–']);
    expect(cells(table[2]!).slice(-2)).to.deep.equal(['57.1', '18.2']);
  });

  it('report: runs with the same name are told apart by their directory', () => {
    const twin = writeRun(join(root, 'again'), 'aunce', { pretrain: 2 }, COUNTS_A);
    expect(readRuns([dirA, twin]).map((r) => r.name)).to.deep.equal([`aunce (${dirA})`, `aunce (${twin})`]);
  });

  it('report header: each run names its dataset, fold, protocol (strict or released), steps and images/s', () => {
    const md = reportMarkdown(readRuns([dirA, dirB]));
    expect(md).to.contain('### aunce').and.contain('### wce');
    expect(md).to.contain('- dataset: synthetic-bp4d, fold 1');
    expect(md).to.match(/evaluation protocol: \*\*strict\*\*/).and.match(/evaluation protocol: \*\*released\*\*/);
    expect(md).to.contain('Protocols: **strict** = encoder in eval mode');
    expect(md).to.contain('- steps: configured pretrain 30; logged pretrain 30, linear 12');
    expect(md).to.contain('- images/s: pretrain 94.0, linear 76.0');
    expect(md).to.contain('- images/s: wce 84.0');
    expect(md).to.contain('![loss against step, one line per run and phase](curves.svg)');
  });

  it('report: a run without eval.json shows only its curves, with a note', () => {
    const dirC = writeRun(root, 'noeval', { pretrain: 5 }, null);
    const runs = readRuns([dirA, dirC]);
    const md = reportMarkdown(runs);
    expect(md).to.contain('evaluation: none (no eval.json');
    expect(md).to.contain('Not evaluated (no eval.json): noeval.');
    expect(cells(auTable(runs).split('\n')[0]!)).to.not.include('noeval F1');
    expect(new Set(curvePoints(runs).map((p) => `${p.run}/${p.phase}`))).to.deep.equal(new Set(['aunce/pretrain', 'aunce/linear', 'noeval/pretrain']));
  });

  it('curves: the SVG is well formed and has one line path per run and phase', async function () {
    this.timeout(20000);
    const svg = await renderCurves(readRuns([dirA, dirB]));
    expect(svg.startsWith('<svg')).to.equal(true);
    expect(svg.trimEnd().endsWith('</svg>')).to.equal(true);
    expect(svg.match(/<svg\b/g)).to.have.length(1);
    const lines = svg.match(/<g class="mark-line role-mark[^"]*"[^>]*>(.*?)<\/g>/g) ?? [];
    const paths = lines.reduce((n, g) => n + (g.match(/<path /g)?.length ?? 0), 0);
    expect(paths).to.equal(3); // aunce/pretrain, aunce/linear, wce/wce
    expect(svg).to.contain('aunce').and.contain('wce');
  });

  it('errors: a malformed log line names file:line', () => {
    expect(() => parseLog('{"phase":"pretrain","step":1,"epoch":1,"loss":1,"lr":1,"time":1}\n{oops\n', 'RUN/log.jsonl')).to.throw(ReportError, /^RUN\/log\.jsonl:2: invalid JSON line/);
    expect(() => parseLog('\n{"phase":"pretrain","step":1,"epoch":1,"loss":"x","lr":1,"time":1}\n', 'L')).to.throw(ReportError, /^L:2: 'loss' must be a finite number, got "x"/);
    expect(() => parseLog('{"phase":"train","step":1,"epoch":1,"loss":1,"lr":1,"time":1}', 'L')).to.throw(ReportError, /^L:1: 'phase' must be one of pretrain, wce, linear/);
  });

  it('errors: eval.json syntax and field errors name file:line', () => {
    expect(() => parseEval('{\n "name": "a",\n "protocol": strict\n}', 'E')).to.throw(ReportError, /^E:3:\d+: invalid JSON/);
    const ok = JSON.parse(readFileSync(join(dirA, 'eval.json'), 'utf8'));
    expect(parseEval(JSON.stringify(ok), 'E').metrics.perAU).to.have.length(3);
    const bad = JSON.stringify({ ...ok, protocol: 'loose' }, null, 1);
    const line = bad.split('\n').findIndex((l) => l.includes('"protocol"')) + 1;
    expect(() => parseEval(bad, 'E')).to.throw(ReportError, new RegExp(`^E:${line}: 'protocol' must be 'strict' or 'released', got "loose"`));
    ok.metrics.perAU[1].f1 = null;
    const bad2 = JSON.stringify(ok, null, 1);
    expect(() => parseEval(bad2, 'E')).to.throw(ReportError, /^E:\d+: 'metrics\.perAU\[1\]\.f1' must be a finite number, got null/);
  });

  it('errors: a missing run directory or log.jsonl is named', () => {
    expect(() => readRun(join(root, 'nope'))).to.throw(ReportError, /nope: no such run directory/);
    const dir = join(root, 'nolog');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), '{}\n');
    expect(() => readRun(dir)).to.throw(ReportError, /nolog\/log\.jsonl: no such file/);
  });

  it('errors: a config.json syntax error names file:line:column', () => {
    const dir = join(root, 'badcfg');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), '{\n "name": "x",\n "data": {,}\n}\n');
    writeFileSync(join(dir, 'log.jsonl'), '');
    expect(() => readRun(dir)).to.throw(ReportError, /badcfg\/config\.json:3:\d+: invalid JSON/);
  });

  it('runReport: a run with no logged steps and no eval.json gives a report without curves', async () => {
    const dir = writeRun(root, 'empty', {}, null);
    const out = join(root, 'empty-out');
    const r = await runReport([dir], { out });
    expect(r.files).to.deep.equal([join(out, 'report.md')]);
    expect(r.markdown).to.contain('_No logged steps: no learning curves._').and.contain('_No run has an eval.json: no per-AU results._');
    expect(existsSync(join(out, 'curves.svg'))).to.equal(false);
  });

  it('runReport: writes report.md and curves.svg to --out, the first run by default', async function () {
    this.timeout(20000);
    const out = join(root, 'out');
    const r = await runReport([dirA, dirB], { out, title: 'Demo' });
    expect(readFileSync(join(out, 'report.md'), 'utf8')).to.equal(r.markdown);
    expect(r.markdown.startsWith('# Demo\n')).to.equal(true);
    expect(readFileSync(join(out, 'curves.svg'), 'utf8')).to.match(/^<svg/);
    await runReport([dirB]);
    expect(existsSync(join(dirB, 'report.md')) && existsSync(join(dirB, 'curves.svg'))).to.equal(true);
  });

  it('CLI: aunce report prints the Markdown and names bad files with their line', function () {
    this.timeout(60000);
    const out = join(root, 'cli');
    const r = spawnSync(process.execPath, ['bin/aunce.js', 'report', dirA, dirB, '--out', out], { encoding: 'utf8', timeout: 50000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(readFileSync(join(out, 'report.md'), 'utf8'));
    expect(r.stdout).to.contain('| AU1 | 75.0 | 80.0 | 75.0 | 75.0 | 57.1 | 40.0 | 40.0 | 100.0 | 57.1 |');
    expect(existsSync(join(out, 'curves.svg'))).to.equal(true);
    const broken = writeRun(root, 'broken', { pretrain: 3 }, null);
    writeFileSync(join(broken, 'log.jsonl'), `${readFileSync(join(broken, 'log.jsonl'), 'utf8')}{"phase":"pretrain","step":4,\n`);
    const e = spawnSync(process.execPath, ['bin/aunce.js', 'report', broken], { encoding: 'utf8', timeout: 50000 });
    expect(e.status).to.equal(1);
    expect(e.stderr).to.contain(`${join(broken, 'log.jsonl')}:4: invalid JSON line`);
  });
});
