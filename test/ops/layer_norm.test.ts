import { expect } from 'chai';
import { layerNorm, layerNormVariant, openDevice, Tensor, type Device, type LayerNormVariant } from '../../src/index.js';
import { layerNormRef, layerNormVjp } from '../../src/ref/layer_norm.js';
import { map, type NDArray } from '../../src/ref/ndarray.js';
import { checkFiniteDiff, checkGpu, randn, sharedDevice } from '../helpers.js';

// Rows with a mean far from 0 and a spread of 2, to exercise the two-pass variance.
const input = (shape: number[], seed: number) => map(randn(shape, seed, 2), (v) => v + 3);

// Forward: f32 sums over <= 129 columns of values ~ 3 +- 2, then a division by the row's standard
// deviation: measured errors <= 2e-6 on outputs up to ~8. Backward: dx mixes two row sums times
// rstd (measured <= 1e-6); dweight and dbias are column sums over up to 33 rows here (300 in the
// determinism test) of terms up to ~10, whose f32 rounding grows with the row count (measured
// ~3e-6 at 33 rows, 1.4e-5 at 400 rows).
const TOL = { fwd: { atol: 1e-5, rtol: 1e-4 }, bwd: { atol: 2e-5, rtol: 1e-4 } };

type Affine = 'weight+bias' | 'none' | 'weight' | 'bias';
const AFFINES: Affine[] = ['weight+bias', 'none', 'weight', 'bias'];

/** The subgroup variant is forced on the shared device; the plain one runs on a device without subgroups. */
const variantArg = (v: LayerNormVariant): LayerNormVariant | undefined => (v === 'subgroup' ? 'subgroup' : undefined);

/** Inputs, GPU call, reference and VJP of one affine configuration, in checkGpu's form. */
function caseOf(affine: Affine, shape: number[], seed: number, eps = 1e-5, variant?: LayerNormVariant) {
  const c = shape[shape.length - 1]!;
  const hasW = affine === 'weight+bias' || affine === 'weight';
  const hasB = affine === 'weight+bias' || affine === 'bias';
  const inputs: NDArray[] = [input(shape, seed)];
  if (hasW) inputs.push(map(randn([c], seed + 1, 0.5), (v) => v + 1));
  if (hasB) inputs.push(randn([c], seed + 2, 0.5));
  const split = <T>(xs: T[]): [T, T | null, T | null] => [xs[0]!, hasW ? xs[1]! : null, hasB ? xs[hasW ? 2 : 1]! : null];
  return {
    inputs,
    gpu: (ts: Tensor[]) => {
      const [x, w, b] = split(ts);
      return layerNorm(x, w, b, eps, variant ? { variant } : {});
    },
    ref: (xs: NDArray[]) => {
      const [x, w, b] = split(xs);
      return layerNormRef(x, w, b, eps);
    },
    vjp: (xs: NDArray[], dy: NDArray) => {
      const [x, w, b] = split(xs);
      const [dx, dw, db] = layerNormVjp(x, w, b, eps, dy);
      return [dx, ...(w ? [dw] : []), ...(b ? [db] : [])];
    },
  };
}

