/**
 * warpAffine: bilinear warp of a batch of uint8 RGB images by one 2x3 matrix each, with a constant
 * grey border (128 by default), on the GPU (kernels/warp.wgsl). The images of aligned datasets are
 * made this way (src/data/align.ts gives the matrices).
 *
 * Image layout: an i32 tensor [B, H, W], one pixel per element packed as r | g << 8 | b << 16
 * (packRgb / unpackRgb convert from and to interleaved RGB bytes). Matrices are FORWARD maps
 * (source pixel -> output pixel, the convention of cv2.warpAffine and of `aunce align`), in 2x3 row
 * form; they are inverted on the host in float64 and uploaded as f32. Data-pipeline op: no gradient.
 */
import { shapeStr } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'warp.wgsl';
const WG = 256;

export type Matrix2x3 = readonly [readonly number[], readonly number[]] | readonly (readonly number[])[];

/** Interleaved RGB bytes (n pixels x 3) -> one i32 per pixel: r | g << 8 | b << 16. */
export function packRgb(rgb: ArrayLike<number>): Int32Array {
  if (rgb.length % 3 !== 0) throw new RangeError(`packRgb: ${rgb.length} bytes is not a whole number of RGB pixels`);
  const out = new Int32Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) out[i] = (rgb[3 * i]! & 255) | ((rgb[3 * i + 1]! & 255) << 8) | ((rgb[3 * i + 2]! & 255) << 16);
  return out;
}

/** The inverse of packRgb: interleaved RGB bytes. */
export function unpackRgb(packed: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(packed.length * 3);
  for (let i = 0; i < packed.length; i++) {
    const w = packed[i]!;
    out[3 * i] = w & 255;
    out[3 * i + 1] = (w >>> 8) & 255;
    out[3 * i + 2] = (w >>> 16) & 255;
  }
  return out;
}

/** The inverse of a forward 2x3 row matrix, as six numbers [a, b, c, d, e, f] (u = a x + b y + c, v = d x + e y + f). */
export function invertAffine(m: Matrix2x3, what = 'warpAffine'): number[] {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const vals = [a, b, c, d, e, f];
  if (m.length !== 2 || m[0]!.length !== 3 || m[1]!.length !== 3 || !vals.every((v) => Number.isFinite(v))) {
    throw new RangeError(`${what}: a matrix must be 2x3 finite numbers, got ${JSON.stringify(m)}`);
  }
  const det = a! * e! - b! * d!;
  if (!(Math.abs(det) > 1e-12)) throw new RangeError(`${what}: matrix ${JSON.stringify(m)} is singular (det ${det})`);
  const ia = e! / det;
  const ib = -b! / det;
  const id = -d! / det;
  const ie = a! / det;
  return [ia, ib, -(ia * c! + ib * f!), id, ie, -(id * c! + ie * f!)];
}

export interface WarpOptions {
  /** border value of every channel, 0..255 (default 128) */
  border?: number;
}

/** Warps each image of `images` (i32 [B, H, W], packed RGB) by its forward matrix to an outH x outW image. */
export function warpAffine(images: Tensor, matrices: readonly Matrix2x3[], outH: number, outW: number, opts: WarpOptions = {}): Tensor {
  const device = checkInputs('warpAffine', [images], 'i32');
  if (images.rank !== 3) throw new RangeError(`warpAffine: images must be [B, H, W] packed RGB, got ${shapeStr(images.shape)}`);
  const [B, H, W] = images.shape as [number, number, number];
  if (matrices.length !== B) throw new RangeError(`warpAffine: ${matrices.length} matrices for ${B} images ${shapeStr(images.shape)}`);
  for (const [name, v] of [['outH', outH], ['outW', outW]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`warpAffine: ${name} must be a whole number >= 0, got ${v}`);
  }
  const border = opts.border ?? 128;
  if (!(border >= 0 && border <= 255)) throw new RangeError(`warpAffine: border must be in 0..255, got ${border}`);
  const inv = matrices.flatMap((m) => invertAffine(m));
  const out = Tensor.empty(device, [B, outH, outW], 'i32');
  const total = B * outH * outW;
  if (total === 0) return out;
  const m = Tensor.from(device, new Float32Array(inv.length ? inv : [0]), [Math.max(1, inv.length)]);
  device.dispatch(kernel(device, FILE, 'forward', { WG }), {
    buffers: { src_px: images.buffer, inv_m: m.buffer, dst_px: out.buffer },
    uniforms: { wp: { total, in_h: H, in_w: W, out_h: outH, out_w: outW, border } },
    workgroups: grid1d(device, total, WG),
  });
  m.dispose();
  return out;
}
