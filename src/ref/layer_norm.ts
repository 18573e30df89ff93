/**
 * float64 reference of layer norm over the last dimension (PyTorch nn.LayerNorm: biased variance),
 * y = (x - mean) / sqrt(var + eps) * w + b, and its vector-Jacobian product.
 */
import { nd, type NDArray } from './ndarray.js';

function rowsOf(x: NDArray): [number, number] {
  if (x.shape.length === 0) throw new RangeError('layerNormRef: x must have rank >= 1');
  const cols = x.shape[x.shape.length - 1]!;
  return [cols === 0 ? 0 : x.data.length / cols, cols];
}

/** Mean and 1 / sqrt(var + eps) of each row. */
function rowStats(x: NDArray, eps: number): { mean: Float64Array; rstd: Float64Array } {
  const [rows, cols] = rowsOf(x);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x.data[r * cols + c]!;
    const mu = s / cols;
    let v = 0;
    for (let c = 0; c < cols; c++) v += (x.data[r * cols + c]! - mu) ** 2;
    mean[r] = mu;
    rstd[r] = 1 / Math.sqrt(v / cols + eps);
  }
  return { mean, rstd };
}

export function layerNormRef(x: NDArray, w: NDArray | null, b: NDArray | null, eps = 1e-5): NDArray {
  const [rows, cols] = rowsOf(x);
  const { mean, rstd } = rowStats(x, eps);
  const y = nd(x.shape);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xhat = (x.data[i]! - mean[r]!) * rstd[r]!;
      y.data[i] = xhat * (w ? w.data[c]! : 1) + (b ? b.data[c]! : 0);
    }
  }
  return y;
}

/**
 * Gradients of x, w and b (null where w or b is absent). With g = dy * w and xhat the normalised
 * row, dx = rstd * (g - mean(g) - xhat * mean(g * xhat)); dw = sum over rows of dy * xhat; db =
 * sum over rows of dy.
 */
export function layerNormVjp(x: NDArray, w: NDArray | null, b: NDArray | null, eps: number, dy: NDArray): [NDArray, NDArray | null, NDArray | null] {
  const [rows, cols] = rowsOf(x);
  const { mean, rstd } = rowStats(x, eps);
  const dx = nd(x.shape);
  const dw = w ? nd([cols]) : null;
  const db = b ? nd([cols]) : null;
  const xhat = new Float64Array(cols);
  const g = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      xhat[c] = (x.data[i]! - mean[r]!) * rstd[r]!;
      g[c] = dy.data[i]! * (w ? w.data[c]! : 1);
      sg += g[c]!;
      sgx += g[c]! * xhat[c]!;
      if (dw) dw.data[c]! += dy.data[i]! * xhat[c]!;
      if (db) db.data[c]! += dy.data[i]!;
    }
    for (let c = 0; c < cols; c++) dx.data[r * cols + c] = rstd[r]! * (g[c]! - sg / cols - xhat[c]! * (sgx / cols));
  }
  return [dx, dw, db];
}
