/**
 * Float64 reference of the two-view augmentation (src/data/augment.ts, kernels/augment.wgsl),
 * written from the definitions torchvision documents for float images in [0, 1]:
 *   crop (+ bilinear resize, half-pixel centres, edges clamped to the crop) -> horizontal flip ->
 *   colour jitter in a given order of brightness / contrast / saturation / hue -> grayscale ->
 *   Gaussian blur (separable, reflect padding) -> (x - mean) / std per channel.
 *   brightness f: clamp(f x);  contrast f: clamp(f x + (1 - f) m), m = mean of the image's grey;
 *   saturation f: clamp(f x + (1 - f) grey(x));  hue h: rotate the HSV hue by h (mod 1);
 *   grey = 0.299 r + 0.587 g + 0.114 b;  blur weights exp(-j^2 / (2 sigma^2)), normalised.
 * Images: interleaved RGB bytes [B, H, W, 3]; results [V, 3, S, S] (channel planes), float64.
 * No imports from the runtime: an independent check of the kernels.
 */

/** Random parameters of one view, drawn on the CPU (src/data/augment.ts) and used by GPU and reference alike. */
export interface ViewParams {
  /** index of the source image in the batch */
  image: number;
  /** source rectangle [x0, y0, w, h] in whole pixels, resized to the output size */
  crop: [number, number, number, number];
  flip: boolean;
  /** colour jitter, or null when not applied */
  jitter: null | {
    /** the ops in the order applied: 0 brightness, 1 contrast, 2 saturation, 3 hue */
    order: [number, number, number, number];
    brightness: number;
    contrast: number;
    saturation: number;
    hue: number;
  };
  gray: boolean;
  /** Gaussian blur sigma; 0 = no blur */
  sigma: number;
}

