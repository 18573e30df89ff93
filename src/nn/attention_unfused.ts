/**
 * Windowed attention composed from existing differentiable ops (matmul, transpose, mulScalar,
 * add, reshape, softmax): the same computation and options as windowAttention
 * (src/ops/window_attention.ts), written the way the released Swin code writes it. It is the
 * cross-check of the fused kernels, the "unfused" benchmark baseline, and the path for devices
 * without 8-lane subgroups. Every intermediate ([Bw, heads, T, T] scores and probabilities) is
 * materialised and kept by the tape.
 */
import { shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { add } from '../ops/binary.js';
import { matmul } from '../ops/matmul.js';
import { transpose } from '../ops/permute.js';
import { reshape } from '../ops/reshape.js';
import { softmax } from '../ops/softmax.js';
import { mulScalar } from '../ops/unary.js';
import type { WindowAttentionOptions } from '../ops/window_attention.js';

/** softmax(q kᵀ · scale + bias + mask) v for q, k, v [Bw, heads, T, dh]; see windowAttention. */
export function attentionUnfused(q: Tensor, k: Tensor, v: Tensor, opts: WindowAttentionOptions): Tensor {
  if (q.rank !== 4) throw new RangeError(`attentionUnfused: q must be [Bw, heads, T, dh], got ${shapeStr(q.shape)}`);
  const [bw, heads, t] = q.shape as [number, number, number, number];
  let s = mulScalar(matmul(q, transpose(k, -1, -2)), opts.scale);
  if (opts.bias) s = add(s, opts.bias);
  if (opts.mask) {
    const nw = opts.mask.shape[0]!;
    if (bw % nw !== 0) throw new RangeError(`attentionUnfused: Bw = ${bw} is not a multiple of the mask's nW = ${nw} (mask ${shapeStr(opts.mask.shape)})`);
    const grouped = reshape(s, [bw / nw, nw, heads, t, t]);
    s = reshape(add(grouped, reshape(opts.mask, [nw, 1, t, t])), [bw, heads, t, t]);
  }
  return matmul(softmax(s, -1), v);
}
