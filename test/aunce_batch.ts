// Random AUNCE batches shared by the tests of the reference, the fused op and the unfused loss.
import { readFileSync } from 'node:fs';
import type { AunceOptions } from '../src/ref/aunce.js';
import { nd, type NDArray } from '../src/ref/ndarray.js';
import { Rng } from '../src/util/rng.js';

export interface Batch {
  z: NDArray;
  labels: number[][];
}

/** Random batch: Gaussian features (row-normalised unless unit = false), labels P(y=1) = 0.35 with
 * both classes forced present in every AU except those in `allZero` (spec §5.9 recipe). */
export function makeBatch(B: number, K: number, D: number, seed: number, o: { unit?: boolean; allZero?: number[] } = {}): Batch {
  const r = new Rng(seed);
  const N = 2 * B;
  const z = nd([N, K, D]);
  for (let i = 0; i < z.data.length; i++) z.data[i] = r.normal();
  if (o.unit ?? true) {
    for (let a = 0; a < N; a++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += z.data[(a * K + k) * D + d]! ** 2;
        for (let d = 0; d < D; d++) z.data[(a * K + k) * D + d]! /= Math.sqrt(s);
      }
    }
  }
  const labels: number[][] = [];
  for (let b = 0; b < B; b++) labels.push(Array.from({ length: K }, () => (r.next() < 0.35 ? 1 : 0)));
  for (let k = 0; k < K; k++) {
    if (o.allZero?.includes(k)) {
      for (let b = 0; b < B; b++) labels[b]![k] = 0;
    } else if (B >= 2) {
      labels[0]![k] = 1;
      labels[1]![k] = 0;
    }
  }
  return { z, labels };
}

export function weights(K: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: K }, () => r.uniform(0.5, 1.5));
}

/** A PyTorch float64 golden case (scripts/goldens/aunce_goldens.py -> test/data/goldens/aunce.json). */
export interface GoldenCase {
  name: string;
  options: AunceOptions;
  labels: number[][];
  z: number[][][];
  loss: number;
  perAU: number[];
  grad: number[][][];
}

export function aunceGoldens(): GoldenCase[] {
  return JSON.parse(readFileSync(new URL('./data/goldens/aunce.json', import.meta.url), 'utf8')) as GoldenCase[];
}
