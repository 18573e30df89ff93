/**
 * The three jobs of spec §6: contrastive pre-training with AUNCE (§6.3), the one-stage WCE
 * baseline (§6.5) and linear evaluation (§6.4), on splits loaded by src/train/data.ts.
 *
 * Linear evaluation has two protocols. `strict` (the default): the encoder is frozen in eval mode,
 * features come from the centre crop, and the epoch is chosen on a validation split of the training
 * subjects. `released`: what the released script does — the encoder runs in train mode (BatchNorm
 * batch statistics, stochastic depth) on augmented views while the head trains, and the epoch with
 * the best test F1 is reported. Every report says which protocol produced it.
 */
import { twoViews, augment, drawViews, recipePlan, RECIPES } from '../data/augment.js';
import { concat } from '../ops/concat.js';
import { auSoftmaxLoss } from '../ops/wce.js';
import { aunceLossAuto } from '../losses/aunce_auto.js';
import { PositiveSampler, type SamplerState } from '../losses/sampler.js';
import type { AunceEncoder } from '../nn/encoder.js';
import { AdamW } from '../optim/adamw.js';
import type { Device } from '../runtime/device.js';
import { noGrad } from '../tensor/tape.js';
import { keep, Tensor, tidy } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { ExperimentConfig } from './config.js';
import { centreCrop, cropSide, labelRows, permutation, uploadImages, type SplitData } from './data.js';
import { AuClassifier } from './heads.js';
import { stepSeed, trainLoop, type LoopResult } from './loop.js';
import { MetricAccumulator, type Metrics } from './metrics.js';
import { Module } from '../nn/module.js';

/** AU weights of spec §2.1 from a split's labels: w = 1/r, scaled to sum to K (labelled frames). */
export function auWeights(d: SplitData): number[] {
  const K = d.aus.length;
  const w = Array.from({ length: K }, (_, k) => {
    let pos = 0;
    let lab = 0;
    for (let i = 0; i < d.n; i++) {
      if (!d.mask[i * K + k]) continue;
      lab++;
      pos += d.labels[i * K + k]!;
    }
    return pos > 0 ? lab / pos : 0;
  });
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => (s > 0 ? (x * K) / s : 1));
}

export interface RunContext {
  device: Device;
  cfg: ExperimentConfig;
  run: string;
  resume?: boolean;
  progress?: boolean;
  stopAfter?: number;
}

/** Records one AUNCE pre-training step's forward pass on frames `ids` (step `s`); returns the loss. */
export function pretrainStep(ctx: RunContext, encoder: AunceEncoder, train: SplitData, sampler: () => PositiveSampler): (ids: number[], s: number) => Tensor {
  const { cfg, device } = ctx;
  const p = cfg.pretrain;
  const K = train.aus.length;
  const recipe = RECIPES[cfg.data.recipe]!;
  const weights = p.loss.auWeight ? auWeights(train) : null;
  const views = cfg.data.views === 'separate' ? 2 : 1;
  return (ids, s) => {
    encoder.backbone?.reseedDropPath(stepSeed(cfg.seed, 'droppath', s));
    const images = uploadImages(device, train, ids);
    const v = twoViews(images, recipe, new Rng(stepSeed(cfg.seed, 'augment', s))).views;
    const z = encoder.forward(v, { views });
    const r = aunceLossAuto(z, labelRows(train, ids), {
      mode: p.loss.mode,
      positive: sampler().nextPerAU(K),
      tau: p.loss.tau,
      betaActive: p.loss.betaActive,
      betaInactive: p.loss.betaInactive,
      auWeight: weights,
    });
    return r.loss;
  };
}

export function makeSampler(cfg: ExperimentConfig): PositiveSampler {
  const l = cfg.pretrain.loss;
  return new PositiveSampler({ mode: l.mode, seed: cfg.seed, ...(l.probabilities ? { probabilities: l.probabilities } : {}) });
}

/** AUNCE pre-training of `encoder` on `train` (frames with every AU labelled). */
export async function pretrain(ctx: RunContext, encoder: AunceEncoder, train: SplitData): Promise<LoopResult> {
  const p = ctx.cfg.pretrain;
  let sampler = makeSampler(ctx.cfg);
  encoder.train();
  return trainLoop({
    phase: 'pretrain',
    device: ctx.device,
    run: ctx.run,
    seed: ctx.cfg.seed,
    frames: train.n,
    cfg: p,
    model: encoder,
    imagesPerStep: 2 * p.batchSize,
    resume: ctx.resume,
    progress: ctx.progress,
    stopAfter: ctx.stopAfter,
    extra: {
      save: () => ({ sampler: sampler.state() }),
      load: (x) => {
        sampler = PositiveSampler.fromState(x.sampler as SamplerState);
      },
    },
    step: pretrainStep(ctx, encoder, train, () => sampler),
  });
}

