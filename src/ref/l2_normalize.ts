/**
 * float64 reference of L2 normalisation along one axis (PyTorch F.normalize):
 * y = x / max(||x||_2, eps), and its vector-Jacobian product.
 */
import { nd, type NDArray } from './ndarray.js';

/** The array seen as [outer, n, inner] around `axis` (which may be negative). */
function around(shape: readonly number[], axis: number): [number, number, number] {
  const a = axis < 0 ? axis + shape.length : axis;
  if (a < 0 || a >= shape.length) throw new RangeError(`l2NormalizeRef: axis ${axis} is out of range for rank ${shape.length}`);
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  return [outer, shape[a]!, inner];
}

function norms(x: NDArray, axis: number): { outer: number; n: number; inner: number; norm: Float64Array } {
  const [outer, n, inner] = around(x.shape, axis);
  const norm = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += x.data[(o * n + k) * inner + j]! ** 2;
      norm[o * inner + j] = Math.sqrt(s);
    }
  }
  return { outer, n, inner, norm };
}

export function l2NormalizeRef(x: NDArray, axis = -1, eps = 1e-12): NDArray {
  const { outer, n, inner, norm } = norms(x, axis);
  const y = nd(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const d = Math.max(norm[o * inner + j]!, eps);
      for (let k = 0; k < n; k++) {
        const i = (o * n + k) * inner + j;
        y.data[i] = x.data[i]! / d;
      }
    }
  }
  return y;
}

/**
 * With d = max(||x||, eps): where ||x|| > eps, d = ||x|| depends on x and
 * dx = (dy - y * sum(dy * y)) / d; elsewhere d is the constant eps and dx = dy / eps.
 */
export function l2NormalizeVjp(x: NDArray, axis: number, eps: number, dy: NDArray): NDArray {
  const { outer, n, inner, norm } = norms(x, axis);
  const dx = nd(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const nv = norm[o * inner + j]!;
      const idx = (k: number) => (o * n + k) * inner + j;
      if (nv <= eps) {
        for (let k = 0; k < n; k++) dx.data[idx(k)] = dy.data[idx(k)]! / eps;
        continue;
      }
      let s = 0;
      for (let k = 0; k < n; k++) s += (dy.data[idx(k)]! * x.data[idx(k)]!) / nv;
      for (let k = 0; k < n; k++) dx.data[idx(k)] = (dy.data[idx(k)]! - (x.data[idx(k)]! / nv) * s) / nv;
    }
  }
  return dx;
}
