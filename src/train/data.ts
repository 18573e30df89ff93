/**
 * Training data in memory: the frames of one split of a native dataset (src/data/native.ts), with
 * images packed one pixel per i32 (r | g << 8 | b << 16, as the augmentation kernels read them),
 * labels and missing-label masks; seeded epoch orders; and the centre-crop transform used to
 * evaluate (no augmentation: crop, resize to the encoder's size, normalise).
 */
import type { NativeReader } from '../data/native.js';
import { augment, CIFAR_MEAN, CIFAR_STD, type AugmentPlan, type ViewParams } from '../data/augment.js';
import type { Device } from '../runtime/device.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';

export interface SplitData {
  /** frames in this split */
  n: number;
  /** AU numbers, in label order */
  aus: number[];
  /** image side S */
  size: number;
  /** [n][S*S] packed RGB */
  pixels: Int32Array[];
  /** [n*K] 0/1 */
  labels: Uint8Array;
  /** [n*K] 1 = labelled */
  mask: Uint8Array;
  /** subject index per frame */
  subjects: Int32Array;
}

export function packRgbImage(rgb: Uint8Array): Int32Array {
  const out = new Int32Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) out[i] = rgb[3 * i]! | (rgb[3 * i + 1]! << 8) | (rgb[3 * i + 2]! << 16);
  return out;
}

/** Loads every frame of `fold`/`split` (all frames without them) into memory. */
export async function loadSplit(reader: NativeReader, opts: { fold?: number; split?: 'train' | 'test'; subjects?: ReadonlySet<number> } = {}): Promise<SplitData> {
  const meta = reader.manifest.meta;
  const K = meta.aus.length;
  const idx = reader.indices(opts.fold === undefined ? {} : { fold: opts.fold, split: opts.split });
  const frames = [];
  for (const i of idx) {
    const f = await reader.get(i);
    if (opts.subjects && !opts.subjects.has(f.subject)) continue;
    frames.push(f);
  }
  const n = frames.length;
  const labels = new Uint8Array(n * K);
  const mask = new Uint8Array(n * K);
  const subjects = new Int32Array(n);
  const pixels = frames.map((f, i) => {
    labels.set(f.labels, i * K);
    mask.set(f.mask, i * K);
    subjects[i] = f.subject;
    return packRgbImage(f.image);
  });
  return { n, aus: [...meta.aus], size: meta.imageSize, pixels, labels, mask, subjects };
}

/** A subset of a split by frame indices (copies the label rows, shares the pixels). */
export function subsetSplit(d: SplitData, keep: readonly number[]): SplitData {
  const K = d.aus.length;
  const labels = new Uint8Array(keep.length * K);
  const mask = new Uint8Array(keep.length * K);
  keep.forEach((i, j) => {
    labels.set(d.labels.subarray(i * K, (i + 1) * K), j * K);
    mask.set(d.mask.subarray(i * K, (i + 1) * K), j * K);
  });
  return { ...d, n: keep.length, pixels: keep.map((i) => d.pixels[i]!), labels, mask, subjects: Int32Array.from(keep, (i) => d.subjects[i]!) };
}

/** Frames whose every AU is labelled (the contrastive loss needs a 0/1 label per AU). */
export function fullyLabelled(d: SplitData): number[] {
  const K = d.aus.length;
  const out: number[] = [];
  for (let i = 0; i < d.n; i++) if (d.mask.subarray(i * K, (i + 1) * K).every((m) => m === 1)) out.push(i);
  return out;
}

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number): number[] {
  const r = new Rng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The batch of frames `ids` as an i32 tensor [B, S, S] of packed RGB. */
export function uploadImages(device: Device, d: SplitData, ids: readonly number[]): Tensor {
  const S = d.size;
  const buf = new Int32Array(ids.length * S * S);
  ids.forEach((i, j) => buf.set(d.pixels[i]!, j * S * S));
  return Tensor.from(device, buf, [ids.length, S, S], { dtype: 'i32' });
}

/** Labels of frames `ids` as [B][K] rows. */
export function labelRows(d: SplitData, ids: readonly number[]): number[][] {
  const K = d.aus.length;
  return ids.map((i) => Array.from(d.labels.subarray(i * K, (i + 1) * K)));
}

/**
 * The evaluation transform: the centre `crop` x `crop` square (the released test transform's
 * CenterCrop(224) of 256, scaled to the image size), no flip, jitter, grayscale or blur, normalised
 * with the training statistics. Output f32 [B, 3, crop, crop].
 */
export function centreCrop(images: Tensor, crop: number): Tensor {
  const [B, H, W] = images.shape as [number, number, number];
  const views: ViewParams[] = Array.from({ length: B }, (_, b) => ({
    image: b,
    crop: [Math.floor((W - crop) / 2), Math.floor((H - crop) / 2), crop, crop],
    flip: false,
    jitter: null,
    gray: false,
    sigma: 0,
  }));
  const plan: AugmentPlan = { size: crop, radius: 0, mean: [...CIFAR_MEAN] as [number, number, number], std: [...CIFAR_STD] as [number, number, number] };
  return augment(images, views, plan);
}

/** The released recipe's crop side for an image of side S: 224 of 256, scaled. */
export function cropSide(size: number): number {
  return Math.round((size * 224) / 256);
}
