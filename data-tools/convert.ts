/**
 * Convert a dataset as distributed (labels + extracted frame images) into the native format of
 * src/data/native.ts: labels with their missing-mask, subject/sequence/frame ids, folds as subject
 * indices (folds[f] = test subjects of fold f+1), and S x S RGB images.
 *
 * Geometry: DISFA's landmark files (MATLAB v5, 66 points) are read when `Landmark_Points` is there,
 * and each frame is aligned from its 49 inner points (src/data/align.ts; CPU bilinear warp, grey
 * border); the aligned 49 points are stored. Otherwise (BP4D's landmarks are MATLAB v7.3 = HDF5 and
 * not read; Aff-Wild2's frames are already aligned; GFT ships none) every frame is the centre square
 * of its image resampled to S, landmarks are 0, and the manifest's `extra.alignment` says which.
 *
 * Frames stream one at a time; the writer renames each shard into place when complete and writes the
 * manifest last, so an interrupted run never leaves a dataset that looks complete.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import {
  DatasetError, droppedCounts, foldSubjects, isDir, isFile, readDataset, selectFrames, splitWhere,
  type DatasetName, type LabelledFrame, type Selection,
} from '../src/data/datasets/index.js';
import { NativeWriter, type NativeManifest } from '../src/data/native.js';
import { alignFace } from '../src/data/align.js';
import { centreSquare, readImage, warpAffine, type RgbImage } from './images.js';
import { readMat5 } from './mat5.js';

export interface ConvertOptions extends Selection {
  root: string;
  out: string;
  /** where the frame images are (default: root) */
  images?: string;
  /** output image side (default 256) */
  size?: number;
  skipBad?: boolean;
  /** DISFA intensity threshold (default 2) */
  threshold?: number;
  imagePattern?: string;
  overwrite?: boolean;
  framesPerShard?: number;
  /** 'auto' (default): align from landmarks where the dataset's landmark files are there; 'none': centre crop */
  landmarks?: 'auto' | 'none';
  /** alignment box enlargement (default 2.9, DATASETS.md) */
  enlarge?: number;
  /** show a progress bar on stderr (default: when stderr is a terminal) */
  progress?: boolean;
}

export interface ConvertResult {
  manifest: NativeManifest;
  skipped: Record<string, number>;
  dropped: Record<string, number>;
}

const ALIGNMENT = 'none: centre square of each frame resampled to imageSize (landmark files are not read)';

/**
 * DISFA's landmark file of a frame (label row t = image t-1 = landmark file t-1, inferred):
 * `Landmark_Points/SN001/tmp_frame_lm/SN001_0000_lm.mat`, or `l0NNNN_lm.mat` in some subjects.
 */
function disfaLandmarkFile(dir: string, f: LabelledFrame): string | null {
  const n = String(f.frame - 1).padStart(4, '0');
  for (const sub of ['tmp_frame_lm', '.']) {
    for (const name of [`${f.subject}_${n}_lm.mat`, `l0${n}_lm.mat`]) {
      const p = join(dir, f.subject, sub, name);
      if (isFile(p)) return p;
    }
  }
  return null;
}

/** Flat xy points from a MAT variable of N x 2 (column-major) or 2 x N. */
async function readPoints(file: string): Promise<Float64Array> {
  const vars = readMat5(new Uint8Array(await readFile(file)), file);
  const pts = vars.get('pts');
  if (!pts) throw new Error(`${file}: no variable pts (found ${[...vars.keys()].join(', ') || 'none'})`);
  const [r, c] = pts.dims;
  const out = new Float64Array(pts.data.length);
  if (c === 2 && pts.dims.length === 2) for (let i = 0; i < r!; i++) [out[2 * i], out[2 * i + 1]] = [pts.data[i]!, pts.data[r! + i]!];
  else if (r === 2 && pts.dims.length === 2) out.set(pts.data);
  else throw new Error(`${file}: pts is ${pts.dims.join('x')}, expected N x 2`);
  return out;
}

/** A DISFA root with videos but no extracted frames: say what to do instead of failing per frame. */
function videoOnlyCheck(name: DatasetName, images: string, frames: LabelledFrame[]): void {
  if (name !== 'disfa' || frames.length === 0) return;
  const first = frames[0]!;
  if (isDir(join(images, first.subject))) return;
  const video = join(images, 'Videos_LeftCamera', `LeftVideo${first.subject}_comp.avi`);
  const hint = isFile(video) ? ` Only the video ${video} is there: this project has no video decoder (none installs here without downloading a binary).` : '';
  throw new DatasetError(join(images, first.subject), 0, 'images', 'no image',
    `DISFA: no frame folder for ${first.subject} (expected ${first.subject}/0.png ...).${hint} Extract the frames first, e.g. ` +
    `ffmpeg -i LeftVideo${first.subject}_comp.avi -start_number 0 ${first.subject}/%d.png`);
}

