/**
 * `aunce augment-preview --input <native dir | PNG> --out grid.png`: draws N augmented views of
 * the first M images with a recipe (src/data/augment.ts, on the GPU) and writes a PNG grid, one row
 * per image: the original, then its views (normalisation undone for display). Prints one JSON line
 * describing what was written, with every view's parameters.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { PNG } from 'pngjs';
import { augment, drawViews, RECIPES, recipePlan, type ViewParams } from '../data/augment.js';
import { NativeReader } from '../data/native.js';
import { packRgb } from '../ops/warp.js';
import type { Device } from '../runtime/device.js';
import { openDevice } from '../runtime/node_gpu.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import { intArg } from './args.js';

export interface PreviewOptions {
  input: string;
  out: string;
  recipe: string;
  views: number;
  images: number;
  seed: number;
  device?: Device;
}

export interface PreviewResult {
  out: string;
  recipe: string;
  seed: number;
  images: number;
  views: number;
  inputSize: [number, number];
  viewSize: number;
  grid: [number, number];
  params: ViewParams[];
}

const GAP = 4;
const BACKGROUND = 32;

/** The first `count` images of a native dataset, or the one image of a PNG file: RGB bytes [B, H, W, 3]. */
async function loadImages(input: string, count: number): Promise<{ rgb: Uint8Array; B: number; H: number; W: number }> {
  const info = await stat(input).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`augment-preview: cannot read --input ${input} (${e.code ?? e.message})`);
  });
  if (info.isDirectory()) {
    const reader = await NativeReader.open(input);
    try {
      const B = Math.min(count, reader.length);
      if (B === 0) throw new Error(`augment-preview: ${input} holds no frames`);
      const S = reader.manifest.meta.imageSize;
      const rgb = new Uint8Array(B * S * S * 3);
      for (let i = 0; i < B; i++) rgb.set((await reader.get(i)).image, i * S * S * 3);
      return { rgb, B, H: S, W: S };
    } finally {
      await reader.close();
    }
  }
  const bytes = await readFile(input);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (err) {
    throw new Error(`augment-preview: ${input} is neither a native dataset folder nor a readable PNG (${(err as Error).message})`);
  }
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) rgb.set(png.data.subarray(4 * i, 4 * i + 3), 3 * i);
  return { rgb, B: 1, H: png.height, W: png.width };
}

export async function runPreview(o: PreviewOptions): Promise<PreviewResult> {
  const recipe = RECIPES[o.recipe];
  if (!recipe) throw new Error(`augment-preview: unknown recipe '${o.recipe}' (have ${Object.keys(RECIPES).join(', ')})`);
  const { rgb, B, H, W } = await loadImages(o.input, o.images);
  const plan = recipePlan(recipe, H, W);
  const S = plan.size;
  // views of image b are rows k * B + b
  const params = drawViews(recipe, new Rng(o.seed), B, H, W, o.views);
  const device = o.device ?? (await openDevice());
  let views: Float32Array;
  try {
    const img = Tensor.from(device, packRgb(rgb), [B, H, W], { dtype: 'i32' });
    const y = augment(img, params, plan);
    views = await y.toFloat32();
    img.dispose();
    y.dispose();
  } finally {
    if (!o.device) device.destroy();
  }
  const cell = Math.max(H, W, S);
  const gw = (o.views + 1) * (cell + GAP) + GAP;
  const gh = B * (cell + GAP) + GAP;
  const png = new PNG({ width: gw, height: gh });
  png.data.fill(BACKGROUND);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  const put = (cx: number, cy: number, x: number, y: number, c: number, v: number) => {
    png.data[((cy + y) * gw + cx + x) * 4 + c] = v;
  };
  for (let b = 0; b < B; b++) {
    const top = GAP + b * (cell + GAP);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) put(GAP, top, x, y, c, rgb[((b * H + y) * W + x) * 3 + c]!);
    for (let k = 0; k < o.views; k++) {
      const base = (k * B + b) * 3 * S * S;
      const left = GAP + (k + 1) * (cell + GAP);
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < S * S; i++) {
          const v = views[base + c * S * S + i]! * plan.std[c]! + plan.mean[c]!;
          put(left, top, i % S, Math.floor(i / S), c, Math.round(Math.min(1, Math.max(0, v)) * 255));
        }
      }
    }
  }
  await writeFile(o.out, PNG.sync.write(png));
  return { out: o.out, recipe: recipe.name, seed: o.seed, images: B, views: o.views, inputSize: [H, W], viewSize: S, grid: [gw, gh], params };
}


export function augmentPreviewCommand(): Command {
  return new Command('augment-preview')
    .description('write a PNG grid of augmented views (GPU): one row per image, the original then N views')
    .requiredOption('--input <path>', 'a native dataset folder or a PNG image')
    .requiredOption('--out <file>', 'the PNG to write')
    .option('--recipe <name>', `augmentation recipe (${Object.keys(RECIPES).join(', ')})`, 'released')
    .option('--views <N>', 'views per image', intArg('--views', 1), 4)
    .option('--images <M>', 'images from a native dataset (first M frames)', intArg('--images', 1), 4)
    .option('--seed <n>', 'seed of the random parameters', intArg('--seed', 0), 0)
    .action(async (o: PreviewOptions) => {
      const r = await runPreview(o);
      process.stdout.write(`${JSON.stringify({ ...r, params: undefined })}\n`);
    });
}
