import { expect } from 'chai';
import { Tensor, unary, UNARY_OPS, type UnaryOp } from '../../src/index.js';
import { map, nd, type NDArray } from '../../src/ref/ndarray.js';
import { erf, unaryRef, unaryVjp } from '../../src/ref/unary.js';
import { checkFiniteDiff, checkGpu, randn, sharedDevice, uniform } from '../helpers.js';

// Inputs per op, kept inside each op's domain and away from kinks (relu, abs at 0).
function inputFor(op: UnaryOp, shape: number[], seed: number): NDArray {
  if (op === 'log' || op === 'sqrt' || op === 'rdivScalar') return uniform(shape, seed, 0.3, 3);
  if (op === 'powScalar') return uniform(shape, seed, 0.2, 2);
  const x = randn(shape, seed, 1.5);
  if (op === 'relu' || op === 'abs') return map(x, (v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
  return x;
}

const ALPHA: Partial<Record<UnaryOp, number>> = { addScalar: 0.75, mulScalar: -1.5, powScalar: 2.5, rsubScalar: 2, rdivScalar: 1.5 };

// Forward: f32 transcendental error (exp, erf ~1e-6 relative); backward likewise.
const TOL = { fwd: { atol: 2e-6, rtol: 2e-5 }, bwd: { atol: 5e-6, rtol: 5e-5 } };

describe('unary ops', () => {
  const ops = Object.keys(UNARY_OPS) as UnaryOp[];
  for (const op of ops) {
    const alpha = ALPHA[op] ?? 0;
    it(`${op} reference: gradient matches finite differences [3, 5]`, () => {
      checkFiniteDiff(op, [inputFor(op, [3, 5], 1)], ([x]) => unaryRef(op, x!, alpha), ([x], dy) => [unaryVjp(op, x!, dy, alpha)]);
    });
    for (const shape of [[67], [3, 129], [1], [2, 0, 3]]) {
      it(`${op} gpu: forward and backward match the reference [${shape}]`, async () => {
        await checkGpu({
          name: op,
          inputs: [inputFor(op, shape, 7)],
          gpu: ([x]) => unary(op, x!, alpha),
          ref: ([x]) => unaryRef(op, x!, alpha),
          vjp: ([x], dy) => [unaryVjp(op, x!, dy, alpha)],
          ...TOL,
        });
      });
    }
  }

  it('gelu reference: erf agrees with known values to 1e-14', () => {
    const known: [number, number][] = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3.5, 0.9999992569016276], [-1.2, -0.9103139782296353]];
    for (const [x, v] of known) expect(Math.abs(erf(x) - v)).to.be.below(1e-14);
  });

  it('tanh gpu: saturates without NaN at |x| = 100 [4]', async () => {
    const d = await sharedDevice();
    const y = await Tensor.from(d, [-100, -20, 20, 100], [4]).tanh().toArray();
    expect([...y]).to.deep.equal([-1, -1, 1, 1]);
  });

  it('sigmoid gpu: stable at |x| = 100 [2]', async () => {
    const d = await sharedDevice();
    const y = await Tensor.from(d, [-100, 100], [2]).sigmoid().toArray();
    expect(y[0]).to.be.at.least(0).and.below(1e-30);
    expect(y[1]).to.equal(1);
  });

  it('powScalar gpu: whole exponents of negative bases keep their sign [3]', async () => {
    const d = await sharedDevice();
    const y = await Tensor.from(d, [-2, -3, 4], [3]).pow(3).toArray();
    expect([...y]).to.deep.equal([-8, -27, 64]);
  });

  it('fullLike gpu: fills without an upload, 4 at a time or one by one [2, 70000], [3, 7]', async () => {
    const d = await sharedDevice();
    for (const shape of [[2, 70000], [3, 7], [1]]) {
      // over a buffer that held other values, so that a missed element shows
      const old = Tensor.from(d, new Float32Array(shape[0]! * (shape[1] ?? 1)).fill(-9), shape);
      old.dispose();
      const t = Tensor.empty(d, shape).fullLike(2.5);
      const v = await t.toArray();
      expect(v.length).to.equal(old.size);
      expect(v.every((x) => x === 2.5), `${shape}`).to.equal(true);
      t.dispose();
    }
  });

  it('exp gpu: a tensor larger than one grid row (70000 workgroups of 256) [17920000]', async function () {
    this.timeout(120000);
    const d = await sharedDevice();
    const n = 70000 * 256;
    const x = Tensor.empty(d, [n]).fullLike(0);
    const y = await x.exp().toArray();
    expect(y[0]).to.equal(1);
    expect(y[n - 1]).to.equal(1);
    expect(y.every((v) => v === 1)).to.equal(true);
  });

  it('unary: rejects a non-finite scalar', async () => {
    const d = await sharedDevice();
    expect(() => unary('mulScalar', Tensor.from(d, [1], [1]), NaN)).to.throw(/mulScalar: the scalar must be finite/);
  });

  it('unary: keeps the input unchanged [5]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, nd([5], [1, 2, 3, 4, 5]).data, [5]);
    x.exp();
    expect([...(await x.toArray())]).to.deep.equal([1, 2, 3, 4, 5]);
  });
});
