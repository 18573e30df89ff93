/**
 * The jobs behind `aunce train`, `aunce eval` and `npm run demo`: open a native dataset, split it by
 * fold (and, for strict linear evaluation, hold out training subjects for validation), build the
 * encoder, run a phase, and write the run directory (config.json, log.jsonl, checkpoints, eval.json)
 * that `aunce report` reads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NativeReader } from '../data/native.js';
import { AunceEncoder, parseEncoderArch } from '../nn/encoder.js';
import type { Device } from '../runtime/device.js';
import { loadCheckpoint, loadInitWeights } from './checkpoint.js';
import type { ExperimentConfig } from './config.js';
import { fullyLabelled, loadSplit, subsetSplit, type SplitData } from './data.js';
import { checkpointPath, stepSeed } from './loop.js';
import type { Metrics } from './metrics.js';
import type { RunEval } from './report.js';
import { linearEval, metricsOf, predict, pretrain, trainWce, type LinearEvalResult } from './phases.js';
import { permutation } from './data.js';
import type { AuClassifier } from './heads.js';

export interface Splits {
  aus: number[];
  dataset: string;
  train: SplitData;
  /** strict protocol: held-out training subjects; null for the released protocol */
  val: SplitData | null;
  /** the training subjects minus the validation ones (all of train without validation) */
  fit: SplitData;
  test: SplitData;
}

export async function loadSplits(dir: string, cfg: ExperimentConfig): Promise<Splits> {
  const reader = await NativeReader.open(dir);
  try {
    const meta = reader.manifest.meta;
    const train = await loadSplit(reader, { fold: cfg.data.fold, split: 'train' });
    const test = await loadSplit(reader, { fold: cfg.data.fold, split: 'test' });
    if (train.n === 0 || test.n === 0) throw new Error(`${dir}: fold ${cfg.data.fold} has ${train.n} training and ${test.n} test frames`);
    let val: SplitData | null = null;
    let fit = train;
    if (cfg.linear.protocol === 'strict') {
      const subjects = [...new Set(train.subjects)].sort((a, b) => a - b);
      const order = permutation(subjects.length, stepSeed(cfg.seed, 'validation', cfg.data.fold)).map((i) => subjects[i]!);
      const nVal = Math.max(1, Math.round(subjects.length * cfg.linear.validationFraction));
      if (nVal >= subjects.length) throw new Error(`${dir}: fold ${cfg.data.fold} has ${subjects.length} training subject(s); the strict protocol needs at least 2 (one for validation)`);
      const held = new Set(order.slice(0, nVal));
      const idx = (keepHeld: boolean) => Array.from({ length: train.n }, (_, i) => i).filter((i) => held.has(train.subjects[i]!) === keepHeld);
      val = subsetSplit(train, idx(true));
      fit = subsetSplit(train, idx(false));
    }
    return { aus: meta.aus, dataset: meta.dataset, train, val, fit, test };
  } finally {
    await reader.close();
  }
}

export function buildEncoder(device: Device, cfg: ExperimentConfig, numAUs: number): AunceEncoder {
  const arch = parseEncoderArch({ backbone: cfg.arch.backbone, head: { ...cfg.arch.head, numAUs } });
  return new AunceEncoder(device, arch, { seed: cfg.seed, attention: cfg.data.attention });
}

/** A fresh encoder for a training job, with the starting weights of `arch.init` when the config names them. */
export function buildTrainingEncoder(device: Device, cfg: ExperimentConfig, numAUs: number, log: (line: string) => void = (l) => console.error(l)): AunceEncoder {
  const encoder = buildEncoder(device, cfg, numAUs);
  if (cfg.arch.init) {
    const r = loadInitWeights(cfg.arch.init, device, encoder);
    const some = (keys: string[]) => (keys.length ? ` (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', ...' : ''})` : '');
    log(
      `arch.init: ${r.loaded} tensors from ${cfg.arch.init.file}; ${r.skipped.length} of the file's not in the encoder${some(r.skipped)}; ` +
        `${r.kept.length} of the encoder's not in the file, left at their initialisation${some(r.kept)}`,
    );
  }
  return encoder;
}

