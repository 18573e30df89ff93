import { expect } from 'chai';
import { linear, Tensor, type Activation } from '../../src/index.js';
import { linearRef, linearVjp } from '../../src/ref/linear.js';
import { map, type NDArray } from '../../src/ref/ndarray.js';
import { checkFiniteDiff, checkGpu, randn, sharedDevice } from '../helpers.js';

const ACTS: Activation[] = ['none', 'relu', 'gelu'];

// keep pre-activations away from relu's kink at 0, where finite differences are meaningless
const awayFromZero = (x: NDArray) => map(x, (v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));

function inputs(xShape: number[], outF: number, withBias: boolean, seed: number): NDArray[] {
  const inF = xShape[xShape.length - 1]!;
  const xs = [randn(xShape, seed), randn([outF, inF], seed + 1, 1 / Math.sqrt(Math.max(inF, 1)))];
  if (withBias) xs.push(randn([outF], seed + 2, 0.5));
  return xs;
}

// f32 accumulation over K terms: atol grows with sqrt(K) (as in matmul.test.ts); gelu adds the
// erf approximation's 1.5e-7.
const tolFor = (k: number) => ({ fwd: { atol: 2e-5 * Math.sqrt(Math.max(k, 1)), rtol: 1e-5 }, bwd: { atol: 4e-5 * Math.sqrt(Math.max(k, 100)), rtol: 1e-4 } });

describe('linear', () => {
  for (const act of ACTS) {
    it(`linear ${act} reference: gradient matches finite differences [4, 5] x [3, 5]`, () => {
      const xs = inputs([4, 5], 3, true, 1);
      checkFiniteDiff(
        `linear ${act}`,
        xs,
        ([x, w, b]) => linearRef(x!, w!, b!, act),
        ([x, w, b], dy) => linearVjp(x!, w!, b!, act, dy),
      );
    });
  }

  const SHAPES: [number[], number][] = [
    [[67, 33], 129],
    [[2, 3, 33], 17],
    [[1, 1], 1],
    [[5, 96], 288],
    [[0, 4], 3],
  ];
  // every variant with every activation; the naive baseline only in the full configuration
  for (const variant of ['subgroup', 'plain', 'naive']) {
    for (const act of variant === 'naive' ? (['gelu'] as Activation[]) : ACTS) {
      for (const withBias of variant === 'naive' ? [true] : [true, false]) {
        for (const [xShape, outF] of SHAPES) {
          it(`linear ${variant} ${act}${withBias ? ' bias' : ''}: forward and backward match the reference [${xShape}] x [${outF}, ${xShape[xShape.length - 1]}]`, async () => {
            process.env.AUNCE_MATMUL_VARIANT = variant;
            try {
              const xs = inputs(xShape, outF, withBias, 3);
              if (act === 'relu') xs[0] = awayFromZero(xs[0]!);
              await checkGpu({
                name: `linear ${variant} ${act}`,
                inputs: xs,
                gpu: ([x, w, b]) => linear(x!, w!, b ?? null, act),
                ref: ([x, w, b]) => linearRef(x!, w!, b ?? null, act),
                vjp: ([x, w, b], dy) => {
                  const [dx, dw, db] = linearVjp(x!, w!, b ?? null, act, dy);
                  return b ? [dx, dw, db] : [dx, dw];
                },
                ...tolFor(xShape[xShape.length - 1]!),
              });
            } finally {
              delete process.env.AUNCE_MATMUL_VARIANT;
            }
          });
        }
      }
    }
  }

  it('linear: the fused epilogue (subgroup) and the separate pass (plain) agree [40, 64] x [48, 64]', async () => {
    const d = await sharedDevice();
    const [x, w, b] = inputs([40, 64], 48, true, 9).map((a) => Tensor.from(d, a.data, a.shape));
    const run = async (variant: string) => {
      process.env.AUNCE_MATMUL_VARIANT = variant;
      try {
        return await linear(x!, w!, b!, 'gelu').toArray();
      } finally {
        delete process.env.AUNCE_MATMUL_VARIANT;
      }
    };
    const fused = await run('subgroup');
    const separate = await run('plain');
    for (let i = 0; i < fused.length; i++) expect(fused[i]).to.be.closeTo(separate[i]!, 1e-5);
  });

  it('linear: mismatched in-features, a wrong bias and an unknown activation are errors naming the shapes', async () => {
    const d = await sharedDevice();
    const x = Tensor.empty(d, [2, 5]);
    expect(() => linear(x, Tensor.empty(d, [3, 4]))).to.throw(RangeError, /linear: x \[2, 5\], weight \[3, 4\]: the last dimension of x \(5\) differs from weight's in-features \(4\)/);
    expect(() => linear(x, Tensor.empty(d, [3, 5]), Tensor.empty(d, [4]))).to.throw(RangeError, /bias must be \[3\]/);
    expect(() => linear(x, Tensor.empty(d, [3, 5]), null, 'tanh' as Activation)).to.throw(RangeError, /unknown activation 'tanh'/);
  });
});
