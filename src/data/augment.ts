/**
 * Two-view augmentation on the GPU (kernels/augment.wgsl), with the random parameters drawn on the
 * CPU from a seeded Rng (src/util/rng.ts), so a seed reproduces a batch exactly and the float64
 * reference (src/ref/augment.ts) can run on identical parameters.
 *
 * Two recipes (AUNCE_SPEC.md §6.2):
 * - RELEASED: the released code's `image_train_enhance`: PlaceCrop 224 of 256 at offsets
 *   U{0..32} (scaled to the image: crop round(min(H, W) * 224 / 256), no resize), flip p 0.5,
 *   ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale p 0.2, Gaussian blur kernel 3 with
 *   sigma ~ U(0.1, 2.0) always, Normalize with CIFAR-10 statistics.
 * - SIMCLR: what the paper describes after SimCLR (Chen et al. 2020, appendix A): random resized
 *   crop (area 0.08-1, aspect 3/4-4/3, torchvision's 10 tries then centre fallback) resized to the
 *   same output size, flip p 0.5, ColorJitter(0.8, 0.8, 0.8, 0.2) with p 0.8, grayscale p 0.2,
 *   blur p 0.5 with kernel 10% of the size (odd) and sigma ~ U(0.1, 2.0); normalised with the same
 *   CIFAR statistics as the code, so the two recipes differ only in their augmentations.
 * Jitter follows torchvision's semantics: a random order of the four ops (a permutation drawn first),
 * then factors brightness, contrast, saturation ~ U[max(0, 1 - x), 1 + x], hue ~ U[-h, h].
 * Values stay float in [0, 1] between steps (torchvision's tensor path; its PIL path rounds to
 * uint8 after each op); the resize is plain bilinear without antialiasing.
 *
 * Layout: images i32 [B, H, W] packed RGB (src/ops/warp.ts packRgb); output f32 [V, 3, S, S]. With
 * twoViews, V = 2B and rows 0..B-1 are view 1 of images 0..B-1, rows B..2B-1 view 2 (the [N, K, D]
 * layout of the losses). Data-pipeline op: no gradient.
 */
import { kernel, checkInputs, grid1d } from '../ops/support.js';
import type { AugmentPlan, ViewParams } from '../ref/augment.js';
import { shapeStr } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';

export type { AugmentPlan, ViewParams } from '../ref/augment.js';

const FILE = 'augment.wgsl';
const WG = 256;
const MEAN_WG = 64;
const P_STRIDE = 16;

export const CIFAR_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR_STD = [0.2023, 0.1994, 0.201] as const;

export interface AugmentRecipe {
  name: string;
  crop: { kind: 'place'; fraction: number } | { kind: 'resized'; fraction: number; scale: [number, number]; ratio: [number, number] };
  flipP: number;
  jitter: { p: number; brightness: number; contrast: number; saturation: number; hue: number };
  grayP: number;
  /** kernel: a fixed size, or 'tenth' = 10% of the output size made odd */
  blur: { p: number; kernel: number | 'tenth'; sigma: [number, number] };
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const RELEASED_RECIPE: AugmentRecipe = {
  name: 'released',
  crop: { kind: 'place', fraction: 224 / 256 },
  flipP: 0.5,
  jitter: { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
  grayP: 0.2,
  blur: { p: 1, kernel: 3, sigma: [0.1, 2.0] },
  mean: CIFAR_MEAN,
  std: CIFAR_STD,
};

export const SIMCLR_RECIPE: AugmentRecipe = {
  name: 'simclr',
  crop: { kind: 'resized', fraction: 224 / 256, scale: [0.08, 1], ratio: [3 / 4, 4 / 3] },
  flipP: 0.5,
  jitter: { p: 0.8, brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 },
  grayP: 0.2,
  blur: { p: 0.5, kernel: 'tenth', sigma: [0.1, 2.0] },
  mean: CIFAR_MEAN,
  std: CIFAR_STD,
};

export const RECIPES: Readonly<Record<string, AugmentRecipe>> = { released: RELEASED_RECIPE, simclr: SIMCLR_RECIPE };

/** The output size and blur radius a recipe gives for H x W inputs. */
export function recipePlan(recipe: AugmentRecipe, H: number, W: number): AugmentPlan {
  const size = Math.max(1, Math.round(Math.min(H, W) * recipe.crop.fraction));
  let k = recipe.blur.kernel === 'tenth' ? Math.floor(0.1 * size) : recipe.blur.kernel;
  if (k % 2 === 0) k += 1;
  const radius = Math.min((k - 1) / 2, size - 1);
  return { size, radius, mean: recipe.mean, std: recipe.std };
}

/** torch.randperm(4) equivalent (Fisher-Yates on the Rng). */
function permutation4(rng: Rng): [number, number, number, number] {
  const p = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p as [number, number, number, number];
}

/** torchvision RandomResizedCrop.get_params: [x0, y0, w, h]. */
function resizedCrop(rng: Rng, H: number, W: number, scale: [number, number], ratio: [number, number]): [number, number, number, number] {
  const area = H * W;
  const [lr0, lr1] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let t = 0; t < 10; t++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(lr0, lr1));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H) return [rng.int(W - w + 1), rng.int(H - h + 1), w, h];
  }
  const inRatio = W / H;
  let [w, h] = [W, H];
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return [Math.floor((W - w) / 2), Math.floor((H - h) / 2), w, h];
}

