// The AUNCE loss built from autograd primitives (src/losses/aunce_unfused.ts) against the float64
// reference (src/ref/aunce.ts, itself checked by finite differences in test/ref/aunce.test.ts):
// loss, perAU and dL/dZ through loss.backward(), for every mode, positive type and option; edge
// shapes; and input errors raised before any dispatch.
import { expect } from 'chai';
import { Tensor } from '../../src/index.js';
import { aunceLossUnfused } from '../../src/losses/aunce_unfused.js';
import { aunceGradRef, type AunceOptions, type PositiveType } from '../../src/ref/aunce.js';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, sharedDevice } from '../helpers.js';

/**
 * f32 on the GPU vs f64 on the CPU (the target). The Gram matrix C carries f32 rounding of
 * about D·2^-24·|z|² (≈ 1e-6 at D = 1024 on unit rows), scaled by β/τ ≤ 3.6 inside exponents, so
 * ℓ and L agree to ~1e-5 relative; 1e-4 leaves room for un-normalised features (|c| up to ~40)
 * and τ = 0.02. The atol covers losses that are exactly 0 (no negatives). Gradients are
 * (G + Gᵀ)Z with G a difference of softmax-like weights: 1e-3 relative to each entry, plus 1e-5
 * for entries that cancel to ~0.
 */
const TOL = {
  loss: { atol: 1e-6, rtol: 1e-4 },
  grad: { atol: 1e-5, rtol: 1e-3 },
};

interface Batch {
  z: NDArray;
  labels: number[][];
}

/** Gaussian features (rows L2-normalised unless unit = false); labels P(y=1) = 0.35 with both
 * classes present in every AU except those in `allZero`, which have no negatives (spec §5.9). */
function makeBatch(B: number, K: number, D: number, seed: number, o: { unit?: boolean; allZero?: number[] } = {}): Batch {
  const r = new Rng(seed);
  const N = 2 * B;
  const z = nd([N, K, D]);
  for (let i = 0; i < z.data.length; i++) z.data[i] = r.normal();
  if (o.unit ?? true) {
    for (let row = 0; row < N * K; row++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += z.data[row * D + d]! ** 2;
      for (let d = 0; d < D; d++) z.data[row * D + d]! /= Math.sqrt(s);
    }
  }
  const labels: number[][] = [];
  for (let b = 0; b < B; b++) labels.push(Array.from({ length: K }, () => (r.next() < 0.35 ? 1 : 0)));
  for (let k = 0; k < K; k++) {
    if (o.allZero?.includes(k)) for (let b = 0; b < B; b++) labels[b]![k] = 0;
    else if (B >= 2) {
      labels[0]![k] = 1;
      labels[1]![k] = 0;
    }
  }
  return { z, labels };
}

const weights = (K: number, seed: number): number[] => {
  const r = new Rng(seed);
  return Array.from({ length: K }, () => r.uniform(0.5, 1.5));
};

/** Runs the unfused loss forward and backward and compares loss, perAU and dL/dZ with the reference. */
async function compare(what: string, b: Batch, opts: AunceOptions): Promise<void> {
  const device = await sharedDevice();
  const z = Tensor.from(device, b.z.data, b.z.shape, { requiresGrad: true });
  const { loss, perAU } = aunceLossUnfused(z, b.labels, opts);
  expect([...loss.shape], `${what}: loss shape`).to.deep.equal([]);
  expect([...perAU.shape], `${what}: perAU shape`).to.deep.equal([b.z.shape[1]]);
  loss.backward();
  const want = aunceGradRef(b.z, b.labels, opts);
  assertClose([await loss.item()], [want.loss], TOL.loss, `${what}: loss`);
  assertClose(await perAU.toArray(), want.perAU, TOL.loss, `${what}: perAU`);
  assertClose(await z.grad!.toArray(), want.grad, TOL.grad, `${what}: dL/dZ`);
  z.grad!.dispose();
  for (const t of [z, loss, perAU]) t.dispose();
}