export async function convertDataset(name: DatasetName, o: ConvertOptions): Promise<ConvertResult> {
  const size = o.size ?? 256;
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw new RangeError(`convert: --size must be an integer 8-1024, got ${size}`);
  if (!o.overwrite && isFile(join(o.out, 'manifest.json'))) throw new RangeError(`convert: ${o.out} already holds a native dataset (manifest.json): pass --overwrite to replace it`);
  const images = o.images ?? o.root;
  const ds = readDataset(name, o.root, { skipBad: o.skipBad, threshold: o.threshold, imagePattern: o.imagePattern });
  const sel: Selection = { fold: o.fold, split: o.split };
  const frames = selectFrames(ds, sel, o.skipBad);
  if (frames.length === 0) throw new RangeError(`convert: ${name}: no labelled frames under ${o.root}${o.split ? ` in fold ${o.fold ?? 1} ${o.split}` : ''}`);
  videoOnlyCheck(name, images, frames);

  const lmDir = join(o.root, 'Landmark_Points');
  const aligned = name === 'disfa' && o.landmarks !== 'none' && isDir(lmDir);
  const enlarge = o.enlarge ?? 2.9;
  if (!(enlarge > 0)) throw new RangeError(`convert: --enlarge must be positive, got ${enlarge}`);

  const keep = foldSubjects(ds.protocol, sel, name);
  const present = new Set(frames.map((f) => f.subject));
  const subjects = ds.protocol.subjects.filter((s) => keep.has(s) && present.has(s));
  for (const s of [...present].sort()) if (!subjects.includes(s)) subjects.push(s);
  const index = new Map(subjects.map((s, i) => [s, i]));
  const sequences = [...new Set(frames.map((f) => f.sequence))];
  const seqIndex = new Map(sequences.map((s, i) => [s, i]));
  const folds = ds.protocol.folds.map((test) => test.filter((s) => index.has(s)).map((s) => index.get(s)!));

  const writer = await NativeWriter.create(o.out, {
    dataset: name,
    aus: ds.aus,
    imageSize: size,
    landmarks: aligned ? 49 : 0,
    subjects,
    folds,
    framesPerShard: o.framesPerShard,
    extra: {
      alignment: aligned ? `49-point similarity alignment (src/data/align.ts) from ${lmDir}, enlarge ${enlarge}, grey border` : ALIGNMENT,
      sequences,
      images: 'frame image paths are relative to the images root',
      ...(name === 'disfa' ? { threshold: o.threshold ?? 2 } : {}),
      ...(o.split ? { selection: { fold: o.fold ?? 1, split: o.split } } : {}),
    },
  }, { overwrite: o.overwrite });

  const bar = (o.progress ?? process.stderr.isTTY) ? new SingleBar({ format: `convert ${name} [{bar}] {value}/{total} frames, {eta_formatted} left`, stream: process.stderr }) : null;
  bar?.start(frames.length, 0);
  const skipped = ds.skipped;
  try {
    for (const f of frames) {
      const file = join(images, f.image);
      const [labelFile, line] = splitWhere(f.where);
      let pixels: Uint8Array;
      let landmarks = new Float32Array(0);
      try {
        if (!isFile(file)) throw new DatasetError(labelFile, line, 'image', 'no image', `the frame's image ${file} does not exist`);
        let img: RgbImage;
        try {
          img = await readImage(file);
        } catch (err) {
          throw new DatasetError(labelFile, line, 'image', 'bad image', (err as Error).message);
        }
        if (aligned) {
          const lm = disfaLandmarkFile(lmDir, f);
          if (!lm) throw new DatasetError(labelFile, line, 'landmarks', 'no landmarks', `no landmark file for ${f.subject} frame ${f.frame} (expected ${f.subject}/tmp_frame_lm/${f.subject}_${String(f.frame - 1).padStart(4, '0')}_lm.mat under ${lmDir})`);
          let face: ReturnType<typeof alignFace>;
          try {
            face = alignFace(await readPoints(lm), size, enlarge, true);
          } catch (err) {
            throw new DatasetError(labelFile, line, 'landmarks', 'bad landmarks', `${lm}: ${(err as Error).message}`);
          }
          pixels = warpAffine(img, face.matrix, size);
          landmarks = Float32Array.from(face.landmarks);
        } else {
          pixels = centreSquare(img, size);
        }
      } catch (err) {
        if (!(err instanceof DatasetError) || !o.skipBad) throw err;
        skipped[err.reason] = (skipped[err.reason] ?? 0) + 1;
        bar?.increment();
        continue;
      }
      await writer.write({
        subject: index.get(f.subject)!,
        sequence: seqIndex.get(f.sequence)!,
        frame: f.frame,
        labels: f.labels,
        mask: f.mask,
        landmarks,
        image: pixels,
      });
      bar?.increment();
    }
  } finally {
    bar?.stop();
  }
  const manifest = await writer.close();
  return { manifest, skipped, dropped: droppedCounts(ds, sel) };
}