/** Draws one view's parameters for image `image` of size H x W. Every draw happens whatever the branch. */
export function drawView(recipe: AugmentRecipe, rng: Rng, image: number, H: number, W: number): ViewParams {
  let crop: ViewParams['crop'];
  if (recipe.crop.kind === 'place') {
    const c = Math.max(1, Math.round(Math.min(H, W) * recipe.crop.fraction));
    crop = [rng.int(W - c + 1), rng.int(H - c + 1), c, c];
  } else {
    crop = resizedCrop(rng, H, W, recipe.crop.scale, recipe.crop.ratio);
  }
  const flip = rng.next() < recipe.flipP;
  const applyJitter = rng.next() < recipe.jitter.p;
  const j = recipe.jitter;
  const order = permutation4(rng);
  const factor = (x: number) => rng.uniform(Math.max(0, 1 - x), 1 + x);
  const brightness = factor(j.brightness);
  const contrast = factor(j.contrast);
  const saturation = factor(j.saturation);
  const hue = rng.uniform(-j.hue, j.hue);
  const gray = rng.next() < recipe.grayP;
  const blurOn = rng.next() < recipe.blur.p;
  const sigma = rng.uniform(recipe.blur.sigma[0], recipe.blur.sigma[1]);
  return {
    image,
    crop,
    flip,
    jitter: applyJitter ? { order, brightness, contrast, saturation, hue } : null,
    gray,
    sigma: blurOn ? sigma : 0,
  };
}

/** Parameters of `viewsPerImage` views of each of B images: view k of image b is row k * B + b. */
export function drawViews(recipe: AugmentRecipe, rng: Rng, B: number, H: number, W: number, viewsPerImage = 2): ViewParams[] {
  const out: ViewParams[] = [];
  for (let k = 0; k < viewsPerImage; k++) for (let b = 0; b < B; b++) out.push(drawView(recipe, rng, b, H, W));
  return out;
}

function checkView(v: ViewParams, k: number, B: number, H: number, W: number): void {
  const bad = (what: string) => new RangeError(`augment: view ${k}: ${what} (images [${B}, ${H}, ${W}])`);
  if (!Number.isInteger(v.image) || v.image < 0 || v.image >= B) throw bad(`image ${v.image} is out of range`);
  const [x0, y0, w, h] = v.crop;
  if (![x0, y0, w, h].every(Number.isInteger) || w < 1 || h < 1 || x0 < 0 || y0 < 0 || x0 + w > W || y0 + h > H) {
    throw bad(`crop [${v.crop.join(', ')}] is not a whole-pixel rectangle inside the image`);
  }
  if (!(v.sigma >= 0) || !Number.isFinite(v.sigma)) throw bad(`sigma ${v.sigma} must be >= 0`);
  if (v.jitter) {
    const j = v.jitter;
    if ([...j.order].sort().join() !== '0,1,2,3') throw bad(`jitter order [${j.order.join(', ')}] is not a permutation of 0..3`);
    if (![j.brightness, j.contrast, j.saturation].every((f) => f >= 0 && Number.isFinite(f)) || !Number.isFinite(j.hue)) {
      throw bad('jitter factors must be finite, brightness/contrast/saturation >= 0');
    }
  }
}

