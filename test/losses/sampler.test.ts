// The positive-type sampler (src/losses/sampler.ts) against PyTorch's CPU generator streams
// (test/data/goldens/sampler.json, written by scripts/goldens/aunce_goldens.py with torch 1.13),
// the official code's mapping, convergence of the type frequencies, state round trips and errors.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_PROBABILITIES,
  PositiveSampler,
  TorchGenerator,
  validateProbabilities,
  type Probabilities,
  type SamplerState,
} from '../../src/losses/sampler.js';
import { aunceGradRef, type AunceMode, type PositiveType } from '../../src/ref/aunce.js';
import { nd } from '../../src/ref/ndarray.js';

interface Stream {
  seed: number;
  shape: number[];
  uniforms: number[][];
  official: PositiveType[][];
}
const GOLD: { torch: string; streams: Stream[]; thresholdProbe: { u: number; t: number; uLessThanT: boolean } } = JSON.parse(
  readFileSync(new URL('../data/goldens/sampler.json', import.meta.url), 'utf8'),
);

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

describe('sampler', () => {
  describe('torch stream', () => {
    for (const s of GOLD.streams) {
      it(`sampler torch: torch.manual_seed(${s.seed}) then torch.rand per step, bit for bit [${s.shape.join(', ')}] x ${s.uniforms.length}`, () => {
        const g = new TorchGenerator(s.seed);
        s.uniforms.forEach((expected, step) => {
          const got = g.rand(count(s.shape));
          expect(got.length).to.equal(expected.length);
          got.forEach((u, i) => {
            if (u !== expected[i]) expect.fail(`step ${step}, draw ${i}: got ${u}, torch ${expected[i]}`);
          });
        });
      });

      it(`sampler official: types match the official code's masks on torch's uniforms, seed ${s.seed} [${s.shape.join(', ')}]`, () => {
        const perAnchor = s.shape.length === 2;
        const sampler = new PositiveSampler({ mode: 'official', seed: s.seed, granularity: perAnchor ? 'perAnchor' : 'perAU' });
        s.official.forEach((expected, step) => {
          const got = perAnchor ? sampler.next(s.shape[1]!, s.shape[0]!).flat() : sampler.next(s.shape[0]!);
          expect(got, `step ${step}`).to.deep.equal(expected);
        });
        expect(sampler.steps).to.equal(s.official.length);
      });
    }

    it('sampler torch: uniforms are multiples of 2^-24 in [0, 1) and seeds use their low 32 bits', () => {
      const a = new TorchGenerator(2 ** 32 + 5).rand(700);
      const b = new TorchGenerator(5).rand(700);
      expect(a).to.deep.equal(b);
      for (const u of a) {
        expect(u >= 0 && u < 1).to.equal(true);
        expect(Number.isInteger(u * 2 ** 24)).to.equal(true);
      }
    });

    it('sampler torch: thresholds are compared in float32, as torch compares a float32 tensor with a Python float', () => {
      const { u, t, uLessThanT } = GOLD.thresholdProbe;
      expect(u < t, 'the probe is a case where float64 and float32 disagree').to.not.equal(uLessThanT);
      // official probabilities whose first threshold is t: torch's `p < t` decides max vs the rest
      const s = new PositiveSampler({ mode: 'official', probabilities: { max: t, mean: 0, aug: 1 - t } });
      expect(s.typeOf(u)).to.equal(uLessThanT ? 'max' : 'aug');
    });
  });

  describe('mapping and frequencies', () => {
    it('sampler paper: mapping order max, aug, centroid, min at the default thresholds', () => {
      const s = new PositiveSampler({ mode: 'paper', probabilities: { max: 0.25, aug: 0.25, centroid: 0.25, min: 0.25 } });
      expect([0, 0.2499, 0.25, 0.4999, 0.5, 0.7499, 0.75, 0.9999].map((u) => s.typeOf(u))).to.deep.equal(
        ['max', 'max', 'aug', 'aug', 'centroid', 'centroid', 'min', 'min'],
      );
      expect(new PositiveSampler({ mode: 'official' }).typeOf(0.5)).to.equal('mean');
    });

    const runs: [AunceMode, Probabilities | undefined][] = [
      ['paper', undefined],
      ['official', undefined],
      ['paper', { max: 0.1, aug: 0.2, centroid: 0.3, min: 0.4 }],
      ['official', { max: 0.5, mean: 0, aug: 0.5 }],
    ];
    for (const [mode, probs] of runs) {
      const p = probs ?? DEFAULT_PROBABILITIES[mode];
      it(`sampler ${mode}: type frequencies converge to ${JSON.stringify(p)} [20000 x 12]`, () => {
        const s = new PositiveSampler({ mode, seed: 3407, ...(probs ? { probabilities: probs } : {}) });
        const freq = new Map<string, number>();
        const steps = 20000;
        const K = 12;
        for (let i = 0; i < steps; i++) for (const t of s.nextPerAU(K)) freq.set(t, (freq.get(t) ?? 0) + 1);
        for (const [t, pt] of Object.entries(p)) {
          const f = (freq.get(t) ?? 0) / (steps * K);
          // 240000 draws: standard error <= 0.001; a zero probability is never drawn
          if (pt === 0) expect(freq.has(t), `${t} has probability 0`).to.equal(false);
          else expect(Math.abs(f - pt!), `${t}: frequency ${f}, probability ${pt}`).to.be.below(0.005);
        }
      });
    }

    it('sampler paper: a single certain type is always drawn, per anchor too [64, 12]', () => {
      const s = new PositiveSampler({ mode: 'paper', probabilities: { centroid: 1 }, granularity: 'perAnchor', seed: 9 });
      const t = s.next(12, 64) as PositiveType[][];
      expect(t.length).to.equal(64);
      expect(t.every((row) => row.length === 12 && row.every((x) => x === 'centroid'))).to.equal(true);
    });

    it('sampler paper: per-anchor types feed the AUNCE reference as positive [N, K]', () => {
      const B = 3;
      const K = 2;
      const D = 4;
      const s = new PositiveSampler({ mode: 'paper', probabilities: { max: 0.25, aug: 0.25, centroid: 0.25, min: 0.25 }, granularity: 'perAnchor', seed: 1 });
      const positive = s.next(K, 2 * B) as PositiveType[][];
      const z = nd([2 * B, K, D], Array.from({ length: 2 * B * K * D }, (_, i) => Math.sin(1.7 * i + 0.3)));
      const r = aunceGradRef(z, [[1, 0], [0, 1], [0, 0]], { mode: 'paper', positive });
      expect(Number.isFinite(r.loss) && r.loss > 0).to.equal(true);
      expect(new Set(positive.flat()).size).to.be.greaterThan(1);
    });
  });

  describe('state', () => {
    for (const [granularity, K, N] of [['perAU', 12, undefined], ['perAnchor', 12, 64]] as const) {
      it(`sampler state: a JSON round trip continues the same stream (${granularity}, across the 624-word refill)`, () => {
        const a = new PositiveSampler({ mode: 'official', seed: 3407, granularity });
        for (let i = 0; i < 37; i++) a.next(K, N);
        const saved: SamplerState = JSON.parse(JSON.stringify(a.state()));
        const b = PositiveSampler.fromState(saved);
        expect(b.steps).to.equal(37);
        expect(b.granularity).to.equal(granularity);
        expect(b.probabilities).to.deep.equal(a.probabilities);
        for (let i = 0; i < 60; i++) expect(b.next(K, N)).to.deep.equal(a.next(K, N));
        expect(b.state()).to.deep.equal(a.state());
      });
    }

    it('sampler state: the restored stream equals the uninterrupted torch stream', () => {
      const s = GOLD.streams.find((x) => x.seed === 7)!;
      const a = new PositiveSampler({ mode: 'official', seed: 7 });
      const got: PositiveType[][] = [];
      for (let i = 0; i < 25; i++) got.push(a.nextPerAU(12));
      const b = PositiveSampler.fromState(JSON.parse(JSON.stringify(a.state())));
      for (let i = 25; i < s.official.length; i++) got.push(b.nextPerAU(12));
      expect(got).to.deep.equal(s.official);
    });

    it('sampler state: bad states are rejected with a reason', () => {
      const good = new PositiveSampler({ mode: 'paper' }).state();
      expect(() => PositiveSampler.fromState({ ...good, version: 2 } as unknown as SamplerState)).to.throw(/state version 2/);
      expect(() => PositiveSampler.fromState({ ...good, generator: { mt: [1, 2, 3], index: 0 } })).to.throw(/624 words/);
      expect(() => PositiveSampler.fromState({ ...good, generator: { mt: good.generator.mt, index: 625 } })).to.throw(/index must be in \[0, 624\]/);
      const bad = [...good.generator.mt];
      bad[5] = -1;
      expect(() => PositiveSampler.fromState({ ...good, generator: { mt: bad, index: 0 } })).to.throw(/32-bit unsigned/);
      expect(() => PositiveSampler.fromState({ ...good, steps: -1 })).to.throw(/steps/);
      expect(() => PositiveSampler.fromState({ ...good, probabilities: { mean: 1 } })).to.throw(/'mean' is not available in paper mode/);
    });
  });

  describe('validation', () => {
    it('sampler validation: probabilities must be non-negative, finite and sum to 1 within 1e-9', () => {
      expect(() => validateProbabilities('paper', { max: -0.1, aug: 0.4, centroid: 0.7 })).to.throw(RangeError, /'max' must be a finite number >= 0, got -0.1/);
      expect(() => validateProbabilities('official', { max: NaN, mean: 0.5, aug: 0.5 })).to.throw(RangeError, /'max'/);
      expect(() => validateProbabilities('paper', { max: 0.3, aug: 0.3, centroid: 0.3 })).to.throw(RangeError, /sum to 1 \(within 1e-9\); max 0.3, aug 0.3, centroid 0.3, min 0 sum to 0.8999/);
      expect(() => validateProbabilities('official', { max: 0.2, mean: 0.6, aug: 0.2 + 2e-9 })).to.throw(RangeError, /sum to 1/);
      // 0.1 + 0.2 + 0.7 is 0.9999999999999999 in float64: within 1e-9
      expect(validateProbabilities('paper', { max: 0.1, aug: 0.2, centroid: 0.7 })).to.deep.equal({ max: 0.1, aug: 0.2, centroid: 0.7, min: 0 });
    });

    it('sampler validation: type names must belong to the mode', () => {
      expect(() => new PositiveSampler({ mode: 'paper', probabilities: { max: 0.2, mean: 0.6, aug: 0.2 } })).to.throw(/'mean' is not available in paper mode \(max \| aug \| centroid \| min\)/);
      expect(() => new PositiveSampler({ mode: 'official', probabilities: { max: 0.3, centroid: 0.7 } })).to.throw(/'centroid' is not available in official mode/);
      expect(() => new PositiveSampler({ mode: 'official', probabilities: { max: 0.3, aug: 0.5, min: 0.2 } })).to.throw(/'min' is not available in official mode/);
      expect(() => new PositiveSampler({ mode: 'paper', probabilities: { max: 0.5, bogus: 0.5 } as Probabilities })).to.throw(/'bogus'/);
      expect(() => new PositiveSampler({ mode: 'both' as AunceMode })).to.throw(/unknown mode 'both'/);
    });

    it('sampler validation: seed, granularity and sizes', () => {
      expect(() => new PositiveSampler({ mode: 'paper', seed: -1 })).to.throw(RangeError, /seed/);
      expect(() => new PositiveSampler({ mode: 'paper', seed: 1.5 })).to.throw(RangeError, /seed/);
      expect(() => new TorchGenerator(2 ** 60)).to.throw(RangeError, /seed/);
      expect(() => new PositiveSampler({ mode: 'paper', granularity: 'perImage' as 'perAU' })).to.throw(/granularity 'perImage'/);
      const s = new PositiveSampler({ mode: 'paper', granularity: 'perAnchor' });
      expect(() => s.next(12)).to.throw(RangeError, /needs N/);
      expect(() => s.nextPerAnchor(0, 12)).to.throw(RangeError, /\[0, 12\]/);
      expect(() => s.nextPerAU(0)).to.throw(RangeError, /K must be a positive integer/);
      expect(() => s.typeOf(1)).to.throw(RangeError, /outside \[0, 1\)/);
      expect(s.steps).to.equal(0);
    });
  });
});
