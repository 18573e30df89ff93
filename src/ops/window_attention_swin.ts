/**
 * The two Swin V1 inputs of windowAttention, with the released code's exact semantics
 * (microsoft/Swin-Transformer `models/swin_transformer.py`, WindowAttention and
 * SwinTransformerBlock):
 *
 * - relativePositionIndex(wh, ww): T x T integers, T = wh * ww, tokens row-major in the window
 *   (token i at row hi = floor(i / ww), column wi = i mod ww):
 *     index[i][j] = (hi − hj + wh − 1) · (2·ww − 1) + (wi − wj + ww − 1)
 *   in [0, (2wh − 1)(2ww − 1)); the `relative_position_index` buffer of the released code.
 * - relativePositionBias(table, index): table [(2wh−1)(2ww−1), heads] gathered to [heads, T, T]
 *   (`table[index.view(-1)].view(T, T, -1).permute(2, 0, 1)`); differentiable with respect to the
 *   table through indexSelect's scatter-add backward (fixed order, no atomics).
 * - swinShiftMask(h, w, window, shift): the SW-MSA mask [nW, T, T] for an h x w token grid
 *   (nW = (h / window)(w / window), windows row-major). Each token gets a region id from the
 *   slices (0, −window), (−window, −shift), (−shift, end) of rows and of columns (3 x 3 regions,
 *   id = row region · 3 + column region) of the not-yet-shifted grid, exactly as `img_mask`;
 *   mask[w][i][j] = 0 where tokens i and j of window w have the same id and −100.0 elsewhere.
 *   The released code uses this mask on the cyclically shifted (torch.roll by −shift) feature map.
 *   (The block, not this helper, applies the released rule that a stage whose resolution is
 *   <= window uses window = resolution and no shift.)
 */
import type { Device } from '../runtime/device.js';
import { shapeStr } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { indexSelect } from './gather.js';
import { transpose } from './permute.js';
import { reshape } from './reshape.js';

/** The released value of masked scores. */
export const SWIN_MASK_VALUE = -100;

/** relative_position_index of a wh x ww window, as [T * T] (row-major [T, T]). */
export function relativePositionIndex(wh: number, ww: number = wh): Int32Array {
  if (!(Number.isInteger(wh) && Number.isInteger(ww) && wh >= 1 && ww >= 1)) {
    throw new RangeError(`relativePositionIndex: window must be positive integers, got ${wh} x ${ww}`);
  }
  const t = wh * ww;
  const out = new Int32Array(t * t);
  for (let i = 0; i < t; i++) {
    const hi = Math.floor(i / ww);
    const wi = i % ww;
    for (let j = 0; j < t; j++) {
      const hj = Math.floor(j / ww);
      const wj = j % ww;
      out[i * t + j] = (hi - hj + wh - 1) * (2 * ww - 1) + (wi - wj + ww - 1);
    }
  }
  return out;
}

/**
 * The gathered bias [heads, T, T] from table [(2wh−1)(2ww−1), heads] and an index from
 * relativePositionIndex (an i32 tensor of T*T entries, uploaded once, is best for repeated use:
 * host indices are checked and uploaded on every call).
 */
export function relativePositionBias(table: Tensor, index: Tensor | Int32Array, t: number): Tensor {
  const n = index instanceof Tensor ? index.size : index.length;
  if (table.rank !== 2) throw new RangeError(`relativePositionBias: table must be [(2w-1)^2, heads], got ${shapeStr(table.shape)}`);
  if (n !== t * t) throw new RangeError(`relativePositionBias: the index has ${n} entries, T * T = ${t * t} expected (table ${shapeStr(table.shape)})`);
  const heads = table.shape[1]!;
  const rows = indexSelect(table, 0, index); // [T*T, heads]
  return reshape(transpose(rows, 0, 1), [heads, t, t]);
}

/** Region ids (0..8) of an h x w grid for the released `img_mask`, row-major. */
function regions(h: number, w: number, window: number, shift: number): Int32Array {
  const band = (x: number, len: number) => (x < len - window ? 0 : x < len - shift ? 1 : 2);
  const out = new Int32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = band(y, h) * 3 + band(x, w);
  return out;
}

/** The SW-MSA mask as numbers, [nW * T * T] row-major (see the file comment). */
export function swinShiftMaskData(h: number, w: number, window: number, shift: number): Float32Array {
  const ok = [h, w, window].every((x) => Number.isInteger(x) && x >= 1) && Number.isInteger(shift);
  if (!ok || h % window !== 0 || w % window !== 0 || shift < 0 || shift >= window) {
    throw new RangeError(`swinShiftMask: needs window >= 1 dividing h = ${h} and w = ${w} and 0 <= shift < window, got window ${window}, shift ${shift}`);
  }
  const ids = regions(h, w, window, shift);
  const t = window * window;
  const nwx = w / window;
  const nw = (h / window) * nwx;
  const out = new Float32Array(nw * t * t);
  for (let win = 0; win < nw; win++) {
    const y0 = Math.floor(win / nwx) * window;
    const x0 = (win % nwx) * window;
    const id = (i: number) => ids[(y0 + Math.floor(i / window)) * w + x0 + (i % window)]!;
    for (let i = 0; i < t; i++) {
      for (let j = 0; j < t; j++) out[(win * t + i) * t + j] = id(i) === id(j) ? 0 : SWIN_MASK_VALUE;
    }
  }
  return out;
}

/** The SW-MSA mask as a constant tensor [nW, T, T] on `device`. */
export function swinShiftMask(device: Device, h: number, w: number, window: number, shift: number): Tensor {
  const data = swinShiftMaskData(h, w, window, shift);
  const t = window * window;
  return Tensor.from(device, data, [data.length / (t * t), t, t]);
}
