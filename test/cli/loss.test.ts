// `aunce loss`: input validation (every problem named by file:line:col and field path), the GPU
// result against the float64 reference (issue 4: 1e-4 relative on the loss, 1e-5 + 1e-3·|g| on
// every gradient entry), the explanation from the GPU's saved statistics, and the command end to end.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoss, type LossOutput } from '../../src/cli/loss.js';
import { LossInputError, parseLossInput, type LossInput } from '../../src/cli/loss_input.js';
import { explainAnchor } from '../../src/losses/explain.js';
import { aunceGradRef } from '../../src/ref/aunce.js';
import { nd } from '../../src/ref/ndarray.js';
import { Rng } from '../../src/util/rng.js';
import { sharedDevice } from '../helpers.js';

/** A random batch as the JSON object the command reads (unit rows unless unit = false). */
function batchJson(B: number, K: number, D: number, seed: number, extra: Record<string, unknown>, o: { unit?: boolean; allZero?: number[] } = {}) {
  const r = new Rng(seed);
  const vec = () => {
    const v = Array.from({ length: D }, () => r.normal());
    const n = o.unit === false ? 1 : Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const labels: number[][] = Array.from({ length: B }, () => Array.from({ length: K }, () => (r.next() < 0.35 ? 1 : 0)));
  for (let k = 0; k < K; k++) {
    if (o.allZero?.includes(k)) for (const row of labels) row[k] = 0;
    else if (B >= 2) [labels[0]![k], labels[1]![k]] = [1, 0];
  }
  const view = () => Array.from({ length: B }, () => Array.from({ length: K }, vec));
  return { mode: 'paper', positive: Array.from({ length: K }, () => 'max'), labels, view1: view(), view2: view(), ...extra };
}

/** Problems of a bad input, as `LINE:COL: path: message` lines. */
function problems(text: string): string[] {
  try {
    parseLossInput(text, 'batch.json');
  } catch (err) {
    expect(err).to.be.instanceOf(LossInputError);
    return (err as LossInputError).message.split('\n').map((l) => l.replace(/^batch\.json:/, ''));
  }
  throw new Error('the input was accepted');
}

/** line:col (1-based) of the n-th occurrence of `needle` in `text` */
function at(text: string, needle: string, n = 0): string {
  let i = -1;
  for (let j = 0; j <= n; j++) i = text.indexOf(needle, i + 1);
  if (i < 0) throw new Error(`'${needle}' is not in the text`);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

const SMALL = (over: Record<string, string> = {}): string => {
  const f: Record<string, string> = {
    mode: '"paper"',
    positive: '["max", "aug"]',
    labels: '[[1, 0], [0, 1], [1, 1]]',
    view1: '[[[1, 0], [0, 1]], [[0.6, 0.8], [1, 0]], [[0, 1], [0.8, 0.6]]]',
    view2: '[[[0, 1], [1, 0]], [[0.8, 0.6], [0, 1]], [[1, 0], [0.6, 0.8]]]',
    ...over,
  };
  return `{\n${Object.entries(f)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `  "${k}": ${v}`)
    .join(',\n')}\n}`;
};

describe('aunce loss: input', () => {
  it('loss input: a valid batch fills the mode defaults and stacks view 1 over view 2', () => {
    const p = parseLossInput(SMALL(), 'b.json');
    expect([p.B, p.K, p.D]).to.deep.equal([3, 2, 2]);
    expect(p.options).to.deep.include({ mode: 'paper', tau: 0.5, betaActive: 1.2, betaInactive: 0.4, auWeight: null });
    expect(Array.from(p.z.subarray(0, 4))).to.deep.equal([1, 0, 0, 1]);
    expect(Array.from(p.z.subarray(12, 16))).to.deep.equal([0, 1, 1, 0]);
    const o = parseLossInput(SMALL({ mode: '"official"', positive: '["mean", "max"]', tau: '0.1', auWeight: '[0.5, 1.5]', reduction: '"sum"' }), 'b.json');
    expect(o.options).to.deep.include({ mode: 'official', tau: 0.1, betaInactive: 0.8, auWeight: [0.5, 1.5], reduction: 'sum' });
  });

  it('loss input: a label other than 0/1 is named by line, column and path', () => {
    const text = SMALL({ labels: '[[1, 0], [0, 1], [1, 9]]' });
    expect(problems(text)).to.deep.equal([`${at(text, '9]]')}: labels[2][1]: expected 0 or 1, got 9`]);
    const t2 = SMALL({ labels: '[[1, 0], [0, true], [1, "1"]]' });
    expect(problems(t2)).to.deep.equal([`${at(t2, 'true')}: labels[1][1]: expected 0 or 1, got true`, `${at(t2, '"1"')}: labels[2][1]: expected 0 or 1, got the string "1"`]);
  });

  it('loss input: a feature vector of the wrong length names D and where it came from', () => {
    const text = SMALL({ view2: '[[[0, 1], [1, 0]], [[0.8, 0.6], [0, 1]], [[1, 0], [0.6, 0.8, 0.1]]]' });
    expect(problems(text)).to.deep.equal([`${at(text, '[0.6, 0.8, 0.1]')}: view2[2][1]: has 3 values, expected D = 2 (from view1[0][0])`]);
  });

  it('loss input: every missing field is named, at the object', () => {
    for (const f of ['mode', 'labels', 'view1', 'view2', 'positive']) {
      const lines = problems(SMALL({ [f]: '' }));
      expect(lines, f).to.have.length(1);
      expect(lines[0]).to.match(new RegExp(`^1:1: ${f}: missing field: expected `));
    }
  });

  it('loss input: positive types of the other mode and unknown names are rejected', () => {
    const text = SMALL({ positive: '["max", "mean"]' });
    expect(problems(text)).to.deep.equal([`${at(text, '"mean"')}: positive[1]: 'mean' is only available in official mode (paper: max|aug|centroid|min)`]);
    const t2 = SMALL({ mode: '"official"', positive: '["centroid", "maxx"]' });
    expect(problems(t2)).to.deep.equal([
      `${at(t2, '"centroid"')}: positive[0]: 'centroid' is only available in paper mode (official: max|mean|aug)`,
      `${at(t2, '"maxx"')}: positive[1]: expected a positive type (max|mean|aug|centroid|min), got the string "maxx"`,
    ]);
  });

  it('loss input: non-finite features (strings, null, overflowing literals) are rejected', () => {
    const text = SMALL({ view1: '[[[1, "NaN"], [0, 1]], [[null, 0.8], [1, 0]], [[0, 1e999], [0.8, 1e39]]]' });
    expect(problems(text)).to.deep.equal([
      `${at(text, '"NaN"')}: view1[0][0][1]: expected a finite number, got the string "NaN"`,
      `${at(text, 'null')}: view1[1][0][0]: expected a finite number, got null`,
      `${at(text, '1e999')}: view1[2][0][1]: 1e999 overflows float64; expected a finite number`,
      `${at(text, '1e39')}: view1[2][1][1]: 1e+39 is outside the float32 range (|x| <= 3.4e38) the GPU computes in`,
    ]);
  });

  it('loss input: shape mismatches between labels, views, positive and auWeight', () => {
    const text = SMALL({
      labels: '[[1, 0], [0, 1, 1], [1, 1]]',
      view1: '[[[1, 0], [0, 1]], [[0.6, 0.8], [1, 0]]]',
      positive: '["max"]',
      auWeight: '[1, 2, 3]',
    });
    expect(problems(text)).to.deep.equal([
      `${at(text, '["max"]')}: positive: has 1 types, expected K = 2 (from labels[0])`,
      `${at(text, '[0, 1, 1]')}: labels[1]: has 3 entries, expected K = 2 (from labels[0])`,
      `${at(text, '[[[1, 0]')}: view1: has 2 images, expected B = 3 (from labels)`,
      `${at(text, '[1, 2, 3]')}: auWeight: has 3 numbers, expected K = 2 (from labels[0])`,
    ]);
    const t3 = SMALL({ view2: '[[[0, 1], [1, 0]], [[0.8, 0.6]], [[1, 0], [0.6, 0.8]]]', positive: '[["max", "aug"], ["max", "aug"]]' });
    expect(problems(t3)).to.deep.equal([
      `${at(t3, '[["max"')}: positive: has 2 rows, expected 2B = 6 rows of K = 2 types (one per anchor), or K = 2 types`,
      `${at(t3, '[[0.8, 0.6]]')}: view2[1]: has 1 AU vectors, expected K = 2 (from labels[0])`,
    ]);
  });

  it('loss input: options are validated, and paper-only switches are refused in official mode', () => {
    const text = SMALL({ mode: '"official"', positive: '["max", "aug"]', tau: '0', reduction: '"avg"', negWeighting: '"R2"', betaSwap: '"yes"', betaActive: 'null' });
    expect(problems(text)).to.deep.equal([
      `${at(text, '0,\n  "reduction"')}: tau: expected a number > 0, got 0`,
      `${at(text, '"avg"')}: reduction: expected one of "mean" | "sum", got the string "avg"`,
      `${at(text, '"R2"')}: negWeighting: exists only in paper mode (the official code has no such switch, spec §4); remove it or set it to "R1"`,
      `${at(text, '"yes"')}: betaSwap: expected true or false, got the string "yes"`,
      `${at(text, 'null')}: betaActive: expected a finite number, got null`,
    ]);
    const t2 = SMALL({ betaBy: '"frequency"', auRate: '[0.2, 1.5]' });
    expect(problems(t2)).to.deep.equal([`${at(t2, '1.5')}: auRate[1]: expected a number <= 1, got 1.5`]);
    const t3 = SMALL({ betaBy: '"frequency"' });
    expect(problems(t3)).to.deep.equal([`${at(t3, '"frequency"')}: betaBy: 'frequency' needs auRate: [K] training-set rates of y = 1`]);
  });

  it('loss input: unknown and duplicate fields, syntax errors and comments', () => {
    const text = SMALL({ betaActve: '1.3' });
    expect(problems(text)).to.deep.equal([`${at(text, '"betaActve"')}: betaActve: unknown field (did you mean 'betaActive'?); known fields: ${'mode, tau, betaActive, betaInactive, auWeight, positive, labels, view1, view2, reduction, negWeighting, betaSwap, betaBy, auRate, excludePartnerFromPool, centroidRenormalise'}`]);
    const dup = `${SMALL().slice(0, -2)},\n  "mode": "official"\n}`;
    expect(problems(dup)).to.deep.equal([`${at(dup, '"mode"', 1)}: mode: duplicate field (first given at 2:11); give it once`]);
    const trailing = SMALL().replace(/\n}$/, ',\n}');
    expect(problems(trailing)).to.deep.equal([`${trailing.split('\n').length}:1: JSON syntax error: property name expected`]);
    const comment = SMALL().replace('{\n', '{ // a batch\n');
    expect(problems(comment)).to.deep.equal([`1:3: JSON syntax error: comments are not allowed in JSON`]);
    expect(problems('[1, 2]')).to.deep.equal(['1:1: expected an object {"mode", "labels", "view1", "view2", "positive", ...}, got an array of 2']);
  });
});

const TOL = { lossRtol: 1e-4, gAtol: 1e-5, gRtol: 1e-3 }; // issue 4: what `aunce loss` must match

/** The command's output against aunceGradRef on the same input. */
function expectMatchesReference(out: LossOutput, input: LossInput, what: string): void {
  const { B, K, D } = input;
  const ref = aunceGradRef(nd([2 * B, K, D], input.z), input.labels, input.options);
  expect(Math.abs(out.loss - ref.loss), `${what}: loss ${out.loss} vs ${ref.loss}`).to.be.at.most(TOL.lossRtol * Math.abs(ref.loss));
  out.perAU.forEach((v, k) => expect(Math.abs(v - ref.perAU[k]!), `${what}: perAU[${k}]`).to.be.at.most(TOL.lossRtol * Math.abs(ref.perAU[k]!) + 1e-7));
  const got = [...out.gradView1.flat(2), ...out.gradView2.flat(2)];
  expect(got.length).to.equal(ref.grad.data.length);
  let worst = { i: -1, err: 0 };
  got.forEach((g, i) => {
    const e = ref.grad.data[i]!;
    const err = Math.abs(g - e) / (TOL.gAtol + TOL.gRtol * Math.abs(e));
    if (err > worst.err) worst = { i, err };
  });
  expect(worst.err, `${what}: worst gradient entry ${worst.i} of [${2 * B}, ${K}, ${D}] at ${worst.err.toFixed(2)}x the tolerance`).to.be.at.most(1);
}

describe('aunce loss: GPU against the float64 reference', () => {
  const cases: { name: string; B: number; K: number; D: number; extra: Record<string, unknown>; unit?: boolean }[] = [
    { name: 'paper R1 max|aug|centroid|min, AU weights', B: 8, K: 5, D: 33, extra: { positive: ['max', 'aug', 'centroid', 'min', 'max'], auWeight: [0.6, 1.4, 1, 0.8, 1.2] } },
    { name: 'paper R2, sum, beta swap, partner excluded', B: 5, K: 4, D: 16, extra: { positive: ['centroid', 'min', 'max', 'aug'], negWeighting: 'R2', reduction: 'sum', betaSwap: true, excludePartnerFromPool: true } },
    { name: 'official max|mean|aug, unnormalised', B: 6, K: 3, D: 64, unit: false, extra: { mode: 'official', positive: ['max', 'mean', 'aug'], tau: 0.7 } },
    { name: 'official per-anchor types', B: 3, K: 2, D: 7, extra: { mode: 'official', positive: [['mean', 'max'], ['aug', 'mean'], ['max', 'max'], ['mean', 'aug'], ['aug', 'aug'], ['max', 'mean']] } },
    { name: 'paper, a batch of one image (no negatives: zero loss)', B: 1, K: 2, D: 5, extra: { positive: ['aug', 'max'] } },
    { name: 'paper re-normalised centroid (unfused GPU)', B: 4, K: 2, D: 8, extra: { positive: ['centroid', 'centroid'], centroidRenormalise: true } },
  ];
  for (const c of cases) {
    it(`loss ${c.name}: loss, perAU and both views' gradients match the reference [B=${c.B}, K=${c.K}, D=${c.D}]`, async () => {
      const input = parseLossInput(JSON.stringify(batchJson(c.B, c.K, c.D, 100 + c.B + c.D, c.extra, { unit: c.unit ?? true, allZero: c.K > 2 ? [c.K - 1] : [] })), 'x.json');
      const notes: string[] = [];
      const { output } = await runLoss(input, { device: await sharedDevice(), note: (l) => notes.push(l) });
      expectMatchesReference(output, input, c.name);
      expect(notes.length > 0).to.equal(!!c.extra.centroidRenormalise);
    });
  }

  it('loss explain: the table from the GPU statistics matches the one from the reference [B=6, K=3, D=16]', async () => {
    const input = parseLossInput(JSON.stringify(batchJson(6, 3, 16, 5, { mode: 'official', positive: ['mean', 'max', 'aug'] }, { allZero: [2] })), 'x.json');
    for (const [anchor, au] of [[0, 0], [7, 1], [11, 0], [3, 2]] as const) {
      const gpu = (await runLoss(input, { device: await sharedDevice(), explain: { anchor, au } })).explanation!;
      const ref = (await runLoss(input, { reference: true, explain: { anchor, au } })).explanation!;
      expect(gpu.rows.map((r) => r.sample?.b)).to.deep.equal(ref.rows.map((r) => r.sample?.b));
      gpu.rows.forEach((r, i) => {
        expect(r.grad, `anchor ${anchor}, AU ${au}, row ${i}`).to.be.closeTo(ref.rows[i]!.grad, 1e-4 + 1e-4 * Math.abs(ref.rows[i]!.grad));
        expect(r.share).to.be.closeTo(ref.rows[i]!.share, 1e-4);
      });
      expect(gpu.ell).to.be.closeTo(ref.ell, 1e-5);
      expect(gpu.nNeg).to.equal(au === 2 ? 0 : ref.nNeg);
    }
    // the pure function is what runLoss used
    const again = explainAnchor({ cRow: [0, 1], labels: [1], anchor: 0, au: 0, K: 1, opts: { mode: 'official', positive: ['max'] }, saved: { logP: 2, logQ: -Infinity, logD: 2, argIdx: 0 } });
    expect(again.nNeg).to.equal(0);
  });
});

describe('aunce loss: the command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aunce-loss-'));
  const run = (args: string[]) => spawnSync(process.execPath, ['bin/aunce.js', 'loss', ...args], { encoding: 'utf8', timeout: 120000 });

  it('loss command paper: stdout is the JSON result matching the reference; --explain prints the table on stderr', function () {
    this.timeout(120000);
    const file = join(dir, 'paper.json');
    writeFileSync(file, JSON.stringify(batchJson(6, 4, 24, 41, { positive: ['max', 'aug', 'centroid', 'min'], betaActive: 1.5 }, { allZero: [3] }), null, 1));
    const r = run(['--input', file, '--explain', '--anchor', '2', '--au', '1']);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as LossOutput;
    expect(Object.keys(out)).to.deep.equal(['loss', 'perAU', 'gradView1', 'gradView2']);
    expectMatchesReference(out, parseLossInput(readFileSync(file, 'utf8'), file), 'paper command');
    expect(r.stderr).to.match(/anchor a = 2 \(view 1, image 2\), AU k = 1 \[paper mode, R1 negatives/);
    expect(r.stderr).to.match(/positive: aug: the other view of the same image\n\s+→ b = 8 \(view 2, image 2\)/);
    expect(r.stderr).to.match(/β\/\(1\+β\) = (60\.0|28\.6)% and 1\/\(1\+β\) = (40\.0|71\.4)%/);
  });

  it('loss command official: --out writes the JSON, --explain-only prints the table on stdout (anchor by --view/--image)', function () {
    this.timeout(120000);
    const file = join(dir, 'official.json');
    const outFile = join(dir, 'official.out.json');
    writeFileSync(file, JSON.stringify(batchJson(5, 3, 32, 43, { mode: 'official', positive: ['mean', 'max', 'aug'], auWeight: [1.5, 0.5, 1] }, { unit: false })));
    const r = run(['-i', file, '-o', outFile, '--explain-only', '--view', '2', '--image', '1', '--au', '0', '--top', '3']);
    expect(r.status, r.stderr).to.equal(0);
    expectMatchesReference(JSON.parse(readFileSync(outFile, 'utf8')), parseLossInput(readFileSync(file, 'utf8'), file), 'official command');
    expect(r.stdout).to.match(/^AUNCE, anchor a = 6 \(view 2, image 1\), AU k = 0 \[official mode/);
    expect(r.stdout).to.match(/positive: mean: log\(\(1\/2B\) Σ_\{b∈Same\(a\)\} e\^\{c_ab\/τ\}\) over Same\(a\)/);
    expect(r.stdout).to.match(/role\s+b\s+view\s+image/);
  });

  it('loss command bad input: exit 1, every problem as file:line:col: path: message, nothing on stdout', function () {
    this.timeout(120000);
    const file = join(dir, 'bad.json');
    const text = '{\n  "mode": "paper",\n  "positive": ["mean"],\n  "labels": [[2]],\n  "view1": [[[1]]],\n  "view2": [[["x"]]]\n}\n';
    writeFileSync(file, text);
    const r = run(['--input', file]);
    expect(r.status).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(at(text, '"mean"')).to.equal('3:16');
    expect(r.stderr).to.include(`${file}:3:16: positive[0]: 'mean' is only available in official mode (paper: max|aug|centroid|min)`);
    expect(r.stderr).to.include(`${file}:${at(text, '2]]')}: labels[0][0]: expected 0 or 1, got 2`);
    expect(r.stderr).to.include(`${file}:${at(text, '"x"')}: view2[0][0][0]: expected a finite number, got the string "x"`);
    expect(r.stderr).to.include('aunce loss: 3 problems in');
    const r2 = run(['--input', join(dir, 'paper.json'), '--explain', '--anchor', '12']);
    expect(r2.status).to.equal(1);
    expect(r2.stderr).to.match(/--anchor 12 is out of range: the batch has 2B = 12 anchors \(0\.\.11/);
  });
});