/** The 16 floats per view that kernels/augment.wgsl reads. */
export function packViews(views: readonly ViewParams[]): Float32Array {
  const p = new Float32Array(Math.max(1, views.length) * P_STRIDE);
  views.forEach((v, k) => {
    const o = k * P_STRIDE;
    p.set([v.image, ...v.crop, v.flip ? 1 : 0], o);
    if (v.jitter) {
      const j = v.jitter;
      p.set([1, j.order[0] + 4 * j.order[1] + 16 * j.order[2] + 64 * j.order[3], j.brightness, j.contrast, j.saturation, j.hue], o + 6);
    }
    p[o + 12] = v.gray ? 1 : 0;
    p[o + 13] = v.sigma;
  });
  return p;
}

/** Runs the augmentation for the given views: f32 [V, 3, S, S], normalised. */
export function augment(images: Tensor, views: readonly ViewParams[], plan: AugmentPlan): Tensor {
  const device = checkInputs('augment', [images], 'i32');
  if (images.rank !== 3) throw new RangeError(`augment: images must be [B, H, W] packed RGB, got ${shapeStr(images.shape)}`);
  const [B, H, W] = images.shape as [number, number, number];
  const S = plan.size;
  if (!Number.isInteger(S) || S < 1) throw new RangeError(`augment: output size must be a whole number >= 1, got ${S}`);
  if (!Number.isInteger(plan.radius) || plan.radius < 0 || (plan.radius > 0 && plan.radius >= S)) {
    throw new RangeError(`augment: blur radius ${plan.radius} must be a whole number below the output size ${S}`);
  }
  if (!plan.std.every((s) => s > 0)) throw new RangeError(`augment: std [${plan.std.join(', ')}] must be positive`);
  const maxViews = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (views.length > maxViews) throw new RangeError(`augment: ${views.length} views exceed ${maxViews} per call`);
  views.forEach((v, k) => checkView(v, k, B, H, W));
  const V = views.length;
  const out = Tensor.empty(device, [V, 3, S, S]);
  if (V === 0) return out;
  const total = V * S * S;
  const uniforms = {
    ap: {
      views: V, in_h: H, in_w: W, size: S, radius: plan.radius, total,
      mean_r: plan.mean[0], mean_g: plan.mean[1], mean_b: plan.mean[2],
      std_r: plan.std[0], std_g: plan.std[1], std_b: plan.std[2],
    },
  };
  const vp = Tensor.from(device, packViews(views), [Math.max(1, V) * P_STRIDE]);
  const means = Tensor.empty(device, [V]);
  const col = Tensor.empty(device, [V, 3, S, S]);
  const tmp = Tensor.empty(device, [V, 3, S, S]);
  device.dispatch(kernel(device, FILE, 'contrast_mean', { MEAN_WG }), {
    buffers: { src_px: images.buffer, vp: vp.buffer, means: means.buffer },
    uniforms,
    workgroups: V,
  });
  device.dispatch(kernel(device, FILE, 'colour', { WG }), {
    buffers: { src_px: images.buffer, vp: vp.buffer, means_in: means.buffer, col: col.buffer },
    uniforms,
    workgroups: grid1d(device, total, WG),
  });
  device.dispatch(kernel(device, FILE, 'blur_h', { WG }), {
    buffers: { col_in: col.buffer, vp: vp.buffer, tmp: tmp.buffer },
    uniforms,
    workgroups: grid1d(device, total, WG),
  });
  device.dispatch(kernel(device, FILE, 'blur_v', { WG }), {
    buffers: { tmp_in: tmp.buffer, vp: vp.buffer, views_out: out.buffer },
    uniforms,
    workgroups: grid1d(device, total, WG),
  });
  for (const t of [vp, means, col, tmp]) t.dispose();
  return out;
}

/** Two views of every image with a recipe: { views: f32 [2B, 3, S, S], params, plan }. */
export function twoViews(images: Tensor, recipe: AugmentRecipe, rng: Rng): { views: Tensor; params: ViewParams[]; plan: AugmentPlan } {
  if (images.rank !== 3) throw new RangeError(`twoViews: images must be [B, H, W] packed RGB, got ${shapeStr(images.shape)}`);
  const [B, H, W] = images.shape as [number, number, number];
  const plan = recipePlan(recipe, H, W);
  const params = drawViews(recipe, rng, B, H, W, 2);
  return { views: augment(images, params, plan), params, plan };
}