describe('layer norm', () => {
  let plain: Device;
  before(async () => {
    plain = await openDevice({ disableFeatures: ['subgroups'] });
  });
  after(() => plain.destroy());

  for (const affine of AFFINES) {
    it(`layerNorm ${affine} reference: gradient matches finite differences [3, 7]`, () => {
      const c = caseOf(affine, [3, 7], 1);
      checkFiniteDiff('layerNorm', c.inputs, c.ref, c.vjp);
    });
  }

  it('layerNorm variants: plain by default on a CPU adapter and without subgroups; subgroup on request', async () => {
    const d = await sharedDevice();
    expect(d.has('subgroups'), 'this adapter lacks the subgroups feature').to.equal(true);
    expect(layerNormVariant(d)).to.equal(d.adapter.isFallbackAdapter ? 'plain' : 'subgroup');
    expect(plain.has('subgroups')).to.equal(false);
    expect(layerNormVariant(plain)).to.equal('plain');
    expect(() => layerNorm(Tensor.empty(plain, [2, 3]), null, null, 1e-5, { variant: 'subgroup' })).to.throw(/layerNorm: the subgroup variant needs the 'subgroups' feature/);
  });

  // rows of a multiple of 4 run the plain variant 4 columns at a time (forward4, backward_x4)
  const SHAPES = [[67], [3, 129], [33, 96], [2, 3, 33], [1, 1], [5, 1], [2, 0, 5], [0], [5, 8], [4]];
  for (const variant of ['subgroup', 'plain'] as const) {
    for (const shape of SHAPES) {
      it(`layerNorm ${variant}: forward and backward match the reference [${shape}]`, async () => {
        const device = variant === 'plain' ? plain : await sharedDevice();
        await checkGpu({ name: `layerNorm ${variant}`, device, ...caseOf('weight+bias', shape, 7, 1e-5, variantArg(variant)), ...TOL });
      });
    }
    for (const affine of AFFINES.slice(1)) {
      for (const cols of [67, 68]) {
        it(`layerNorm ${variant} ${affine}: forward and backward match the reference [4, ${cols}]`, async () => {
          const device = variant === 'plain' ? plain : await sharedDevice();
          await checkGpu({ name: `layerNorm ${variant} ${affine}`, device, ...caseOf(affine, [4, cols], 5, 1e-5, variantArg(variant)), ...TOL });
        });
      }
    }
    for (const cols of [33, 32]) {
      it(`layerNorm ${variant} eps: a larger eps and constant rows match the reference [6, ${cols}]`, async () => {
        const device = variant === 'plain' ? plain : await sharedDevice();
        const c = caseOf('weight+bias', [6, cols], 9, 0.1, variantArg(variant));
        // make rows 0 and 3 constant: their variance is 0 and eps alone sets rstd
        for (const r of [0, 3]) c.inputs[0]!.data.fill(1.5, r * cols, r * cols + cols);
        await checkGpu({ name: `layerNorm ${variant} eps`, device, ...c, ...TOL });
      });
    }
  }

  for (const variant of ['subgroup', 'plain'] as const) {
    it(`layerNorm ${variant} stability: rows whose mean is 1000 standard deviations from 0 [8, 96]`, async () => {
      const device = variant === 'plain' ? plain : await sharedDevice();
      const c = caseOf('weight+bias', [8, 96], 6, 1e-5, variantArg(variant));
      // inputs rounded to f32 first, so that the reference sees exactly what the GPU sees
      c.inputs[0] = map(randn([8, 96], 6), (v) => Math.fround(1000 + v));
      // f32 resolution at 1000 is 6e-5, so the mean carries an error of ~1e-4 standard deviations
      // however it is summed; E[x^2] - E[x]^2 would lose ~6e-2 of the variance to cancellation.
      await checkGpu({ name: `layerNorm ${variant} stability`, device, ...c, fwd: { atol: 1e-3, rtol: 1e-3 }, bwd: { atol: 1e-3, rtol: 1e-3 } });
    });
  }

  it('layerNorm subgroup: more rows than one grid dimension holds [70000, 4]', async function () {
    this.timeout(120000);
    // rows of 4 values can have a tiny variance (rstd up to ~20 amplifies f32 rounding in dx), and
    // dweight and dbias sum 70000 rows (magnitude ~500; measured errors ~2e-4)
    await checkGpu({ name: 'layerNorm rows', ...caseOf('weight+bias', [70000, 4], 3, 1e-5, 'subgroup'), fwd: { atol: 5e-5, rtol: 1e-4 }, bwd: { atol: 2e-3, rtol: 1e-4 } });
  });

  it('layerNorm: only the inputs that require a gradient get one [5, 33]', async () => {
    const c = caseOf('weight+bias', [5, 33], 4);
    await checkGpu({ name: 'layerNorm partial grads', ...c, grad: [false, true, false], ...TOL });
    await checkGpu({ name: 'layerNorm partial grads', ...c, grad: [true, false, true], ...TOL });
  });

  it('layerNorm: weight and bias gradients are bitwise deterministic [300, 96]', async () => {
    const d = await sharedDevice();
    const c = caseOf('weight+bias', [300, 96], 8);
    const dy = Tensor.from(d, randn([300, 96], 2).data, [300, 96]);
    const runs: Float32Array[][] = [];
    for (let k = 0; k < 2; k++) {
      const [x, w, b] = c.inputs.map((v) => Tensor.from(d, v.data, v.shape, { requiresGrad: true }));
      layerNorm(x!, w!, b!).backward(dy);
      runs.push([await w!.grad!.toFloat32(), await b!.grad!.toFloat32()]);
    }
    expect([...runs[1]![0]!]).to.deep.equal([...runs[0]![0]!]);
    expect([...runs[1]![1]!]).to.deep.equal([...runs[0]![1]!]);
  });

  it('layerNorm: the Tensor method matches the function [2, 8]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, input([2, 8], 1).data, [2, 8]);
    const w = Tensor.from(d, randn([8], 2).data, [8]);
    const a = await x.layerNorm(w, null, 1e-3).toArray();
    const b = await layerNorm(x, w, null, 1e-3).toArray();
    expect([...a]).to.deep.equal([...b]);
  });

  describe('layerNorm errors (raised before any dispatch)', () => {
    const bad: [string, (d: Device) => Tensor, RegExp][] = [
      ['a weight of the wrong length', (d) => layerNorm(Tensor.empty(d, [2, 4]), Tensor.empty(d, [5]), null), /layerNorm: weight \[5\] does not match the last dimension of x \[2, 4\] \(expected \[4\]\)/],
      ['a bias of the wrong rank', (d) => layerNorm(Tensor.empty(d, [2, 4]), null, Tensor.empty(d, [1, 4])), /layerNorm: bias \[1, 4\] does not match the last dimension of x \[2, 4\]/],
      ['a scalar input', (d) => layerNorm(Tensor.empty(d, [])), /layerNorm: x \[\] must have at least one dimension/],
      ['a negative eps', (d) => layerNorm(Tensor.empty(d, [2, 4]), null, null, -1), /layerNorm: eps must be finite and >= 0, got -1/],
      ['an i32 input', (d) => layerNorm(Tensor.from(d, new Int32Array(4), [4])), /layerNorm: expects f32 inputs/],
    ];
    for (const [what, call, msg] of bad) {
      it(`layerNorm: ${what} is an error naming the op and shapes`, async () => {
        const d = await sharedDevice();
        const before = d.counters.dispatches;
        expect(() => call(d)).to.throw(msg);
        expect(d.counters.dispatches).to.equal(before);
      });
    }
  });
});
