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
import { buildEncoder, buildTrainingEncoder, linearEvalJob, loadSplits, pretrainJob, wceJob, type Splits } from '../../src/train/jobs.js';
import { serializeSafetensors, tensorsToHost } from '../../src/io/safetensors.js';
import { pixelFeatures, pixelProbe, standardizeFeatures } from '../../src/train/phases.js';
import { Tensor } from '../../src/tensor/tensor.js';
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

  it('train arch.init: starting weights from a backbone-only file (an ImageNet-style Swin with a classifier head)', async function () {
    const device = await sharedDevice();
    const K = splits.aus.length;
    const source = buildEncoder(device, { ...tinyConfig(), seed: 11 }, K);
    // the backbone's tensors under their bare Swin names, plus a 1000-class head the encoder lacks
    const bare = new Map([...source.stateDict()].filter(([k]) => k.startsWith('backbone.')).map(([k, t]) => [k.slice('backbone.'.length), t]));
    const host = await tensorsToHost(bare);
    host.set('head.weight', { shape: [3, 4], data: new Float32Array(12).fill(0.5) });
    const file = join(root, 'swin.safetensors');
    writeFileSync(file, serializeSafetensors(host));
    const cfg = resolveConfig({ ...tinyConfig(), arch: { ...tinyConfig().arch, init: { file, prefix: 'backbone.' } } });
    const plain = buildEncoder(device, cfg, K);
    const lines: string[] = [];
    const enc = buildTrainingEncoder(device, cfg, K, (l) => lines.push(l));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/arch\.init: \d+ tensors from .*swin\.safetensors; 1 of the file's not in the encoder \(backbone\.head\.weight\)/);
    const got = enc.stateDict();
    const want = source.stateDict();
    const fresh = plain.stateDict();
    let backbone = 0;
    let head = 0;
    for (const [k, t] of got) {
      const same = (other: Tensor) => Promise.all([t.toArray(), other.toArray()]).then(([a, b]) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer)));
      if (k.startsWith('backbone.')) {
        expect(await same(want.get(k)!), k).to.equal(true);
        backbone++;
      } else {
        expect(await same(fresh.get(k)!), k).to.equal(true);
        head++;
      }
    }
    expect(backbone).to.be.greaterThan(10);
    expect(head).to.be.greaterThan(10);
    expect(() => buildTrainingEncoder(device, resolveConfig({ arch: { init: { file, prefix: 'nothing.' } } }), K)).to.throw(/none of its \d+ tensors names a weight of the encoder with prefix 'nothing\.'/);
    expect(() => buildTrainingEncoder(device, resolveConfig({ arch: { init: { file: join(root, 'absent.safetensors') } } }), K)).to.throw(/arch\.init\.file .*absent\.safetensors does not exist/);
    expect(() => resolveConfig({ arch: { init: { path: file } } })).to.throw(ConfigError, /arch\.init\.path: unknown field \(known: file, prefix\)/);
    expect(() => resolveConfig({ arch: { init: 'x.safetensors' } })).to.throw(ConfigError, /arch\.init: expected \{"file"/);
    expect(resolveConfig({}).arch.init).to.equal(null);
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

  it('train standardizeFeatures: zero mean and unit variance per AU and channel on the first split, the same map on the others', async function () {
    const device = await sharedDevice();
    const n = 40, K = 3, C = 5;
    const make = (m: number, seed: number) => Float32Array.from({ length: m * K * C }, (_, i) => 0.9 + 0.01 * Math.sin(seed * 7.3 + i * 1.7) * (1 + (i % C)));
    const raw = [make(n, 1), make(7, 2), make(9, 3)];
    const ts = [Tensor.from(device, raw[0]!, [n, K, C]), Tensor.from(device, raw[1]!, [7, K, C]), Tensor.from(device, raw[2]!, [9, K, C])] as const;
    const out = await standardizeFeatures(device, ts);
    const z = await out[0].toFloat32();
    for (let j = 0; j < K * C; j++) {
      let m = 0, v = 0;
      for (let i = 0; i < n; i++) m += z[i * K * C + j]! / n;
      for (let i = 0; i < n; i++) v += (z[i * K * C + j]! - m) ** 2 / n;
      expect(Math.abs(m), `mean ${j}`).to.be.below(1e-4);
      expect(Math.abs(v - 1), `variance ${j}`).to.be.below(1e-3);
    }
    // the test split is mapped with the training statistics, in float64
    const x0 = Array.from({ length: n }, (_, i) => raw[0]![i * K * C + 4]!);
    const mu = x0.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(x0.reduce((s, x) => s + (x - mu) ** 2, 0) / n) + 1e-6;
    const t = await out[2].toFloat32();
    expect(t[K * C + 4]).to.be.closeTo((raw[2]![K * C + 4]! - mu) / sd, 1e-3);
    for (const a of [...ts, ...out]) a.dispose();
  });

  it('train pixel baseline: grey pixels of the centre crop averaged to side x side; the probe gives metrics for every AU', async function () {
    const fit = splits.fit;
    const f = pixelFeatures(fit, 4);
    expect(f).to.have.length(fit.n * 16);
    // frame 0 by hand: the centre crop of a 37 px frame is 32 px at offset 2, cells of 8 x 8
    const px = fit.pixels[0]!;
    let s = 0;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      const w = px[(2 + 8 + y) * 37 + 2 + 16 + x]!;
      s += (w & 255) + ((w >>> 8) & 255) + ((w >>> 16) & 255);
    }
    expect(f[1 * 4 + 2]).to.be.closeTo(s / (64 * 3 * 255), 1e-12);
    expect(f.every((v) => v >= 0 && v <= 1)).to.equal(true);
    const device = await sharedDevice();
    const r = await pixelProbe({ device, cfg: tinyConfig(), run: join(root, 'pix') }, fit, splits.val!, splits.test, 8);
    expect(r.protocol).to.equal('strict');
    expect(r.test.perAU).to.have.length(12);
    for (const m of r.test.perAU) expect(m.f1 >= 0 && m.f1 <= 1).to.equal(true);
  });
});
