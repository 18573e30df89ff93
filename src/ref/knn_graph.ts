/**
 * float64 reference of the ANFL graph (ME-GraphAU FGG 'dots' + normalize_digraph), written the
 * way the released code states it: thr_i = the k-th entry of row i sorted in descending order,
 * A_ij = 1[s_ij >= thr_i], d_i = sum_j A_ij, Ahat = diag(d^-1/2) A diag(d^-1/2).
 */
import { nd, type NDArray } from './ndarray.js';

export function knnGraphRef(s: NDArray, neighbors: number): NDArray {
  const [b, k] = s.shape as [number, number, number];
  const adj = nd(s.shape);
  const deg = new Float64Array(b * k);
  for (let r = 0; r < b * k; r++) {
    const row = Array.from(s.data.subarray(r * k, r * k + k));
    const thr = [...row].sort((x, y) => y - x)[neighbors - 1]!;
    for (let j = 0; j < k; j++) {
      const a = row[j]! >= thr ? 1 : 0;
      adj.data[r * k + j] = a;
      deg[r] = deg[r]! + a;
    }
  }
  const out = nd(s.shape);
  for (let bi = 0; bi < b; bi++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const e = (bi * k + i) * k + j;
        out.data[e] = deg[bi * k + i]! ** -0.5 * adj.data[e]! * deg[bi * k + j]! ** -0.5;
      }
    }
  }
  return out;
}
