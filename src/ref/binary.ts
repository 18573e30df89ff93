/** float64 reference of the broadcasting binary ops: forward and vector-Jacobian product. */
import { broadcastIndex, broadcastShape, nd, sumTo, unravel, type NDArray } from './ndarray.js';

type Partials = (a: number, b: number, y: number) => [number, number];

export const BINARY_REF: Record<string, { f: (a: number, b: number) => number; d: Partials }> = {
  add: { f: (a, b) => a + b, d: () => [1, 1] },
  sub: { f: (a, b) => a - b, d: () => [1, -1] },
  mul: { f: (a, b) => a * b, d: (a, b) => [b, a] },
  div: { f: (a, b) => a / b, d: (a, b) => [1 / b, -a / (b * b)] },
  pow: {
    f: (a, b) => Math.pow(a, b),
    d: (a, b, y) => [b === 0 ? 0 : b * Math.pow(a, b - 1), y === 0 ? 0 : y * Math.log(a)],
  },
  maximum: { f: (a, b) => Math.max(a, b), d: (a, b) => (a >= b ? [1, 0] : [0, 1]) },
};

export function binaryRef(op: string, a: NDArray, b: NDArray): NDArray {
  const r = BINARY_REF[op]!;
  const shape = broadcastShape(a.shape, b.shape);
  const y = nd(shape);
  for (let i = 0; i < y.data.length; i++) {
    const idx = unravel(i, shape);
    y.data[i] = r.f(a.data[broadcastIndex(idx, shape, a.shape)]!, b.data[broadcastIndex(idx, shape, b.shape)]!);
  }
  return y;
}

export function binaryVjp(op: string, a: NDArray, b: NDArray, dy: NDArray): [NDArray, NDArray] {
  const r = BINARY_REF[op]!;
  const shape = broadcastShape(a.shape, b.shape);
  const ga = nd(shape);
  const gb = nd(shape);
  for (let i = 0; i < dy.data.length; i++) {
    const idx = unravel(i, shape);
    const av = a.data[broadcastIndex(idx, shape, a.shape)]!;
    const bv = b.data[broadcastIndex(idx, shape, b.shape)]!;
    const [da, db] = r.d(av, bv, r.f(av, bv));
    ga.data[i] = dy.data[i]! * da;
    gb.data[i] = dy.data[i]! * db;
  }
  return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
}
