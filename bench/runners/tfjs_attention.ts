/**
 * Windowed attention in TF.js ops, forward + backward, for the TF.js WebGPU runner: the same
 * computation as windowAttention (src/ops/window_attention.ts) composed the way the released Swin
 * code writes it (matmul, scale, add bias, add mask, softmax, matmul). TF.js's Node bundle loads
 * no gradient registrations for these kernels, so the backward is written out with the same ops
 * its autograd would run:
 *
 *   dV = Pᵀ dy,  dP = dy vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = dS k · scale,
 *   dK = dSᵀ q · scale,  dBias = Σ over windows of dS.
 */
import { swinShiftMaskData } from '../../src/ops/window_attention_swin.js';
import type { AttentionCase } from '../cases.js';
import { attentionInputs } from './ours_attention.js';
import type { Tf, TfTensor } from './tfjs.js';

export interface TfAttentionInputs {
  q: TfTensor;
  k: TfTensor;
  v: TfTensor;
  bias: TfTensor;
  /** [nW, 1, T, T] */
  mask: TfTensor;
  dy: TfTensor;
}

/** Uploads the inputs of a case (the values the ours runner uses). */
export function tfAttentionInputs(tf: Tf, c: AttentionCase): TfAttentionInputs {
  const x = attentionInputs(c);
  const shape = [c.batch * c.windows, c.heads, c.t, c.dh];
  return {
    q: tf.tensor(x.q, shape, 'float32'),
    k: tf.tensor(x.k, shape, 'float32'),
    v: tf.tensor(x.v, shape, 'float32'),
    bias: tf.tensor(x.bias, [c.heads, c.t, c.t], 'float32'),
    mask: tf.tensor(swinShiftMaskData(c.grid, c.grid, c.window, c.shift), [c.windows, 1, c.t, c.t], 'float32'),
    dy: tf.tensor(x.dy, shape, 'float32'),
  };
}

/** Forward and backward; returns [out, dq, dk, dv, dBias] (the intermediates are disposed). */
export function tfAttentionStep(tf: Tf, c: AttentionCase, x: TfAttentionInputs): TfTensor[] {
  const bw = c.batch * c.windows;
  const scale = c.dh ** -0.5;
  return tf.tidy(() => {
    const s0 = tf.add(tf.mul(tf.matMul(x.q, x.k, false, true), scale), x.bias);
    const grouped = tf.add(tf.reshape(s0, [c.batch, c.windows, c.heads, c.t, c.t]), x.mask);
    const p = tf.softmax(tf.reshape(grouped, [bw, c.heads, c.t, c.t]), -1);
    const out = tf.matMul(p, x.v, false, false);
    const dv = tf.matMul(p, x.dy, true, false);
    const dp = tf.matMul(x.dy, x.v, false, true);
    const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
    const dq = tf.mul(tf.matMul(ds, x.k, false, false), scale);
    const dk = tf.mul(tf.matMul(ds, x.q, true, false), scale);
    const dbias = tf.sum(ds, 0);
    return [out, dq, dk, dv, dbias];
  });
}

export function disposeAll(xs: Iterable<TfTensor>): void {
  for (const x of xs) x.dispose();
}
