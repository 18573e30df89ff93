/**
 * Test helpers: float64 references checked by central finite differences, and GPU ops checked
 * against their reference with |a - e| <= atol + rtol * |e|, reporting the worst index on failure.
 */
import { expect } from 'chai';
import { backward, Tensor, type Device } from '../src/index.js';
import { nd, numel, unravel, type NDArray } from '../src/ref/ndarray.js';
import { Rng } from '../src/util/rng.js';
import { sharedDevice } from './setup.js';

export { sharedDevice };

export interface Tol {
  atol: number;
  rtol: number;
}

/** Finite-difference tolerances of STYLE.md. */
export const FD: Tol & { eps: number } = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };

export function randn(shape: readonly number[], seed: number, scale = 1): NDArray {
  const r = new Rng(seed);
  return nd(shape, Array.from({ length: numel(shape) }, () => r.normal() * scale));
}

export function uniform(shape: readonly number[], seed: number, lo: number, hi: number): NDArray {
  const r = new Rng(seed);
  return nd(shape, Array.from({ length: numel(shape) }, () => r.uniform(lo, hi)));
}

/** Asserts closeness elementwise; the message names the worst element, its error and the shape. */
export function assertClose(actual: ArrayLike<number>, expected: NDArray | ArrayLike<number>, tol: Tol, what: string): void {
  const e = 'data' in expected ? expected.data : expected;
  const shape = 'shape' in expected ? expected.shape : [e.length];
  expect(actual.length, `${what}: length`).to.equal(e.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < e.length; i++) {
    const a = actual[i]!;
    const x = e[i]!;
    if (Number.isNaN(x) && Number.isNaN(a)) continue;
    if (!Number.isFinite(x) && a === x) continue;
    const excess = Math.abs(a - x) - (tol.atol + tol.rtol * Math.abs(x));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    const a = actual[worst]!;
    const x = e[worst]!;
    expect.fail(
      `${what}: worst element [${unravel(worst, shape).join(', ')}] of shape [${shape.join(', ')}]: got ${a}, expected ${x}, ` +
        `|error| ${Math.abs(a - x).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol} * |expected|`,
    );
  }
}

/**
 * Checks a reference VJP against central finite differences of L = sum(f(x) * r) for a fixed
 * random r, for each input in `wrt` (all by default).
 */
export function checkFiniteDiff(
  what: string,
  inputs: NDArray[],
  f: (xs: NDArray[]) => NDArray,
  vjp: (xs: NDArray[], dy: NDArray) => (NDArray | null)[],
  opts: { wrt?: number[]; tol?: Tol & { eps: number }; seed?: number } = {},
): void {
  const tol = opts.tol ?? FD;
  const y0 = f(inputs);
  const r = randn(y0.shape, opts.seed ?? 1234);
  const analytic = vjp(inputs, r);
  const loss = (xs: NDArray[]) => {
    const y = f(xs);
    let s = 0;
    for (let i = 0; i < y.data.length; i++) s += y.data[i]! * r.data[i]!;
    return s;
  };
  for (const k of opts.wrt ?? inputs.map((_, i) => i)) {
    const x = inputs[k]!;
    const num = nd(x.shape);
    for (let i = 0; i < x.data.length; i++) {
      const plus = inputs.map((t, j) => (j === k ? nd(t.shape, t.data) : t));
      const minus = inputs.map((t, j) => (j === k ? nd(t.shape, t.data) : t));
      plus[k]!.data[i]! += tol.eps;
      minus[k]!.data[i]! -= tol.eps;
      num.data[i] = (loss(plus) - loss(minus)) / (2 * tol.eps);
    }
    const a = analytic[k];
    expect(a, `${what}: the reference VJP returned no gradient for input ${k}`).to.not.equal(null);
    assertClose(a!.data, num, tol, `${what}: reference gradient of input ${k} vs finite differences`);
  }
}

export interface GpuCheck {
  name: string;
  inputs: NDArray[];
  /** which inputs require a gradient (default all) */
  grad?: boolean[];
  gpu: (ts: Tensor[]) => Tensor;
  ref: (xs: NDArray[]) => NDArray;
  vjp?: (xs: NDArray[], dy: NDArray) => (NDArray | null)[];
  fwd: Tol;
  bwd?: Tol;
  seed?: number;
  /** the device to run on (default: the shared test device) */
  device?: Device;
}

/** Runs an op on the GPU, forward and backward, and compares with the float64 reference. */
export async function checkGpu(c: GpuCheck): Promise<void> {
  const device = c.device ?? (await sharedDevice());
  const ts = c.inputs.map((x, i) => Tensor.from(device, x.data, x.shape, { requiresGrad: c.vjp !== undefined && (c.grad?.[i] ?? true) }));
  const y = c.gpu(ts);
  const expected = c.ref(c.inputs);
  expect([...y.shape], `${c.name}: output shape`).to.deep.equal([...expected.shape]);
  assertClose(await y.toArray(), expected, c.fwd, `${c.name}: forward`);
  if (c.vjp) {
    const dy = randn(expected.shape, c.seed ?? 99);
    backward(y, Tensor.from(device, dy.data, dy.shape));
    const want = c.vjp(c.inputs, dy);
    for (let i = 0; i < ts.length; i++) {
      if (!(c.grad?.[i] ?? true)) continue;
      const g = ts[i]!.grad;
      expect(g, `${c.name}: no gradient reached input ${i}`).to.not.equal(null);
      expect([...g!.shape], `${c.name}: gradient shape of input ${i}`).to.deep.equal([...c.inputs[i]!.shape]);
      assertClose(await g!.toArray(), want[i]!, c.bwd ?? c.fwd, `${c.name}: gradient of input ${i}`);
    }
  }
  for (const t of ts) {
    t.grad?.dispose();
    t.dispose();
  }
  y.dispose();
}

export async function device(): Promise<Device> {
  return sharedDevice();
}