/** The largest |dL/dZ| of the reference, so that a test can show its gradient is not all below atol. */
const maxGrad = (b: Batch, opts: AunceOptions): number => aunceGradRef(b.z, b.labels, opts).grad.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('aunce_unfused', () => {
  const paperTypes: PositiveType[] = ['max', 'aug', 'centroid', 'min'];
  const officialTypes: PositiveType[] = ['max', 'mean', 'aug'];

  describe('vs the float64 reference', () => {
    for (const [mode, types] of [['paper', paperTypes], ['official', officialTypes]] as const) {
      for (const t of types) {
        it(`aunce_unfused ${mode} ${t}: loss, perAU and dL/dZ match the reference, AU 3 without negatives [B=6, K=4, D=16]`, async () => {
          const b = makeBatch(6, 4, 16, 100 + t.length, { allZero: [3] });
          const opts: AunceOptions = { mode, positive: [t, t, t, t] };
          expect(maxGrad(b, opts)).to.be.greaterThan(100 * TOL.grad.atol);
          await compare(`${mode} ${t}`, b, opts);
        });
      }
      it(`aunce_unfused ${mode} one type per AU, AU weights: matches the reference [B=6, K=${types.length + 1}, D=16]`, async () => {
        const K = types.length + 1;
        await compare(`${mode} mixed`, makeBatch(6, K, 16, 7), { mode, positive: [...types, types[0]!], auWeight: weights(K, 3) });
      });
      it(`aunce_unfused ${mode} per-anchor positive types: matches the reference [B=5, K=3, D=12]`, async () => {
        const r = new Rng(21);
        const positive = Array.from({ length: 10 }, () => Array.from({ length: 3 }, () => types[r.int(types.length)]!));
        await compare(`${mode} per anchor`, makeBatch(5, 3, 12, 22), { mode, positive });
      });
    }
    it('aunce_unfused official on un-normalised features, betas 1.5/0.3, AU weights: matches the reference [B=5, K=3, D=16]', async () => {
      await compare('official un-normalised', makeBatch(5, 3, 16, 31, { unit: false }), { mode: 'official', positive: officialTypes, betaActive: 1.5, betaInactive: 0.3, auWeight: weights(3, 4) });
    });
    const variants: [string, AunceOptions][] = [
      ['paper R2 (HCL-normalised negatives)', { mode: 'paper', positive: paperTypes, negWeighting: 'R2', auWeight: weights(4, 1) }],
      ['paper re-normalised centroid', { mode: 'paper', positive: ['centroid', 'centroid', 'centroid', 'centroid'], centroidRenormalise: true }],
      ['paper re-normalised centroid mixed with other types, R2', { mode: 'paper', positive: ['centroid', 'max', 'aug', 'centroid'], centroidRenormalise: true, negWeighting: 'R2' }],
      ['paper betaSwap', { mode: 'paper', positive: paperTypes, betaSwap: true }],
      ['paper betaBy frequency', { mode: 'paper', positive: paperTypes, betaBy: 'frequency', auRate: [0.2, 0.7, 0.5, 0.9] }],
      ['paper sum reduction with AU weights', { mode: 'paper', positive: paperTypes, reduction: 'sum', auWeight: weights(4, 2) }],
      ['official sum reduction', { mode: 'official', positive: ['max', 'mean', 'aug', 'mean'], reduction: 'sum' }],
      ['paper tau 0.02 (log domain)', { mode: 'paper', positive: paperTypes, tau: 0.02 }],
      ['official tau 0.02 (log domain)', { mode: 'official', positive: ['max', 'mean', 'aug', 'mean'], tau: 0.02 }],
    ];
    for (const [name, opts] of variants) {
      it(`aunce_unfused ${name}: matches the reference, AU 3 without negatives [B=6, K=4, D=16]`, async () => {
        await compare(name, makeBatch(6, 4, 16, 41, { allZero: [3] }), opts);
      });
    }
    it('aunce_unfused paper excludePartnerFromPool, with the fallback to the partner: matches the reference [B=5, K=3, D=8]', async () => {
      const b = makeBatch(5, 3, 8, 51);
      // AU 2: image 0 is the only active one, so anchors 0 and 5 fall back to their partner
      for (let i = 0; i < 5; i++) b.labels[i]![2] = i === 0 ? 1 : 0;
      for (const t of ['max', 'centroid', 'min'] as const) {
        await compare(`exclude partner ${t}`, b, { mode: 'paper', positive: [t, t, t], excludePartnerFromPool: true });
      }
    });
    it('aunce_unfused max and min on exact ties: the gradient goes to the lowest index, as in the reference [B=4, K=2, D=8]', async () => {
      const b = makeBatch(4, 2, 8, 61);
      const [N, K, D] = b.z.shape as [number, number, number];
      // images 1 and 2 (both views) share the labels of image 0 and the feature −z_0: for anchor 0
      // four pool members tie at the minimum c = −1, for anchor 1 three tie at the maximum c = 1
      for (const img of [1, 2]) {
        b.labels[img] = [...b.labels[0]!];
        for (const a of [img, img + N / 2]) for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) b.z.data[(a * K + k) * D + d] = -b.z.data[k * D + d]!;
      }
      b.labels[3] = b.labels[0]!.map((v) => 1 - v);
      for (const [mode, t] of [['paper', 'max'], ['paper', 'min'], ['official', 'max']] as const) await compare(`ties ${mode} ${t}`, b, { mode, positive: [t, t] });
    });
  });

  describe('edge shapes', () => {
    it('aunce_unfused paper and official, a batch of one image: loss 0 and zero gradient [B=1, K=3, D=5]', async () => {
      const b = makeBatch(1, 3, 5, 71);
      await compare('B=1 paper', b, { mode: 'paper', positive: ['max', 'aug', 'centroid'] });
      await compare('B=1 official', b, { mode: 'official', positive: ['max', 'mean', 'aug'] });
    });
    it('aunce_unfused paper and official, one AU: matches the reference [B=7, K=1, D=9]', async () => {
      const b = makeBatch(7, 1, 9, 72);
      await compare('K=1 paper', b, { mode: 'paper', positive: ['centroid'], auWeight: [1.3] });
      await compare('K=1 official', b, { mode: 'official', positive: ['mean'] });
    });
    it('aunce_unfused paper and official, shapes off every tile: matches the reference [B=33, K=3, D=67]', async () => {
      const b = makeBatch(33, 3, 67, 73);
      await compare('B=33 paper', b, { mode: 'paper', positive: ['max', 'centroid', 'min'], auWeight: weights(3, 5) });
      await compare('B=33 official', b, { mode: 'official', positive: ['max', 'mean', 'aug'] });
    });
    it('aunce_unfused official at the production shape: matches the reference [B=32, K=12, D=1024]', async () => {
      const types = Array.from({ length: 12 }, (_, k) => officialTypes[k % 3]!);
      await compare('production official', makeBatch(32, 12, 1024, 74), { mode: 'official', positive: types });
    });
  });

  describe('tape', () => {
    it('aunce_unfused: under an upstream gradient of 2.5 dL/dZ scales, and perAU is differentiable [B=4, K=2, D=6]', async () => {
      const device = await sharedDevice();
      const b = makeBatch(4, 2, 6, 81);
      const opts: AunceOptions = { mode: 'paper', positive: ['centroid', 'max'] };
      const z = Tensor.from(device, b.z.data, b.z.shape, { requiresGrad: true });
      const { loss, perAU } = aunceLossUnfused(z, b.labels, opts);
      expect(loss.requiresGrad && perAU.requiresGrad).to.equal(true);
      loss.backward(Tensor.from(device, [2.5], []));
      assertClose(await z.grad!.toArray(), aunceGradRef(b.z, b.labels, opts, 2.5).grad, TOL.grad, 'dL/dZ with upstream 2.5');
      // perAU[1] alone: the reference with weights (0, K) under the default 'mean' reduction
      const z2 = Tensor.from(device, b.z.data, b.z.shape, { requiresGrad: true });
      aunceLossUnfused(z2, b.labels, opts).perAU.backward(Tensor.from(device, [0, 1], [2]));
      assertClose(await z2.grad!.toArray(), aunceGradRef(b.z, b.labels, { ...opts, auWeight: [0, 2] }).grad, TOL.grad, 'dperAU[1]/dZ');
    });
    it('aunce_unfused: on features without a gradient nothing is recorded and the loss is the same [B=4, K=2, D=6]', async () => {
      const device = await sharedDevice();
      const b = makeBatch(4, 2, 6, 82);
      const opts: AunceOptions = { mode: 'official', positive: ['mean', 'max'] };
      const z = Tensor.from(device, b.z.data, b.z.shape);
      const { loss, perAU } = aunceLossUnfused(z, b.labels, opts);
      expect(loss.requiresGrad || perAU.requiresGrad || loss.node !== null).to.equal(false);
      const want = aunceGradRef(b.z, b.labels, opts);
      assertClose([await loss.item()], [want.loss], TOL.loss, 'loss without a gradient');
      for (const t of [z, loss, perAU]) t.dispose();
    });
  });

  describe('bad input', () => {
    const b = makeBatch(3, 2, 4, 91);
    const cases: [string, (z: Tensor) => unknown, RegExp][] = [
      ['a label outside {0,1}', (z) => aunceLossUnfused(z, [[0, 1], [1, 9], [0, 0]], { mode: 'paper', positive: ['max', 'max'] }), /label at row 1, AU 1 is 9/],
      ['features of the wrong rank', (z) => aunceLossUnfused(z.reshape([6, 8]), b.labels, { mode: 'paper', positive: ['max', 'max'] }), /features must be \[2B, K, D\]; got shape \[6, 8\]/],
      ['features that do not match the labels', (z) => aunceLossUnfused(z, [...b.labels, [0, 1]], { mode: 'paper', positive: ['max', 'max'] }), /features of shape \[6, 2, 4\] do not match labels of shape \[4, 2\]/],
      ['a labels row of the wrong length', (z) => aunceLossUnfused(z, [[0, 1], [1], [0, 0]], { mode: 'paper', positive: ['max', 'max'] }), /labels row 1 has 1 entries, expected K = 2/],
      ['mean in paper mode', (z) => aunceLossUnfused(z, b.labels, { mode: 'paper', positive: ['max', 'mean'] }), /positive type 'mean' at AU 1 is not available in paper mode/],
      ['centroid in official mode', (z) => aunceLossUnfused(z, b.labels, { mode: 'official', positive: ['centroid', 'max'] }), /'centroid' at AU 0 is not available in official mode/],
      ['min per anchor in official mode', (z) => aunceLossUnfused(z, b.labels, { mode: 'official', positive: Array.from({ length: 6 }, (_, a): PositiveType[] => (a === 4 ? ['max', 'min'] : ['max', 'max'])) }), /'min' at anchor 4, AU 1/],
      ['a paper-only option in official mode', (z) => aunceLossUnfused(z, b.labels, { mode: 'official', positive: ['max', 'max'], excludePartnerFromPool: true }), /excludePartnerFromPool exists only in paper mode/],
      ['R2 in official mode', (z) => aunceLossUnfused(z, b.labels, { mode: 'official', positive: ['max', 'max'], negWeighting: 'R2' }), /negWeighting exists only in paper mode/],
      ['positive of the wrong length', (z) => aunceLossUnfused(z, b.labels, { mode: 'paper', positive: ['max'] }), /positive must be \[K\] = \[2\] types or \[N, K\] = \[6, 2\]; got 1/],
      ['auWeight of the wrong length', (z) => aunceLossUnfused(z, b.labels, { mode: 'paper', positive: ['max', 'max'], auWeight: [1, 2, 3] }), /auWeight has shape \[3\]/],
      ['tau 0', (z) => aunceLossUnfused(z, b.labels, { mode: 'paper', positive: ['max', 'max'], tau: 0 }), /tau must be a positive finite number, got 0/],
      ['betaBy frequency without auRate', (z) => aunceLossUnfused(z, b.labels, { mode: 'paper', positive: ['max', 'max'], betaBy: 'frequency' }), /betaBy 'frequency' needs auRate of shape \[2\], got none/],
      ['an unknown mode', (z) => aunceLossUnfused(z, b.labels, { mode: 'both' as 'paper', positive: ['max', 'max'] }), /unknown mode 'both'/],
      ['an unknown reduction', (z) => aunceLossUnfused(z, b.labels, { mode: 'paper', positive: ['max', 'max'], reduction: 'max' as 'sum' }), /unknown reduction 'max'/],
    ];
    for (const [name, call, msg] of cases) {
      it(`aunce_unfused ${name}: an error naming the op, before any dispatch [B=3, K=2, D=4]`, async () => {
        const device = await sharedDevice();
        const z = Tensor.from(device, b.z.data, b.z.shape, { requiresGrad: true });
        const before = device.counters.dispatches;
        let err: unknown = null;
        try {
          call(z);
        } catch (e) {
          err = e;
        }
        expect(err, 'an error').to.be.instanceOf(Error);
        expect((err as Error).message).to.match(/^aunceLossUnfused: /).and.to.match(msg);
        expect(device.counters.dispatches).to.equal(before);
        z.dispose();
      });
    }
    it('aunce_unfused an i32 tensor as features: a TypeError naming the op [B=3, K=2, D=4]', async () => {
      const device = await sharedDevice();
      const z = Tensor.from(device, new Int32Array(24), [6, 2, 2], { dtype: 'i32' });
      expect(() => aunceLossUnfused(z, b.labels, { mode: 'paper', positive: ['max', 'max'] })).to.throw(TypeError, /aunceLossUnfused: expects f32 inputs/);
      z.dispose();
    });
  });
});
