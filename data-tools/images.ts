/**
 * Image decoding for the converters (JPEG through jpeg-js, PNG through pngjs, both pure JavaScript)
 * and the fallback geometry when no landmarks are read: the centre square of the image, resampled to
 * S x S (box average when shrinking, bilinear when enlarging).
 */
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3, row-major RGB */
  data: Uint8Array;
}

/** Largest decoded image accepted, in megapixels (jpeg-js's guard against hostile files). */
const MAX_MEGAPIXELS = 64;

function rgbaToRgb(width: number, height: number, rgba: Uint8Array): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    data[3 * i] = rgba[j]!;
    data[3 * i + 1] = rgba[j + 1]!;
    data[3 * i + 2] = rgba[j + 2]!;
  }
  return { width, height, data };
}

/** Decode a JPEG or PNG by its signature (not its extension). Throws an Error naming the file. */
export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return rgbaToRgb(png.width, png.height, png.data);
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS });
      return rgbaToRgb(img.width, img.height, img.data);
    }
  } catch (err) {
    throw new Error(`${file}: cannot decode the image (${(err as Error).message})`);
  }
  throw new Error(`${file}: not a JPEG or PNG (unknown signature)`);
}

export async function readImage(file: string): Promise<RgbImage> {
  return decodeImage(new Uint8Array(await readFile(file)), file);
}

/**
 * The centre square of `img` resampled to size x size. Each output pixel averages the source pixels
 * its footprint covers when shrinking, and interpolates bilinearly when enlarging.
 */
export function centreSquare(img: RgbImage, size: number): Uint8Array {
  const side = Math.min(img.width, img.height);
  const x0 = Math.floor((img.width - side) / 2);
  const y0 = Math.floor((img.height - side) / 2);
  const out = new Uint8Array(size * size * 3);
  const scale = side / size;
  const at = (x: number, y: number, c: number) => img.data[((y0 + y) * img.width + x0 + x) * 3 + c]!;
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      for (let c = 0; c < 3; c++) {
        let v: number;
        if (scale > 1) {
          const xa = Math.floor(ox * scale);
          const xb = Math.max(xa + 1, Math.floor((ox + 1) * scale));
          const ya = Math.floor(oy * scale);
          const yb = Math.max(ya + 1, Math.floor((oy + 1) * scale));
          let sum = 0;
          for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) sum += at(x, y, c);
          v = sum / ((xb - xa) * (yb - ya));
        } else {
          const sx = Math.min(side - 1, Math.max(0, (ox + 0.5) * scale - 0.5));
          const sy = Math.min(side - 1, Math.max(0, (oy + 0.5) * scale - 0.5));
          const xi = Math.floor(sx);
          const yi = Math.floor(sy);
          const fx = sx - xi;
          const fy = sy - yi;
          const x1 = Math.min(xi + 1, side - 1);
          const y1 = Math.min(yi + 1, side - 1);
          v = (1 - fy) * ((1 - fx) * at(xi, yi, c) + fx * at(x1, yi, c)) + fy * ((1 - fx) * at(xi, y1, c) + fx * at(x1, y1, c));
        }
        out[(oy * size + ox) * 3 + c] = Math.round(v);
      }
    }
  }
  return out;
}

/**
 * The image seen through a 2x3 row matrix (source -> output pixels, as src/data/align.ts gives it):
 * each output pixel samples the source bilinearly at the inverse-mapped point; outside the source it
 * is grey (128), as in the JAA-Net-style alignment. CPU, for the converters.
 */
export function warpAffine(img: RgbImage, m: readonly (readonly number[])[], size: number): Uint8Array {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const det = a! * e! - b! * d!;
  if (!(Math.abs(det) > 0)) throw new RangeError('warpAffine: the matrix is singular');
  // inverse of [[a, b], [d, e]] and the translation
  const ia = e! / det;
  const ib = -b! / det;
  const id = -d! / det;
  const ie = a! / det;
  const out = new Uint8Array(size * size * 3).fill(128);
  const { width: W, height: H, data } = img;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const x = ia * (u - c!) + ib * (v - f!);
      const y = id * (u - c!) + ie * (v - f!);
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      for (let ch = 0; ch < 3; ch++) {
        const px = (xx: number, yy: number) => (xx >= 0 && xx < W && yy >= 0 && yy < H ? data[(yy * W + xx) * 3 + ch]! : 128);
        const val = (1 - fy) * ((1 - fx) * px(x0, y0) + fx * px(x0 + 1, y0)) + fy * ((1 - fx) * px(x0, y0 + 1) + fx * px(x0 + 1, y0 + 1));
        out[(v * size + u) * 3 + ch] = Math.round(val);
      }
    }
  }
  return out;
}
