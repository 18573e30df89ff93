// The training pipeline on a tiny synthetic benchmark and a tiny Swin + ANFL: configuration
// errors name file, line and field; a pre-training run writes its log and checkpoint; an
// interrupted run resumed from its checkpoint ends at exactly the weights of an uninterrupted one;
// linear evaluation and the WCE baseline produce metrics for every AU.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynth } from '../../src/data/synth/index.js';
import { ConfigError, readConfig, resolveConfig, type ExperimentConfig } from '../../src/train/config.js';
import { linearEvalJob, loadSplits, pretrainJob, wceJob, type Splits } from '../../src/train/jobs.js';
import { sharedDevice } from '../helpers.js';

function tinyConfig(): ExperimentConfig {
  return resolveConfig({
    name: 'tiny',
    seed: 5,
    arch: { backbone: { type: 'swin', preset: 'tiny-test' }, head: { type: 'anfl', neighbors: 2 } },
    data: { fold: 0 },
    pretrain: { steps: 4, batchSize: 8, logEvery: 1, checkpointEvery: 2, schedule: { kind: 'constant', lr: 1e-3 } },
    linear: { epochs: 3, batchSize: 32 },
    wce: { steps: 3, batchSize: 8, logEvery: 1, checkpointEvery: 3, schedule: { kind: 'constant', lr: 1e-3 } },
  });
}

describe('training', function () {
  let root = '';
  let data = '';
  let splits: Splits;
  before(async function () {
    root = mkdtempSync(join(tmpdir(), 'aunce-train-'));
    data = join(root, 'data');
    // 37 px frames: the released recipe's 224/256 crop gives the tiny preset's 32 px
    await writeSynth({ profile: 'bp4d', subjects: 6, framesPerSubject: 12, seed: 3, size: 37 }, data);
    splits = await loadSplits(data, tinyConfig());
  });

  it('train config: defaults follow the spec, and errors name file, line, column and field', function () {
    const d = resolveConfig({});
    expect(d.pretrain.loss).to.deep.include({ mode: 'official', tau: 0.5, betaActive: 1.2, betaInactive: 0.8 });
    expect(d.pretrain).to.deep.include({ batchSize: 32, weightDecay: 1e-6 });
    expect(d.linear).to.deep.include({ protocol: 'strict', epochs: 100, batchSize: 256, lr: 1e-3 });
    const file = join(root, 'bad.json');
    writeFileSync(file, '{\n  "pretrain": {\n    "batchSise": 3\n  }\n}\n');
    expect(() => readConfig(file)).to.throw(ConfigError, /bad\.json:3:18: pretrain\.batchSise: unknown field/);
    writeFileSync(file, '{\n  "linear": { "protocol": "loose" }\n}\n');
    expect(() => readConfig(file)).to.throw(/bad\.json:2:27: linear\.protocol: expected one of strict \| released/);
    writeFileSync(file, '{ "seed": 1, }');
    expect(() => readConfig(file)).to.throw(/bad\.json:1:14: /);
    expect(() => resolveConfig({ pretrain: { schedule: { kind: 'step', lr: 1, gamma: 0.1, stepSize: 0 } } })).to.throw(/pretrain\.schedule\.stepSize/);
  });

  it('train splits: subject-exclusive train, validation and test', function () {
    const sets = [splits.fit, splits.val!, splits.test].map((s) => new Set(s.subjects));
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) for (const s of sets[i]!) expect(sets[j]!.has(s)).to.equal(false);
    expect(splits.fit.n + splits.val!.n).to.equal(splits.train.n);
  });

  it('train pretrain: an interrupted run resumed from its checkpoint ends at the same weights', async function () {
    const device = await sharedDevice();
    const cfg = tinyConfig();
    const full = await pretrainJob({ device, cfg, data, run: join(root, 'full'), splits, progress: false });
    const first = await pretrainJob({ device, cfg, data, run: join(root, 'cut'), splits, progress: false, stopAfter: 2 });
    expect(first.interrupted).to.equal(false);
    const resumed = await pretrainJob({ device, cfg, data, run: join(root, 'cut'), splits, progress: false, resume: true });
    const a = full.encoder.stateDict();
    const b = resumed.encoder.stateDict();
    expect([...b.keys()]).to.deep.equal([...a.keys()]);
    for (const [k, t] of a) expect(Buffer.from((await b.get(k)!.toArray()).buffer).equals(Buffer.from((await t.toArray()).buffer)), k).to.equal(true);
    const log = readFileSync(join(root, 'full', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(log.map((r) => r.step)).to.deep.equal([1, 2, 3, 4]);
    const cut = readFileSync(join(root, 'cut', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(cut.map((r) => r.loss)).to.deep.equal(log.map((r) => r.loss));
    for (const r of log) expect(Number.isFinite(r.loss) && r.loss > 0).to.equal(true);
  });

  it('train linear evaluation and the WCE baseline give metrics for every AU', async function () {
    const device = await sharedDevice();
    const cfg = tinyConfig();
    const run = join(root, 'lin');
    const pre = await pretrainJob({ device, cfg, data, run, splits, progress: false });
    const lin = await linearEvalJob({ device, cfg, data, run, splits }, pre.encoder);
    expect(lin.protocol).to.equal('strict');
    expect(lin.selectedOn).to.equal('validation');
    expect(lin.test.perAU).to.have.length(12);
    const ev = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as { protocol: string; aus: number[] };
    expect(ev.protocol).to.equal('strict');
    expect(ev.aus).to.deep.equal([1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]);
    const w = await wceJob({ device, cfg, data, run: join(root, 'wce'), splits, progress: false });
    expect(w.metrics.perAU).to.have.length(12);
    for (const m of [...lin.test.perAU, ...w.metrics.perAU]) expect(m.f1 >= 0 && m.f1 <= 1 && m.accuracy >= 0 && m.accuracy <= 1).to.equal(true);
  });
});
