/**
 * The training loop shared by contrastive pre-training and the WCE baseline: seeded epoch orders,
 * the learning-rate schedule, one submit per step (nothing is read back except at log steps),
 * a JSONL log, a progress bar with images/s and loss, atomic checkpoints every N steps and at the
 * end, `resume` from the last checkpoint, and Ctrl-C that finishes the step, saves and stops.
 * Every random draw of a step is seeded by (seed, phase, step), so a resumed run repeats exactly
 * what the uninterrupted run would have done.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Module } from '../nn/module.js';
import { AdamW } from '../optim/adamw.js';
import { learningRate } from '../optim/schedule.js';
import type { Device } from '../runtime/device.js';
import { keep, tidy, type Tensor } from '../tensor/tensor.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { OptimConfig } from './config.js';
import { permutation } from './data.js';

export type Phase = 'pretrain' | 'wce';

/** A step's seed from the run seed, the phase and the step (FNV-style mix). */
export function stepSeed(seed: number, phase: string, step: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${phase}:${step}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  h ^= h >>> 13;
  return Math.imul(h, 0x5bd1e995) >>> 0;
}

export interface LoopSpec {
  phase: Phase;
  device: Device;
  run: string;
  seed: number;
  /** frames available (the epoch is a pass over them) */
  frames: number;
  cfg: OptimConfig;
  /** the trained module (its parameters are optimised; its state dict is checkpointed) */
  model: Module;
  /** records forward and backward of one step on frames `ids`; returns the loss (kept) */
  step(ids: number[], step: number): Tensor;
  /** state to checkpoint besides the model and optimizer (and to restore on resume) */
  extra?: { save(): Record<string, unknown>; load(x: Record<string, unknown>): void };
  resume?: boolean;
  /** images per step (pairs count twice), for images/s */
  imagesPerStep: number;
  /** print progress (default: when stderr is a terminal) */
  progress?: boolean;
  /** stop after this many steps in this process (tests of resume); the checkpoint is written */
  stopAfter?: number;
}

export interface LoopResult {
  steps: number;
  lastLoss: number;
  imagesPerSec: number;
  interrupted: boolean;
}

export function checkpointPath(run: string, phase: Phase): string {
  return join(run, `${phase}.safetensors`);
}

export async function trainLoop(spec: LoopSpec): Promise<LoopResult> {
  const { cfg, device } = spec;
  const opt = new AdamW(spec.model.namedParameters(), { lr: 0, betas: cfg.betas, weightDecay: cfg.weightDecay, maxGradNorm: cfg.clipGradNorm });
  const ckpt = checkpointPath(spec.run, spec.phase);
  let start = 0;
  if (spec.resume && existsSync(ckpt)) {
    const meta = loadCheckpoint(ckpt, device, spec.model, opt);
    if (meta.phase !== spec.phase) throw new Error(`${ckpt}: a ${meta.phase} checkpoint, expected ${spec.phase}`);
    start = meta.step;
    spec.extra?.load(meta.extra);
  }
  const perEpoch = Math.max(1, Math.ceil(spec.frames / cfg.batchSize));
  const log = join(spec.run, 'log.jsonl');
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const bar = (spec.progress ?? process.stderr.isTTY) ? new SingleBar({ format: `${spec.phase} [{bar}] {value}/{total} steps | {ips} img/s | loss {loss}`, hideCursor: true }) : null;
  bar?.start(cfg.steps, start, { ips: '-', loss: '-' });
  const t0 = performance.now();
  let lastLoss = NaN;
  let done = start;
  let ips = 0;
  let order: { epoch: number; ids: number[] } | null = null;
  try {
    for (let s = start; s < cfg.steps; s++) {
      const epoch = Math.floor(s / perEpoch);
      if (!order || order.epoch !== epoch) order = { epoch, ids: permutation(spec.frames, stepSeed(spec.seed, `${spec.phase}-epoch`, epoch)) };
      const at = (s % perEpoch) * cfg.batchSize;
      const ids = order.ids.slice(at, at + cfg.batchSize);
      opt.lr = learningRate(cfg.schedule, epoch + 1, s);
      const loss = tidy(() => {
        const l = keep(spec.step(ids, s));
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l;
      });
      done = s + 1;
      const last = done === cfg.steps || interrupted || done - start === spec.stopAfter;
      if (done % cfg.logEvery === 0 || last) {
        lastLoss = await loss.item();
        const time = (performance.now() - t0) / 1000;
        ips = ((done - start) * spec.imagesPerStep) / time;
        appendFileSync(log, `${JSON.stringify({ phase: spec.phase, step: done, epoch: epoch + 1, loss: lastLoss, lr: opt.lr, time, imagesPerSec: ips })}\n`);
        bar?.update(done, { ips: ips.toFixed(1), loss: lastLoss.toFixed(4) });
      }
      loss.dispose();
      if (done % cfg.checkpointEvery === 0 || last) {
        await saveCheckpoint(ckpt, spec.model, opt, { phase: spec.phase, step: done, extra: spec.extra?.save() ?? {} });
      }
      if (last) break;
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
  return { steps: done, lastLoss, imagesPerSec: ips, interrupted };
}
