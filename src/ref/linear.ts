/** float64 reference of Linear: y = act(x W^T + b), forward and vector-Jacobian product. */
import { erf } from './unary.js';
import { nd, type NDArray } from './ndarray.js';

export type RefActivation = 'none' | 'relu' | 'gelu';

const act = (a: RefActivation, z: number) => (a === 'relu' ? Math.max(z, 0) : a === 'gelu' ? 0.5 * z * (1 + erf(z / Math.SQRT2)) : z);
const dact = (a: RefActivation, z: number) =>
  a === 'relu' ? (z > 0 ? 1 : 0) : a === 'gelu' ? 0.5 * (1 + erf(z / Math.SQRT2)) + (z * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI) : 1;

function preActivation(x: NDArray, w: NDArray, b: NDArray | null): { z: Float64Array; rows: number; outF: number; inF: number } {
  const [outF, inF] = w.shape as [number, number];
  const rows = inF === 0 ? x.shape.slice(0, -1).reduce((p, d) => p * d, 1) : x.data.length / inF;
  const z = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b.data[o]! : 0;
      for (let i = 0; i < inF; i++) s += x.data[r * inF + i]! * w.data[o * inF + i]!;
      z[r * outF + o] = s;
    }
  }
  return { z, rows, outF, inF };
}

export function linearRef(x: NDArray, w: NDArray, b: NDArray | null, a: RefActivation): NDArray {
  const { z, outF } = preActivation(x, w, b);
  return nd([...x.shape.slice(0, -1), outF], z.map((v) => act(a, v)));
}

export function linearVjp(x: NDArray, w: NDArray, b: NDArray | null, a: RefActivation, dy: NDArray): [NDArray, NDArray, NDArray | null] {
  const { z, rows, outF, inF } = preActivation(x, w, b);
  const dz = z.map((v, i) => dy.data[i]! * dact(a, v));
  const dx = nd(x.shape);
  const dw = nd(w.shape);
  const db = b ? nd(b.shape) : null;
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      const g = dz[r * outF + o]!;
      if (db) db.data[o]! += g;
      for (let i = 0; i < inF; i++) {
        dx.data[r * inF + i]! += g * w.data[o * inF + i]!;
        dw.data[o * inF + i]! += g * x.data[r * inF + i]!;
      }
    }
  }
  return [dx, dw, db];
}
