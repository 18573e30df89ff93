/**
 * The synthetic AU benchmark: procedural faces whose AUs follow a dataset profile (Table I rates,
 * co-occurrence, smooth sequences), rendered in memory or written in the native format.
 * Everything is a pure function of the options (seed included): frame i renders the same bytes
 * whether it is rendered alone, in a stream, or written to disk.
 */
import { alignmentMatrix, matrixRows, to49, transformPoints } from '../align.js';
import { roundPixels, warpAffineRef } from '../../ref/warp.js';
import { NativeWriter, type NativeFrame, type NativeManifest, type NativeMeta } from '../native.js';
import { Rng } from '../../util/rng.js';
import { makeSubject, neutralLandmarks, LANDMARKS, type SubjectParams } from './face.js';
import { planLabels, type LabelPlan, type SynthSequence } from './labels.js';
import { ALL_AUS, TABLE_I, profileAus, type SynthProfileName } from './profiles.js';
import { renderFace, type FrameLook } from './render.js';
import type { Rgb } from './raster.js';

export { ALL_AUS, PROFILE_NAMES, TABLE_I, profileAus, type SynthProfileName } from './profiles.js';
export { renderFace, type FrameLook, type RenderedFace } from './render.js';
export { makeSubject, neutralLandmarks, FLIP_68, type Pose, type SubjectParams } from './face.js';
export { AU_REGIONS, auRegionBox } from './regions.js';

export interface SynthOptions {
  profile: SynthProfileName;
  subjects: number;
  framesPerSubject: number;
  seed: number;
  /** image side in pixels */
  size: number;
  /** fraction of label cells flipped (clean labels are kept); default 0 */
  labelNoise?: number;
  /** scale of every AU effect on the face; default 1 (smaller = subtler) */
  subtlety?: number;
  /** frames per sequence (a subject's frames are cut into sequences); default 100 */
  sequenceLength?: number;
  /**
   * Align every frame from its landmarks as the real datasets are aligned (DATASETS.md: eye line
   * level, the box of eyes, nose tip and mouth corners centred and enlarged by this factor, bilinear
   * warp with a grey border, landmarks moved with it); 0 (the default) keeps frames as rendered.
   */
  align?: number;
  framesPerShard?: number;
}

export interface SynthPlan {
  opts: Required<Omit<SynthOptions, 'framesPerShard'>> & { framesPerShard?: number };
  meta: NativeMeta;
  sequences: SynthSequence[];
  subjects: SubjectParams[];
  neutral: Float64Array[];
  labels: LabelPlan;
  looks: FrameLook[];
  /** per frame: subject, sequence, frame number within its sequence */
  ids: Int32Array;
}

const hash = (...xs: number[]) => {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
};

