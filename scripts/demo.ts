/**
 * `npm run demo -- --out DIR`: the README's main job on the built-in synthetic benchmark.
 *   1. renders a small synthetic benchmark with the BP4D profile (src/data/synth) into DIR/data;
 *   2. pre-trains the small Swin + ANFL encoder with AUNCE (configs/demo.json) into DIR/aunce;
 *   3. runs linear evaluation on it (strict protocol: frozen encoder in eval mode, epoch chosen on
 *      held-out training subjects) and writes DIR/aunce/eval.json;
 *   4. trains the one-stage WCE baseline on the same split into DIR/wce;
 *   5. writes DIR/summary.json and prints a table per AU beside the all-positive predictor.
 * `--resume` continues interrupted runs from their checkpoints; `--quick` shrinks everything to a
 * smoke test of a minute or two.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { writeSynth } from '../src/data/synth/index.js';
import { openDevice } from '../src/runtime/node_gpu.js';
import { readConfig } from '../src/train/config.js';
import { linearEvalJob, loadSplits, pretrainJob, wceJob } from '../src/train/jobs.js';
import type { Metrics } from '../src/train/metrics.js';
import { AdamW } from '../src/optim/adamw.js';
import { fullyLabelled } from '../src/train/data.js';
import { makeSampler, pixelProbe, pretrainStep } from '../src/train/phases.js';
import { formatProfile, profileStep } from '../src/train/profile.js';
import { tidy } from '../src/tensor/tensor.js';

interface Opts {
  out: string;
  config: string;
  subjects: number;
  frames: number;
  subtlety: number;
  sequenceLength: number;
  align: number;
  resume?: boolean;
  quick?: boolean;
}

const program = new Command('demo')
  .description('synthetic benchmark -> AUNCE pre-training -> linear evaluation, and the WCE baseline')
  .option('--out <dir>', 'output folder', 'demo-out')
  .option('--config <file>', 'experiment configuration', join(import.meta.dirname, '..', 'configs', 'demo.json'))
  .option('--subjects <n>', 'synthetic subjects', (v) => parseInt(v, 10), 48)
  .option('--frames <n>', 'frames per subject', (v) => parseInt(v, 10), 30)
  .option('--subtlety <k>', 'scale of the synthetic AU effects (1 = the benchmark default)', Number, 2)
  .option('--sequence-length <n>', 'synthetic frames per sequence (1: every frame its own pose, lighting and AU draw)', (v) => parseInt(v, 10), 1)
  .option('--align <enlarge>', 'align the synthetic frames from their landmarks with this enlarge factor (0: as rendered)', Number, 2.2)
  .option('--resume', 'continue interrupted runs from their checkpoints')
  .option('--quick', 'a smoke test: few subjects, frames and steps');
program.parse();
const o = program.opts<Opts>();

const pct = (x: number) => (100 * x).toFixed(1);
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

const cfg = readConfig(o.config);
if (o.quick) {
  o.subjects = Math.min(o.subjects, 6);
  o.frames = Math.min(o.frames, 40);
  cfg.pretrain.steps = Math.min(cfg.pretrain.steps, 4);
  cfg.wce.steps = Math.min(cfg.wce.steps, 4);
  cfg.linear.epochs = Math.min(cfg.linear.epochs, 5);
  cfg.pretrain.batchSize = cfg.wce.batchSize = 16;
}
mkdirSync(o.out, { recursive: true });
const data = join(o.out, 'data');
if (!existsSync(join(data, 'manifest.json'))) {
  console.error(`demo: rendering ${o.subjects} x ${o.frames} synthetic frames (bp4d profile, subtlety ${o.subtlety}, sequences of ${o.sequenceLength}, aligned with enlarge ${o.align})`);
  await writeSynth({ profile: 'bp4d', subjects: o.subjects, framesPerSubject: o.frames, seed: cfg.seed, size: 128, subtlety: o.subtlety, sequenceLength: o.sequenceLength, align: o.align }, data);
}
const device = await openDevice();
try {
  const splits = await loadSplits(data, cfg);
  console.error(`demo: fold ${cfg.data.fold}: ${splits.fit.n} training, ${splits.val?.n ?? 0} validation, ${splits.test.n} test frames (${elapsed()})`);
  const aunceRun = join(o.out, 'aunce');
  const pre = await pretrainJob({ device, cfg, data, run: aunceRun, resume: o.resume, splits });
  if (pre.interrupted) throw new Error('interrupted: rerun with --resume to continue');
  console.error(`demo: pre-training done, ${pre.imagesPerSec.toFixed(1)} images/s (${elapsed()})`);
  const lin = await linearEvalJob({ device, cfg, data, run: aunceRun, splits }, pre.encoder);
  console.error(`demo: linear evaluation done, epoch ${lin.epoch} chosen on ${lin.selectedOn} (${elapsed()})`);
  // the same probe on 32x32 grey pixels: what the encoder has to beat to have learned anything
  const pix = splits.val ? await pixelProbe({ device, cfg, run: aunceRun }, splits.fit, splits.val, splits.test) : null;
  if (pix) console.error(`demo: pixel baseline done (${elapsed()})`);
  const wce = await wceJob({ device, cfg, data, run: join(o.out, 'wce'), resume: o.resume, splits });
  if (wce.interrupted) throw new Error('interrupted: rerun with --resume to continue');
  console.error(`demo: WCE baseline done, ${wce.imagesPerSec.toFixed(1)} images/s (${elapsed()})`);

  // where a pre-training step's time goes (one step with per-dispatch timestamps, one without)
  let profile = '';
  if (device.has('timestamp-query')) {
    const enc = pre.encoder.train();
    const opt = new AdamW(enc.namedParameters(), { lr: 1e-5, weightDecay: cfg.pretrain.weightDecay });
    const sampler = makeSampler(cfg);
    const step = pretrainStep({ device, cfg, run: aunceRun }, enc, splits.fit, () => sampler);
    const ids = fullyLabelled(splits.fit).slice(0, cfg.pretrain.batchSize);
    const p = await profileStep(device, () =>
      tidy(() => {
        step(ids, 0).backward();
        opt.step();
        opt.zeroGrad();
      }),
    );
    profile = formatProfile(p, 2 * ids.length);
  }
  const perAU = (m: Metrics) => Object.fromEntries(splits.aus.map((au, k) => [`AU${au}`, { f1: +pct(m.perAU[k]!.f1), acc: +pct(m.perAU[k]!.accuracy) }]));
  const summary = {
    runs: [
      { name: 'aunce', protocol: `${lin.protocol}${cfg.linear.standardize ? ', standardised features' : ''}`, meanF1: +pct(lin.test.meanF1), meanAcc: +pct(lin.test.meanAccuracy), perAU: perAU(lin.test) },
      { name: 'wce', protocol: 'final step', meanF1: +pct(wce.metrics.meanF1), meanAcc: +pct(wce.metrics.meanAccuracy), perAU: perAU(wce.metrics) },
      ...(pix ? [{ name: 'pixels', protocol: 'strict linear probe on 32x32 grey pixels', meanF1: +pct(pix.test.meanF1), meanAcc: +pct(pix.test.meanAccuracy), perAU: perAU(pix.test) }] : []),
    ],
    trivialMeanF1: +pct(lin.test.meanTrivialF1),
    seconds: Math.round((performance.now() - t0) / 1000),
    device: device.name,
  };
  writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  const rows = splits.aus.map((au, k) => {
    const a = lin.test.perAU[k]!;
    const w = wce.metrics.perAU[k]!;
    const p = pix ? pct(pix.test.perAU[k]!.f1) : '-';
    return `| AU${au} | ${pct(a.f1)} | ${pct(a.accuracy)} | ${pct(w.f1)} | ${pct(w.accuracy)} | ${p} | ${pct(a.trivialF1)} |`;
  });
  console.log(
    [
      `AUNCE demo on ${device.name}: synthetic bp4d, fold ${cfg.data.fold}, ${splits.test.n} test frames, ${summary.seconds} s`,
      '',
      '| AU | AUNCE + linear F1 | acc | WCE F1 | acc | pixels + linear F1 | all-positive F1 |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      `| mean | ${pct(lin.test.meanF1)} | ${pct(lin.test.meanAccuracy)} | ${pct(wce.metrics.meanF1)} | ${pct(wce.metrics.meanAccuracy)} | ${pix ? pct(pix.test.meanF1) : '-'} | ${pct(lin.test.meanTrivialF1)} |`,
      '',
      `linear evaluation: ${lin.protocol} protocol (encoder frozen in eval mode${cfg.linear.standardize ? ', features standardised with the training statistics' : ''}, epoch ${lin.epoch} of ${cfg.linear.epochs} chosen on the validation subjects); the pixel probe: the same protocol on 32x32 grey pixels`,
      `pre-training ${pre.imagesPerSec.toFixed(1)} images/s, WCE ${wce.imagesPerSec.toFixed(1)} images/s; summary in ${join(o.out, 'summary.json')}`,
      ...(profile ? ['', `A pre-training step of ${cfg.pretrain.batchSize} pairs, profiled:`, '', profile] : []),
    ].join('\n'),
  );
} finally {
  device.destroy();
}
