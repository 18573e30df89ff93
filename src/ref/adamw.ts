/**
 * float64 reference of one Adam / AdamW step (PyTorch's torch.optim formulas) and of the global
 * gradient-norm clipping factor (torch.nn.utils.clip_grad_norm_). No GPU imports.
 */

export interface AdamRefOptions {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
  decoupled: boolean;
}

export interface AdamRefState {
  m: Float64Array;
  v: Float64Array;
  /** steps taken so far (the update makes it t + 1) */
  t: number;
}

/** One step in place on `param` and `st`, with gradient `grad` already scaled by any clipping. */
export function adamStepRef(param: Float64Array, grad: ArrayLike<number>, st: AdamRefState, o: AdamRefOptions): void {
  st.t += 1;
  const bc1 = 1 - Math.pow(o.b1, st.t);
  const bc2 = 1 - Math.pow(o.b2, st.t);
  for (let i = 0; i < param.length; i++) {
    let g = grad[i]!;
    let w = param[i]!;
    if (o.decoupled) w *= 1 - o.lr * o.wd;
    else g += o.wd * w;
    st.m[i] = o.b1 * st.m[i]! + (1 - o.b1) * g;
    st.v[i] = o.b2 * st.v[i]! + (1 - o.b2) * g * g;
    param[i] = w - (o.lr * (st.m[i]! / bc1)) / (Math.sqrt(st.v[i]! / bc2) + o.eps);
  }
}

/** min(1, maxNorm / (‖g‖₂ + 1e-6)) over all gradients together. */
export function clipScaleRef(grads: readonly ArrayLike<number>[], maxNorm: number): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.min(1, maxNorm / (Math.sqrt(s) + 1e-6));
}