function checkOptions(o: SynthOptions): void {
  profileAus(o.profile);
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`synth: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int('subjects', o.subjects, 1, 100000);
  int('frames per subject', o.framesPerSubject, 1, 10000000);
  int('size', o.size, 16, 1024);
  int('seed', o.seed, 0, 0xffffffff);
  if (o.sequenceLength !== undefined) int('sequence length', o.sequenceLength, 1, 10000000);
  if (o.subtlety !== undefined && !(o.subtlety >= 0 && o.subtlety <= 3)) throw new RangeError(`synth: subtlety must be in [0, 3], got ${o.subtlety}`);
  if (o.align !== undefined && !(o.align === 0 || (o.align >= 1 && o.align <= 6))) throw new RangeError(`synth: align must be 0 (off) or an enlarge factor in [1, 6], got ${o.align}`);
}

/** An AR(1) walk of standard deviation sd and lag-1 correlation rho. */
function walk(rng: Rng, n: number, sd: number, rho = 0.97): Float64Array {
  const out = new Float64Array(n);
  let v = rng.normal();
  const step = Math.sqrt(1 - rho * rho);
  for (let t = 0; t < n; t++) {
    if (t > 0) v = rho * v + step * rng.normal();
    out[t] = sd * v;
  }
  return out;
}

const clamp = (v: number, lim: number) => Math.max(-lim, Math.min(lim, v));
const DEG = Math.PI / 180;

/**
 * How much pose and imaging vary per profile (1 = the lab setting of BP4D): DISFA is frontal and
 * steady, GFT has moderate out-of-plane poses (paper IV-A1), Aff-Wild2 is in the wild.
 */
const WILDNESS: Record<SynthProfileName, number> = { bp4d: 1, disfa: 0.7, gft: 1.5, affwild2: 1.8 };

function planLooks(seq: SynthSequence, size: number, wild: number, rng: Rng): FrameLook[] {
  const n = seq.length;
  const roll0 = 4 * wild * DEG * rng.normal(), yaw0 = 6 * wild * DEG * rng.normal(), scale0 = 1 + 0.04 * rng.normal();
  const tx0 = 0.015 * rng.normal(), ty0 = 0.015 * rng.normal();
  const roll = walk(rng, n, 2 * wild * DEG), yaw = walk(rng, n, 3 * wild * DEG), scale = walk(rng, n, 0.012);
  const tx = walk(rng, n, 0.005), ty = walk(rng, n, 0.005), gx = walk(rng, n, 0.5), gy = walk(rng, n, 0.3);
  const colour = (): Rgb => {
    const g = rng.uniform(0.2, 0.85);
    return [g + rng.uniform(-0.1, 0.1), g + rng.uniform(-0.1, 0.1), g + rng.uniform(-0.1, 0.1)];
  };
  const bgTop = colour(), bgBottom = colour();
  const ambient = rng.uniform(1 - 0.2 * wild, 1.1), light = rng.uniform(0, 0.5 * wild), ang = rng.uniform(0, 2 * Math.PI);
  const blurBase = rng.next() < 0.4 ? 0 : rng.next() < 0.67 ? 1 : 2;
  const noise = rng.uniform(0.005, 0.03 * wild);
  const looks: FrameLook[] = [];
  for (let t = 0; t < n; t++) {
    const blur = Math.round(Math.max(0, blurBase + (rng.next() < 0.15 ? 1 : 0)) * Math.min(1, size / 128));
    looks.push({
      pose: { roll: clamp(roll0 + roll[t]!, 10 * wild * DEG), yaw: clamp(yaw0 + yaw[t]!, Math.min(30, 18 * wild) * DEG), scale: Math.max(0.85, Math.min(1.15, scale0 + scale[t]!)), tx: clamp(tx0 + tx[t]!, 0.05), ty: clamp(ty0 + ty[t]!, 0.05) },
      bgTop,
      bgBottom,
      ambient,
      light,
      lightDir: [Math.cos(ang), Math.sin(ang)],
      blur,
      noise,
      gaze: [clamp(gx[t]!, 1), clamp(gy[t]!, 1)],
    });
  }
  return looks;
}

/** Everything but the pixels: subjects, labels, poses and the native meta. Cheap (no rendering). */
export function planSynth(options: SynthOptions): SynthPlan {
  checkOptions(options);
  const opts = { labelNoise: 0, subtlety: 1, sequenceLength: 100, align: 0, ...options };
  const { profile, subjects: S, framesPerSubject: F, seed, size } = opts;
  const sequences: SynthSequence[] = [];
  let start = 0;
  for (let s = 0; s < S; s++) {
    for (let q = 0, done = 0; done < F; q++) {
      const length = Math.min(opts.sequenceLength, F - done);
      sequences.push({ subject: s, sequence: q, start, length });
      start += length;
      done += length;
    }
  }
  const subjects = Array.from({ length: S }, (_, s) => makeSubject(new Rng(hash(seed, 0x5b, s))));
  const labels = planLabels(profile, sequences, S, seed, opts.labelNoise, (s) => s % 3);
  const looks: FrameLook[] = [];
  const ids = new Int32Array(3 * start);
  for (const q of sequences) {
    looks.push(...planLooks(q, size, WILDNESS[profile], new Rng(hash(seed, 0x100c, q.subject, q.sequence))));
    for (let t = 0; t < q.length; t++) ids.set([q.subject, q.sequence, t], 3 * (q.start + t));
  }
  const aus = profileAus(profile);
  const meta: NativeMeta = {
    dataset: `synth-${profile}`,
    aus,
    imageSize: size,
    landmarks: LANDMARKS,
    subjects: subjects.map((_, s) => `S${String(s + 1).padStart(3, '0')}`),
    folds: [0, 1, 2].map((f) => subjects.map((_, s) => s).filter((s) => s % 3 === f)),
    ...(opts.framesPerShard ? { framesPerShard: opts.framesPerShard } : {}),
    extra: {
      generator: 'aunce synth',
      profile,
      seed,
      labelNoise: opts.labelNoise,
      flippedLabels: labels.flipped,
      subtlety: opts.subtlety,
      sequenceLength: opts.sequenceLength,
      ...(opts.align ? { aligned: { enlarge: opts.align, procedure: 'DATASETS.md, alignment from 49 inner landmarks' } } : {}),
      targetRates: aus.map((a) => TABLE_I[profile][a as (typeof ALL_AUS)[number]]! / 100),
      rateSource: 'AUNCE paper, Table I (training-set occurrence rates)',
    },
  };
  return { opts, meta, sequences, subjects, neutral: subjects.map(neutralLandmarks), labels, looks, ids };
}

/** Renders frame i of a plan as a native frame (labels, clean labels, 68 landmarks, image). */
export function renderSynthFrame(plan: SynthPlan, i: number): NativeFrame {
  const { labels, ids, opts } = plan;
  if (!Number.isInteger(i) || i < 0 || i >= labels.n) throw new RangeError(`synth: frame ${i} is out of range [0, ${labels.n})`);
  const subject = ids[3 * i]!;
  const U = ALL_AUS.length, A = labels.aus.length;
  const face = renderFace(plan.subjects[subject]!, plan.neutral[subject]!, labels.intensity.subarray(i * U, (i + 1) * U), plan.looks[i]!, opts.size, opts.subtlety, hash(opts.seed, 0xf7, i));
  if (opts.align) {
    // the CPU form of the GPU warp (src/ops/warp.ts): the synthetic renderer runs without a device
    const m = alignmentMatrix(to49(face.landmarks), opts.size, opts.align);
    face.image = roundPixels(warpAffineRef(face.image, 1, opts.size, opts.size, [matrixRows(m)], opts.size, opts.size));
    face.landmarks = Float32Array.from(transformPoints(m, face.landmarks));
  }
  return {
    subject,
    sequence: ids[3 * i + 1]!,
    frame: ids[3 * i + 2]!,
    labels: labels.labels.slice(i * A, (i + 1) * A),
    mask: new Uint8Array(A).fill(1),
    clean: labels.clean.slice(i * A, (i + 1) * A),
    landmarks: face.landmarks,
    image: face.image,
  };
}

/** All frames of a synthetic dataset, rendered in memory one at a time. */
export function* synthFrames(options: SynthOptions | SynthPlan): Generator<NativeFrame> {
  const plan = 'labels' in options ? options : planSynth(options);
  for (let i = 0; i < plan.labels.n; i++) yield renderSynthFrame(plan, i);
}

/** Renders and writes a synthetic dataset in the native format. */
export async function writeSynth(
  options: SynthOptions | SynthPlan,
  dir: string,
  opts: { overwrite?: boolean; onFrame?: (done: number, total: number) => void } = {},
): Promise<NativeManifest> {
  const plan = 'labels' in options ? options : planSynth(options);
  const w = await NativeWriter.create(dir, plan.meta, { overwrite: opts.overwrite });
  for (let i = 0; i < plan.labels.n; i++) {
    await w.write(renderSynthFrame(plan, i));
    opts.onFrame?.(i + 1, plan.labels.n);
  }
  return w.close();
}