export type { RunEval as EvalFile } from './report.js';

function writeRunConfig(run: string, cfg: ExperimentConfig, extra: Record<string, unknown>): void {
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, 'config.json'), `${JSON.stringify({ ...cfg, ...extra }, null, 1)}\n`);
}

export interface JobOptions {
  device: Device;
  cfg: ExperimentConfig;
  data: string;
  run: string;
  resume?: boolean;
  progress?: boolean;
  stopAfter?: number;
  splits?: Splits;
}

/** AUNCE pre-training: the encoder's checkpoint lands in RUN/pretrain.safetensors. */
export async function pretrainJob(o: JobOptions): Promise<{ encoder: AunceEncoder; splits: Splits; imagesPerSec: number; interrupted: boolean }> {
  const splits = o.splits ?? (await loadSplits(o.data, o.cfg));
  writeRunConfig(o.run, o.cfg, { job: 'pretrain', data: { ...o.cfg.data, dir: o.data, dataset: splits.dataset } });
  const labelled = fullyLabelled(splits.fit);
  if (labelled.length < o.cfg.pretrain.batchSize) throw new Error(`${o.data}: ${labelled.length} fully labelled training frames, fewer than a batch of ${o.cfg.pretrain.batchSize}`);
  const train = labelled.length === splits.fit.n ? splits.fit : subsetSplit(splits.fit, labelled);
  const encoder = buildTrainingEncoder(o.device, o.cfg, splits.aus.length);
  const r = await pretrain({ device: o.device, cfg: o.cfg, run: o.run, resume: o.resume, progress: o.progress, stopAfter: o.stopAfter }, encoder, train);
  return { encoder, splits, imagesPerSec: r.imagesPerSec, interrupted: r.interrupted };
}

/** Linear evaluation of a pre-trained encoder; writes RUN/eval.json. */
export async function linearEvalJob(o: JobOptions, encoder?: AunceEncoder): Promise<LinearEvalResult> {
  const splits = o.splits ?? (await loadSplits(o.data, o.cfg));
  let enc = encoder;
  if (!enc) {
    enc = buildEncoder(o.device, o.cfg, splits.aus.length);
    loadCheckpoint(checkpointPath(o.run, 'pretrain'), o.device, enc, null);
  }
  const res = await linearEval({ device: o.device, cfg: o.cfg, run: o.run }, enc, splits.fit, splits.val, splits.test);
  const file: RunEval = { name: o.cfg.name, protocol: res.protocol, fold: o.cfg.data.fold, aus: splits.aus, epoch: res.epoch, selectedOn: res.selectedOn, metrics: res.test };
  writeFileSync(join(o.run, 'eval.json'), `${JSON.stringify(file, null, 1)}\n`);
  return res;
}

/** The one-stage WCE baseline: trains encoder + head end to end, then evaluates on the test split. */
export async function wceJob(o: JobOptions): Promise<{ metrics: Metrics; imagesPerSec: number; head: AuClassifier; interrupted: boolean }> {
  const splits = o.splits ?? (await loadSplits(o.data, o.cfg));
  writeRunConfig(o.run, o.cfg, { job: 'wce', data: { ...o.cfg.data, dir: o.data, dataset: splits.dataset } });
  const encoder = buildTrainingEncoder(o.device, o.cfg, splits.aus.length);
  const { result, head } = await trainWce({ device: o.device, cfg: o.cfg, run: o.run, resume: o.resume, progress: o.progress, stopAfter: o.stopAfter }, encoder, splits.fit);
  const metrics = metricsOf(splits.test, await predict(o.device, encoder, head, splits.test));
  const file: RunEval = { name: `${o.cfg.name}-wce`, protocol: 'strict', fold: o.cfg.data.fold, aus: splits.aus, selectedOn: 'final step', metrics };
  writeFileSync(join(o.run, 'eval.json'), `${JSON.stringify(file, null, 1)}\n`);
  return { metrics, imagesPerSec: result.imagesPerSec, head, interrupted: result.interrupted };
}
