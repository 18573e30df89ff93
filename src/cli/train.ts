/**
 * `aunce train --config FILE --data DIR --out RUN [--phase pretrain|wce] [--resume]` and
 * `aunce eval --run RUN --data DIR`: contrastive pre-training with AUNCE or the one-stage WCE
 * baseline (src/train/jobs.ts), and linear evaluation of a pre-trained run. Ctrl-C finishes the
 * current step, writes the checkpoint and exits; `--resume` continues from it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { openDevice } from '../runtime/node_gpu.js';
import { readConfig, resolveConfig } from '../train/config.js';
import { linearEvalJob, pretrainJob, wceJob } from '../train/jobs.js';
import type { Metrics } from '../train/metrics.js';

interface TrainOptions {
  config: string;
  data: string;
  out: string;
  phase: string;
  resume?: boolean;
  progress: boolean;
}

function summary(m: Metrics): string {
  return `mean F1 ${(100 * m.meanF1).toFixed(1)}, mean accuracy ${(100 * m.meanAccuracy).toFixed(1)} (all-positive F1 ${(100 * m.meanTrivialF1).toFixed(1)})`;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('AUNCE pre-training (or the WCE baseline) of the Swin + ANFL encoder on a native dataset')
    .requiredOption('--config <file>', 'experiment configuration (JSON; see configs/demo.json)')
    .requiredOption('--data <dir>', 'a native dataset (aunce synth / aunce convert)')
    .requiredOption('--out <dir>', 'the run directory')
    .option('--phase <name>', 'pretrain (AUNCE) or wce (the one-stage baseline)', 'pretrain')
    .option('--resume', 'continue from the run directory\'s checkpoint')
    .option('--no-progress', 'no progress bar')
    .action(async (o: TrainOptions) => {
      if (o.phase !== 'pretrain' && o.phase !== 'wce') throw new Error(`train: --phase must be pretrain or wce, got '${o.phase}'`);
      const cfg = readConfig(o.config);
      const device = await openDevice();
      try {
        const job = { device, cfg, data: o.data, run: o.out, resume: o.resume, progress: o.progress && process.stderr.isTTY };
        if (o.phase === 'pretrain') {
          const r = await pretrainJob(job);
          console.log(`${r.interrupted ? 'interrupted; rerun with --resume' : 'pre-training done'}: ${r.imagesPerSec.toFixed(1)} images/s; checkpoint in ${join(o.out, 'pretrain.safetensors')}`);
        } else {
          const r = await wceJob(job);
          console.log(`${r.interrupted ? 'interrupted; rerun with --resume' : 'WCE baseline done'}: ${r.imagesPerSec.toFixed(1)} images/s; test ${summary(r.metrics)}`);
        }
      } finally {
        device.destroy();
      }
    });
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('linear evaluation of a pre-trained run (writes RUN/eval.json)')
    .requiredOption('--run <dir>', 'a run directory written by aunce train')
    .requiredOption('--data <dir>', 'the native dataset it was trained on')
    .option('--protocol <name>', 'strict (default: frozen encoder in eval mode, validation-chosen epoch) or released')
    .action(async (o: { run: string; data: string; protocol?: string }) => {
      const file = join(o.run, 'config.json');
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const { job: _job, ...rest } = saved;
      const data = { ...(rest.data as Record<string, unknown>) };
      delete data.dir;
      delete data.dataset;
      const cfg = resolveConfig({ ...rest, data }, file);
      if (o.protocol) {
        if (o.protocol !== 'strict' && o.protocol !== 'released') throw new Error(`eval: --protocol must be strict or released, got '${o.protocol}'`);
        cfg.linear.protocol = o.protocol;
      }
      const device = await openDevice();
      try {
        const r = await linearEvalJob({ device, cfg, data: o.data, run: o.run });
        console.log(`linear evaluation (${r.protocol} protocol${cfg.linear.standardize && r.protocol === 'strict' ? ', standardised features' : ''}, epoch ${r.epoch} chosen on ${r.selectedOn}): test ${summary(r.test)}; ${join(o.run, 'eval.json')}`);
      } finally {
        device.destroy();
      }
    });
}