/** What every view of a call shares. */
export interface AugmentPlan {
  /** output size S (square) */
  size: number;
  /** blur kernel radius (kernel size 2 r + 1) */
  radius: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const GRAY_WEIGHTS = [0.299, 0.587, 0.114] as const;

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const grey = (r: number, g: number, b: number) => GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b;

/** Crop, resize and flip of one view: planes [3, S, S] in [0, 1]. */
export function geometryRef(rgb: ArrayLike<number>, H: number, W: number, v: ViewParams, S: number): Float64Array {
  const [x0, y0, w, h] = v.crop;
  const out = new Float64Array(3 * S * S);
  const coord = (o: number, start: number, len: number) => {
    const c = start + ((o + 0.5) * len) / S - 0.5;
    return Math.min(start + len - 1, Math.max(start, c));
  };
  const px = (xi: number, yi: number, ch: number) => rgb[((v.image * H + yi) * W + xi) * 3 + ch]! / 255;
  for (let y = 0; y < S; y++) {
    const sy = coord(y, y0, h);
    const ya = Math.floor(sy);
    const yb = Math.min(ya + 1, y0 + h - 1);
    const fy = sy - ya;
    for (let x = 0; x < S; x++) {
      const sx = coord(v.flip ? S - 1 - x : x, x0, w);
      const xa = Math.floor(sx);
      const xb = Math.min(xa + 1, x0 + w - 1);
      const fx = sx - xa;
      for (let c = 0; c < 3; c++) {
        const top = (1 - fx) * px(xa, ya, c) + fx * px(xb, ya, c);
        const bottom = (1 - fx) * px(xa, yb, c) + fx * px(xb, yb, c);
        out[(c * S + y) * S + x] = (1 - fy) * top + fy * bottom;
      }
    }
  }
  return out;
}

/** RGB -> HSV, all in [0, 1]; hue 0 for greys. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const mx = Math.max(r, g, b);
  const mn = Math.min(r, g, b);
  const c = mx - mn;
  const s = mx > 0 ? c / mx : 0;
  let h = 0;
  if (c > 0) {
    if (mx === r) h = (g - b) / c;
    else if (mx === g) h = 2 + (b - r) / c;
    else h = 4 + (r - g) / c;
    h = (((h / 6) % 1) + 1) % 1;
  }
  return [h, s, mx];
}

/** HSV -> RGB: the six sectors of the hue circle. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const h6 = h * 6;
  const i = Math.floor(h6);
  const f = h6 - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (((i % 6) + 6) % 6) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

/** Colour jitter (in its order) then grayscale, in place on planes [3, S, S]. */
export function colourRef(img: Float64Array, v: ViewParams, S: number): Float64Array {
  const n = S * S;
  const j = v.jitter;
  if (j) {
    for (const op of j.order) {
      if (op === 1) {
        let m = 0;
        for (let i = 0; i < n; i++) m += grey(img[i]!, img[n + i]!, img[2 * n + i]!);
        m /= n;
        for (let i = 0; i < 3 * n; i++) img[i] = clamp01(j.contrast * img[i]! + (1 - j.contrast) * m);
        continue;
      }
      for (let i = 0; i < n; i++) {
        let [r, g, b] = [img[i]!, img[n + i]!, img[2 * n + i]!];
        if (op === 0) [r, g, b] = [r, g, b].map((x) => clamp01(j.brightness * x)) as [number, number, number];
        else if (op === 2) {
          const y = grey(r, g, b);
          [r, g, b] = [r, g, b].map((x) => clamp01(j.saturation * x + (1 - j.saturation) * y)) as [number, number, number];
        } else {
          const [h, s, val] = rgbToHsv(r, g, b);
          [r, g, b] = hsvToRgb((((h + j.hue) % 1) + 1) % 1, s, val);
        }
        [img[i], img[n + i], img[2 * n + i]] = [r, g, b];
      }
    }
  }
  if (v.gray) {
    for (let i = 0; i < n; i++) img[i] = img[n + i] = img[2 * n + i] = grey(img[i]!, img[n + i]!, img[2 * n + i]!);
  }
  return img;
}

/** Normalised Gaussian weights for offsets -r..r. */
export function gaussianWeights(sigma: number, r: number): number[] {
  const w = Array.from({ length: 2 * r + 1 }, (_, k) => Math.exp(-((k - r) ** 2) / (2 * sigma * sigma)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/** Separable Gaussian blur with reflect padding (torch 'reflect': index -1 reads 1), on planes [3, S, S]. */
export function blurRef(img: Float64Array, sigma: number, r: number, S: number): Float64Array {
  if (!(sigma > 0) || r === 0) return img;
  const w = gaussianWeights(sigma, r);
  const refl = (i: number) => (i < 0 ? -i : i >= S ? 2 * (S - 1) - i : i);
  const tmp = new Float64Array(img.length);
  const out = new Float64Array(img.length);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let a = 0;
        for (let k = -r; k <= r; k++) a += w[k + r]! * img[(c * S + y) * S + refl(x + k)]!;
        tmp[(c * S + y) * S + x] = a;
      }
    }
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let a = 0;
        for (let k = -r; k <= r; k++) a += w[k + r]! * tmp[(c * S + refl(y + k)) * S + x]!;
        out[(c * S + y) * S + x] = a;
      }
    }
  }
  return out;
}

/** The whole pipeline for every view: float64 [V, 3, S, S]. */
export function augmentRef(rgb: ArrayLike<number>, H: number, W: number, views: readonly ViewParams[], plan: AugmentPlan): Float64Array {
  const S = plan.size;
  const out = new Float64Array(views.length * 3 * S * S);
  views.forEach((v, k) => {
    const img = blurRef(colourRef(geometryRef(rgb, H, W, v, S), v, S), v.sigma, plan.radius, S);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < S * S; i++) out[(k * 3 + c) * S * S + i] = (img[c * S * S + i]! - plan.mean[c]!) / plan.std[c]!;
    }
  });
  return out;
}
