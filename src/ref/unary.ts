/** float64 reference of the unary and scalar ops: forward and vector-Jacobian product. */
import { map, type NDArray } from './ndarray.js';

/** erf to ~1e-15: Taylor series for |x| < 3, continued fraction of erfc beyond. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + ...)))))
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

export interface UnaryRef {
  f: (x: number, a: number) => number;
  /** df/dx at x */
  df: (x: number, a: number) => number;
}

export const UNARY_REF: Record<string, UnaryRef> = {
  copy: { f: (x) => x, df: () => 1 },
  neg: { f: (x) => -x, df: () => -1 },
  exp: { f: Math.exp, df: Math.exp },
  log: { f: Math.log, df: (x) => 1 / x },
  sqrt: { f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x) },
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) },
  gelu: {
    f: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    df: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  },
  sigmoid: { f: sigmoid, df: (x) => sigmoid(x) * (1 - sigmoid(x)) },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  abs: { f: Math.abs, df: (x) => Math.sign(x) },
  addScalar: { f: (x, a) => x + a, df: () => 1 },
  mulScalar: { f: (x, a) => x * a, df: (_x, a) => a },
  powScalar: { f: (x, a) => Math.pow(x, a), df: (x, a) => (a === 0 ? 0 : a * Math.pow(x, a - 1)) },
  rsubScalar: { f: (x, a) => a - x, df: () => -1 },
  rdivScalar: { f: (x, a) => a / x, df: (x, a) => -a / (x * x) },
};

export function unaryRef(op: string, x: NDArray, alpha = 0): NDArray {
  const r = UNARY_REF[op];
  if (!r) throw new Error(`no reference for unary op ${op}`);
  return map(x, (v) => r.f(v, alpha));
}

export function unaryVjp(op: string, x: NDArray, dy: NDArray, alpha = 0): NDArray {
  const r = UNARY_REF[op]!;
  return map(x, (v, i) => dy.data[i]! * r.df(v, alpha));
}
