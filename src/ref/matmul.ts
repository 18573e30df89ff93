/**
 * float64 reference of the batched matmul a [..., M, K] @ b [..., K, N] -> [..., M, N] with
 * numpy broadcasting of the batch dimensions, and its vector-Jacobian product.
 */
import { broadcastIndex, broadcastShape, nd, numel, sumTo, unravel, type NDArray } from './ndarray.js';

interface Dims {
  batch: number[];
  m: number;
  k: number;
  n: number;
}

function dimsOf(a: NDArray, b: NDArray): Dims {
  if (a.shape.length < 2 || b.shape.length < 2) throw new RangeError('matmulRef: operands must have rank >= 2');
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new RangeError(`matmulRef: inner dimensions ${k} and ${k2} differ`);
  return { batch: broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, k, n };
}

/** Flat offset of batch `i` (of the broadcast batch shape) in an operand of batch shape `own`. */
function batchOffset(i: number, batch: number[], own: readonly number[], matrix: number): number {
  return broadcastIndex(unravel(i, batch), batch, own) * matrix;
}

export function matmulRef(a: NDArray, b: NDArray): NDArray {
  const { batch, m, k, n } = dimsOf(a, b);
  const y = nd([...batch, m, n]);
  for (let t = 0; t < numel(batch); t++) {
    const oa = batchOffset(t, batch, a.shape.slice(0, -2), m * k);
    const ob = batchOffset(t, batch, b.shape.slice(0, -2), k * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) s += a.data[oa + i * k + l]! * b.data[ob + l * n + j]!;
        y.data[(t * m + i) * n + j] = s;
      }
    }
  }
  return y;
}

/** dA = dY @ B^T and dB = A^T @ dY per batch, each summed over the batch dims its operand was broadcast in. */
export function matmulVjp(a: NDArray, b: NDArray, dy: NDArray): [NDArray, NDArray] {
  const { batch, m, k, n } = dimsOf(a, b);
  const ga = nd([...batch, m, k]);
  const gb = nd([...batch, k, n]);
  for (let t = 0; t < numel(batch); t++) {
    const oa = batchOffset(t, batch, a.shape.slice(0, -2), m * k);
    const ob = batchOffset(t, batch, b.shape.slice(0, -2), k * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const g = dy.data[(t * m + i) * n + j]!;
        for (let l = 0; l < k; l++) {
          ga.data[(t * m + i) * k + l]! += g * b.data[ob + l * n + j]!;
          gb.data[(t * k + l) * n + j]! += g * a.data[oa + i * k + l]!;
        }
      }
    }
  }
  return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
}
