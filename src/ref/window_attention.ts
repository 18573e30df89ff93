/**
 * float64 reference of windowed attention (src/ops/window_attention.ts), from the math:
 *   S = q kᵀ · scale + bias[h] + mask[b mod nW],  P = softmax(S) along the last axis,  O = P v
 * with q, k, v [Bw, heads, T, dh], bias [heads, T, T], mask [nW, T, T]. VJP with dO:
 *   dv = Pᵀ dO,  dP = dO vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),
 *   dq = scale · dS k,  dk = scale · dSᵀ q,  dbias[h] = Σ over windows of dS[·, h]
 * (the mask is a constant and gets no gradient).
 */
import { nd, type NDArray } from './ndarray.js';

export interface WindowAttentionRefOptions {
  scale: number;
  bias?: NDArray;
  mask?: NDArray;
}

interface Probs {
  bw: number;
  heads: number;
  t: number;
  dh: number;
  /** [Bw, heads, T, T] */
  p: Float64Array;
}

function probs(q: NDArray, k: NDArray, o: WindowAttentionRefOptions): Probs {
  const [bw, heads, t, dh] = q.shape as [number, number, number, number];
  const nw = o.mask ? o.mask.shape[0]! : 1;
  const p = new Float64Array(bw * heads * t * t);
  for (let b = 0; b < bw; b++) {
    for (let h = 0; h < heads; h++) {
      const mat = (b * heads + h) * t;
      for (let i = 0; i < t; i++) {
        const row = new Float64Array(t);
        for (let j = 0; j < t; j++) {
          let s = 0;
          for (let c = 0; c < dh; c++) s += q.data[(mat + i) * dh + c]! * k.data[(mat + j) * dh + c]!;
          s *= o.scale;
          if (o.bias) s += o.bias.data[(h * t + i) * t + j]!;
          if (o.mask) s += o.mask.data[((b % nw) * t + i) * t + j]!;
          row[j] = s;
        }
        const m = Math.max(...row);
        let z = 0;
        for (let j = 0; j < t; j++) z += Math.exp(row[j]! - m);
        for (let j = 0; j < t; j++) p[(mat + i) * t + j] = Math.exp(row[j]! - m) / z;
      }
    }
  }
  return { bw, heads, t, dh, p };
}

/** O = softmax(q kᵀ · scale + bias + mask) v, [Bw, heads, T, dh]. */
export function windowAttentionRef(q: NDArray, k: NDArray, v: NDArray, o: WindowAttentionRefOptions): NDArray {
  const { bw, heads, t, dh, p } = probs(q, k, o);
  const out = nd(q.shape);
  for (let m = 0; m < bw * heads; m++) {
    for (let i = 0; i < t; i++) {
      for (let j = 0; j < t; j++) {
        const w = p[(m * t + i) * t + j]!;
        for (let c = 0; c < dh; c++) out.data[(m * t + i) * dh + c]! += w * v.data[(m * t + j) * dh + c]!;
      }
    }
  }
  return out;
}

export interface WindowAttentionGrads {
  dq: NDArray;
  dk: NDArray;
  dv: NDArray;
  /** [heads, T, T], or null without a bias */
  dbias: NDArray | null;
}

/** The VJP of windowAttentionRef for output gradient dO. */
export function windowAttentionVjpRef(q: NDArray, k: NDArray, v: NDArray, o: WindowAttentionRefOptions, dO: NDArray): WindowAttentionGrads {
  const { bw, heads, t, dh, p } = probs(q, k, o);
  const dq = nd(q.shape);
  const dk = nd(q.shape);
  const dv = nd(q.shape);
  const dbias = o.bias ? nd([heads, t, t]) : null;
  for (let m = 0; m < bw * heads; m++) {
    const h = m % heads;
    for (let i = 0; i < t; i++) {
      const dp = new Float64Array(t);
      let rs = 0;
      for (let j = 0; j < t; j++) {
        let s = 0;
        for (let c = 0; c < dh; c++) s += dO.data[(m * t + i) * dh + c]! * v.data[(m * t + j) * dh + c]!;
        dp[j] = s;
        rs += s * p[(m * t + i) * t + j]!;
      }
      for (let j = 0; j < t; j++) {
        const pij = p[(m * t + i) * t + j]!;
        const ds = pij * (dp[j]! - rs);
        if (dbias) dbias.data[(h * t + i) * t + j]! += ds;
        for (let c = 0; c < dh; c++) {
          dq.data[(m * t + i) * dh + c]! += o.scale * ds * k.data[(m * t + j) * dh + c]!;
          dk.data[(m * t + j) * dh + c]! += o.scale * ds * q.data[(m * t + i) * dh + c]!;
          dv.data[(m * t + j) * dh + c]! += pij * dO.data[(m * t + i) * dh + c]!;
        }
      }
    }
  }
  return { dq, dk, dv, dbias };
}