/** The encoder plus the WCE head, trained end to end (one augmented view per image). */
class WceModel extends Module {
  constructor(
    readonly encoder: AunceEncoder,
    readonly head: AuClassifier,
  ) {
    super();
    this.registerModule('encoder', encoder);
    this.registerModule('classifier', head);
  }
}

export async function trainWce(ctx: RunContext, encoder: AunceEncoder, train: SplitData): Promise<{ result: LoopResult; head: AuClassifier }> {
  const { cfg, device } = ctx;
  const w = cfg.wce;
  const K = train.aus.length;
  const head = new AuClassifier(device, K, encoder.channels, w.hidden, cfg.seed + 17);
  const model = new WceModel(encoder, head);
  const recipe = RECIPES[cfg.data.recipe]!;
  const weights = auWeights(train);
  model.train();
  const result = await trainLoop({
    phase: 'wce',
    device,
    run: ctx.run,
    seed: cfg.seed,
    frames: train.n,
    cfg: w,
    model,
    imagesPerStep: w.batchSize,
    resume: ctx.resume,
    progress: ctx.progress,
    stopAfter: ctx.stopAfter,
    step: (ids, s) => {
      encoder.backbone?.reseedDropPath(stepSeed(cfg.seed, 'wce-droppath', s));
      const images = uploadImages(device, train, ids);
      const plan = recipePlan(recipe, train.size, train.size);
      const views = drawViews(recipe, new Rng(stepSeed(cfg.seed, 'wce-augment', s)), ids.length, train.size, train.size, 1);
      const logits = head.forward(encoder.forward(augment(images, views, plan)));
      return auSoftmaxLoss(logits, labelRows(train, ids), { weight: weights });
    },
  });
  return { result, head };
}

/** P(active) per frame and AU, [n*K], with the encoder in eval mode on centre crops. */
export async function predict(device: Device, encoder: AunceEncoder, head: AuClassifier, d: SplitData, batch = 64): Promise<Float32Array> {
  const K = d.aus.length;
  const out = new Float32Array(d.n * K);
  encoder.eval();
  head.eval();
  for (let at = 0; at < d.n; at += batch) {
    const ids = Array.from({ length: Math.min(batch, d.n - at) }, (_, i) => at + i);
    const p = noGrad(() =>
      tidy(() => {
        const f = encoder.forward(centreCrop(uploadImages(device, d, ids), cropSide(d.size)));
        return keep(head.forward(f).softmax(1));
      }),
    );
    const v = await p.toFloat32();
    p.dispose();
    for (let j = 0; j < ids.length; j++) for (let k = 0; k < K; k++) out[(at + j) * K + k] = v[j * 2 * K + k]!;
  }
  return out;
}

export function metricsOf(d: SplitData, probs: Float32Array): Metrics {
  const acc = new MetricAccumulator(d.aus.length);
  acc.add(probs, d.labels, d.mask);
  return acc.compute();
}

/** Frozen encoder features [n, K, C] on centre crops (eval mode), kept on the device. */
export async function features(device: Device, encoder: AunceEncoder, d: SplitData, batch = 64): Promise<Tensor> {
  encoder.eval();
  const parts: Tensor[] = [];
  for (let at = 0; at < d.n; at += batch) {
    const ids = Array.from({ length: Math.min(batch, d.n - at) }, (_, i) => at + i);
    parts.push(noGrad(() => tidy(() => keep(encoder.forward(centreCrop(uploadImages(device, d, ids), cropSide(d.size)))))));
    await device.sync();
  }
  const all = noGrad(() => concat(parts, 0));
  for (const t of parts) t.dispose();
  return all;
}

export interface LinearEvalResult {
  protocol: 'strict' | 'released';
  /** the chosen epoch (1-based) and what chose it */
  epoch: number;
  selectedOn: 'validation' | 'test';
  test: Metrics;
  validation: Metrics | null;
}

/**
 * Linear evaluation (spec §6.4): per-AU Linear(C, 2) + softmax on frozen features, trained with the
 * weighted au_softmax_loss and Adam(lr, weight decay as an L2 penalty); evaluated every epoch.
 */
