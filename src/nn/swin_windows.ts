/**
 * Swin's token rearrangements. The released code writes them as tensor ops on [B, H, W, C]:
 *
 *   torch.roll(x, (-s, -s), (1, 2))           cyclic shift (roll below)
 *   window_partition(x, ws)                   [B, H, W, C] -> [B * nW, ws, ws, C], windows row-major
 *   window_reverse(windows, ws, H, W)         the inverse
 *
 * Those three are here as differentiable compositions of slice/concat/reshape/permute, for the
 * tests and for anyone who wants them. The blocks do not use them: roll followed by partition is
 * one fixed permutation of the H*W tokens of each image, so the block gathers the tokens by a
 * precomputed index (windowTokenOrder) and scatters them back by the inverse index, two copies per
 * block instead of six (permuteTokens, whose backward is a gather by the inverse permutation).
 */
import { shapeStr } from '../tensor/shape.js';
import { noGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { concat } from '../ops/concat.js';
import { indexSelect } from '../ops/gather.js';
import { permute } from '../ops/permute.js';
import { reshape } from '../ops/reshape.js';
import { sliceAxis } from '../ops/slice.js';

/** torch.roll along several axes: out[i] = x[(i - shift) mod n] on each axis. */
export function roll(x: Tensor, shifts: readonly number[], dims: readonly number[]): Tensor {
  if (shifts.length !== dims.length) throw new RangeError(`roll: ${shifts.length} shifts for ${dims.length} dims (x ${shapeStr(x.shape)})`);
  let y = x;
  shifts.forEach((s, k) => {
    const d = dims[k]! < 0 ? dims[k]! + x.rank : dims[k]!;
    const n = x.shape[d];
    if (n === undefined) throw new RangeError(`roll: dim ${dims[k]} is out of range for ${shapeStr(x.shape)}`);
    const r = ((s % n) + n) % n;
    if (r === 0) return;
    y = concat([sliceAxis(y, d, n - r), sliceAxis(y, d, 0, n - r)], d);
  });
  return y;
}

function checkGrid(op: string, h: number, w: number, ws: number): void {
  if (!(ws >= 1 && h % ws === 0 && w % ws === 0)) throw new RangeError(`${op}: window ${ws} must divide the ${h} x ${w} grid`);
}

/** [B, H, W, C] -> [B * nW, ws, ws, C] (window_partition of the released code). */
export function windowPartition(x: Tensor, ws: number): Tensor {
  if (x.rank !== 4) throw new RangeError(`windowPartition: x must be [B, H, W, C], got ${shapeStr(x.shape)}`);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  checkGrid('windowPartition', h, w, ws);
  const v = reshape(x, [b, h / ws, ws, w / ws, ws, c]);
  return reshape(permute(v, [0, 1, 3, 2, 4, 5]), [-1, ws, ws, c]);
}

/** [B * nW, ws, ws, C] -> [B, H, W, C] (window_reverse of the released code). */
export function windowReverse(windows: Tensor, ws: number, h: number, w: number): Tensor {
  checkGrid('windowReverse', h, w, ws);
  const nw = (h / ws) * (w / ws);
  const c = windows.shape[windows.rank - 1]!;
  if (windows.rank !== 4 || windows.shape[0]! % nw !== 0) throw new RangeError(`windowReverse: windows ${shapeStr(windows.shape)} are not [B * ${nw}, ${ws}, ${ws}, C]`);
  const v = reshape(windows, [windows.shape[0]! / nw, h / ws, w / ws, ws, ws, c]);
  return reshape(permute(v, [0, 1, 3, 2, 4, 5]), [-1, h, w, c]);
}

/**
 * The token order of roll(-shift) then window_partition on an h x w grid: output token t (window
 * wi row-major, then row-major inside the window) is input token order[t].
 */
export function windowTokenOrder(h: number, w: number, ws: number, shift: number): Int32Array {
  checkGrid('windowTokenOrder', h, w, ws);
  const out = new Int32Array(h * w);
  const nwx = w / ws;
  let t = 0;
  for (let win = 0; win < (h / ws) * nwx; win++) {
    const y0 = Math.floor(win / nwx) * ws;
    const x0 = (win % nwx) * ws;
    for (let i = 0; i < ws; i++) for (let j = 0; j < ws; j++) out[t++] = ((y0 + i + shift) % h) * w + ((x0 + j + shift) % w);
  }
  return out;
}

export function inverseOrder(order: Int32Array): Int32Array {
  const inv = new Int32Array(order.length);
  order.forEach((src, t) => (inv[src] = t));
  return inv;
}

/**
 * y[:, t] = x[:, order[t]] for x [B, L, C] with `order` a permutation of 0..L-1 (an i32 tensor)
 * and `inverse` its inverse; the backward gathers dy by `inverse` (no scatter-add needed).
 */
export function permuteTokens(x: Tensor, order: Tensor, inverse: Tensor): Tensor {
  if (x.rank !== 3 || order.size !== x.shape[1] || inverse.size !== order.size) {
    throw new RangeError(`permuteTokens: x ${shapeStr(x.shape)} must be [B, L, C] with order and inverse of L entries (got ${order.size}, ${inverse.size})`);
  }
  const y = noGrad(() => indexSelect(x, 1, order));
  return record('permuteTokens', [x], y, (dy) => [indexSelect(dy, 1, inverse)]);
}