export async function linearEval(ctx: RunContext, encoder: AunceEncoder, train: SplitData, val: SplitData | null, test: SplitData): Promise<LinearEvalResult> {
  const { device, cfg } = ctx;
  if (cfg.linear.protocol === 'released') return linearEvalReleased(ctx, encoder, train, test);
  if (!val) throw new Error('linear evaluation (strict): needs a validation split');
  let feats: readonly [Tensor, Tensor, Tensor] = [await features(device, encoder, train), await features(device, encoder, val), await features(device, encoder, test)];
  if (cfg.linear.standardize) {
    const raw = feats;
    feats = await standardizeFeatures(device, raw);
    for (const t of raw) t.dispose();
  }
  try {
    return await probeFeatures(ctx, feats, train, val, test);
  } finally {
    for (const t of feats) t.dispose();
  }
}

/**
 * Features [n, K, C] of three splits standardised per AU and channel with the first split's mean and
 * standard deviation (a batch norm without affine in front of the linear head, as linear probes of
 * self-supervised encoders commonly use): the probe then sees every direction of the features at
 * unit scale, however concentrated the L2-normalised features are around their mean.
 */
export async function standardizeFeatures(device: Device, feats: readonly [Tensor, Tensor, Tensor]): Promise<[Tensor, Tensor, Tensor]> {
  const [n, K, C] = feats[0].shape as [number, number, number];
  const KC = K * C;
  const x = await feats[0].toFloat32();
  const mean = new Float64Array(KC), sd = new Float64Array(KC);
  for (let i = 0; i < n; i++) for (let j = 0; j < KC; j++) mean[j]! += x[i * KC + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < KC; j++) sd[j]! += (x[i * KC + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < KC; j++) sd[j] = Math.sqrt(sd[j]!) + 1e-6;
  const out: Tensor[] = [];
  for (const f of feats) {
    const v = f === feats[0] ? x : await f.toFloat32();
    const m = f.shape[0]!;
    const z = new Float32Array(m * KC);
    for (let i = 0; i < m; i++) for (let j = 0; j < KC; j++) z[i * KC + j] = (v[i * KC + j]! - mean[j]!) / sd[j]!;
    out.push(Tensor.from(device, z, [m, K, C]));
  }
  return out as [Tensor, Tensor, Tensor];
}

/**
 * The strict protocol on given frozen features [n, K, C] of the train, validation and test splits:
 * per-AU Linear(C, 2) trained with the weighted au_softmax_loss, the epoch chosen on validation.
 */
export async function probeFeatures(ctx: RunContext, feats: readonly [Tensor, Tensor, Tensor], train: SplitData, val: SplitData, test: SplitData): Promise<LinearEvalResult> {
  const { device, cfg } = ctx;
  const L = cfg.linear;
  const K = train.aus.length;
  const [ftr, fval, fte] = feats;
  const head = new AuClassifier(device, K, ftr.shape[2]!, 0, cfg.seed + 29);
  const opt = new AdamW(head.namedParameters(), { lr: L.lr, weightDecay: L.weightDecay, decoupled: false });
  const weights = auWeights(train);
  const probsOf = async (f: Tensor): Promise<Float32Array> => {
    const p = noGrad(() => tidy(() => keep(head.forward(f).softmax(1))));
    const v = await p.toFloat32();
    p.dispose();
    const n = f.shape[0]!;
    const out = new Float32Array(n * K);
    for (let j = 0; j < n; j++) for (let k = 0; k < K; k++) out[j * K + k] = v[j * 2 * K + k]!;
    return out;
  };
  let best: LinearEvalResult | null = null;
  for (let e = 1; e <= L.epochs; e++) {
    const order = permutation(train.n, stepSeed(cfg.seed, 'linear', e));
    for (let at = 0; at < train.n; at += L.batchSize) {
      const ids = order.slice(at, at + L.batchSize);
      tidy(() => {
        const x = ftr.indexSelect(0, ids);
        auSoftmaxLoss(head.forward(x), labelRows(train, ids), { weight: weights }).backward();
        opt.step();
        opt.zeroGrad();
      });
    }
    const mv = metricsOf(val, await probsOf(fval));
    if (!best || mv.meanF1 > best.validation!.meanF1) {
      best = { protocol: 'strict', epoch: e, selectedOn: 'validation', validation: mv, test: metricsOf(test, await probsOf(fte)) };
    }
  }
  return best!;
}

/**
 * Grey pixels of each frame's centre crop (the crop the encoder sees in evaluation), averaged down to
 * side x side, scaled to [0, 1]: [n, side * side] in float64.
 */
export function pixelFeatures(d: SplitData, side: number): Float64Array {
  const crop = cropSide(d.size);
  const off = Math.floor((d.size - crop) / 2);
  const D = side * side;
  const out = new Float64Array(d.n * D);
  const sum = new Float64Array(D), cnt = new Float64Array(D);
  for (let i = 0; i < d.n; i++) {
    sum.fill(0);
    cnt.fill(0);
    const px = d.pixels[i]!;
    for (let y = 0; y < crop; y++) {
      const cy = Math.min(side - 1, Math.floor((y * side) / crop));
      for (let x = 0; x < crop; x++) {
        const w = px[(off + y) * d.size + off + x]!;
        const c = cy * side + Math.min(side - 1, Math.floor((x * side) / crop));
        sum[c]! += (w & 255) + ((w >>> 8) & 255) + ((w >>> 16) & 255);
        cnt[c]!++;
      }
    }
    for (let c = 0; c < D; c++) out[i * D + c] = sum[c]! / (3 * 255 * cnt[c]!);
  }
  return out;
}

/**
 * A baseline for scale: the strict linear probe on standardised grey pixels (side x side, every
 * AU's head sees the same vector). What an encoder's features must beat to have learned anything
 * beyond the pixels.
 */
export async function pixelProbe(ctx: RunContext, train: SplitData, val: SplitData, test: SplitData, side = 32): Promise<LinearEvalResult> {
  const K = train.aus.length;
  const D = side * side;
  // every AU's head reads its own copy of the pixels: [n, K, side^2] floats per split
  const bytes = Math.max(train.n, val.n, test.n) * K * D * 4;
  const limit = ctx.device.limits.maxStorageBufferBindingSize ?? 128 * 2 ** 20;
  if (bytes > limit) throw new RangeError(`pixel probe: ${Math.max(train.n, val.n, test.n)} frames x ${K} AUs x ${D} pixels is ${(bytes / 2 ** 20).toFixed(0)} MiB, over this device's ${(limit / 2 ** 20).toFixed(0)} MiB buffer binding limit (use a smaller side or fewer frames)`);
  // the same vector for every AU's head, standardised like any frozen features
  const replicated = [train, val, test].map((d) => {
    const x = pixelFeatures(d, side);
    const v = new Float32Array(d.n * K * D);
    for (let i = 0; i < d.n; i++) for (let k = 0; k < K; k++) for (let c = 0; c < D; c++) v[(i * K + k) * D + c] = x[i * D + c]!;
    return Tensor.from(ctx.device, v, [d.n, K, D]);
  }) as [Tensor, Tensor, Tensor];
  const feats = await standardizeFeatures(ctx.device, replicated);
  for (const t of replicated) t.dispose();
  try {
    return await probeFeatures(ctx, feats, train, val, test);
  } finally {
    for (const t of feats) t.dispose();
  }
}

/** The released script's protocol: encoder in train mode on augmented views, best test epoch. */
async function linearEvalReleased(ctx: RunContext, encoder: AunceEncoder, train: SplitData, test: SplitData): Promise<LinearEvalResult> {
  const { device, cfg } = ctx;
  const L = cfg.linear;
  const K = train.aus.length;
  const head = new AuClassifier(device, K, encoder.channels, 0, cfg.seed + 29);
  const opt = new AdamW(head.namedParameters(), { lr: L.lr, weightDecay: L.weightDecay, decoupled: false });
  const weights = auWeights(train);
  const recipe = RECIPES[cfg.data.recipe]!;
  const plan = recipePlan(recipe, train.size, train.size);
  let best: LinearEvalResult | null = null;
  for (let e = 1; e <= L.epochs; e++) {
    encoder.train();
    const order = permutation(train.n, stepSeed(cfg.seed, 'linear', e));
    for (let at = 0; at < train.n; at += L.batchSize) {
      const ids = order.slice(at, at + L.batchSize);
      tidy(() => {
        const views = drawViews(recipe, new Rng(stepSeed(cfg.seed, `linear-aug-${e}`, at)), ids.length, train.size, train.size, 1);
        const f = noGrad(() => encoder.forward(augment(uploadImages(device, train, ids), views, plan))).detach();
        auSoftmaxLoss(head.forward(f), labelRows(train, ids), { weight: weights }).backward();
        opt.step();
        opt.zeroGrad();
      });
    }
    const mt = metricsOf(test, await predict(device, encoder, head, test));
    if (!best || mt.meanF1 > best.test.meanF1) best = { protocol: 'released', epoch: e, selectedOn: 'test', validation: null, test: mt };
  }
  return best!;
}


