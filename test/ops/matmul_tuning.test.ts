import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseMatmulVariant, fileTuningStore, shapeClass, storedMatmulChoice, storeMatmulChoice, tuneMatmul, type MatmulProblem } from '../../src/index.js';
import { sharedDevice } from '../helpers.js';

const prob = (m: number, n: number, k: number, o: Partial<MatmulProblem> = {}): MatmulProblem => ({ batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, ...o });

describe('matmul variant choice', () => {
  it('choice: a CPU adapter defaults to the subgroup variant for large products and plain for tiny ones', async () => {
    const d = await sharedDevice();
    d.tuning.clear();
    expect(chooseMatmulVariant(d, prob(256, 256, 256)).name).to.equal(d.adapter.isFallbackAdapter ? 'subgroup32' : 'tiled');
    expect(chooseMatmulVariant(d, prob(16, 256, 256)).name).to.equal(d.adapter.isFallbackAdapter ? 'subgroup' : 'tiled');
    // few 32-row tiles (a weight gradient's [in, out] product): 16-row tiles keep the threads busy
    expect(chooseMatmulVariant(d, prob(32, 96, 6272)).name).to.equal(d.adapter.isFallbackAdapter ? 'subgroup' : 'tiled');
    expect(chooseMatmulVariant(d, prob(4, 4, 4)).name).to.equal('plain');
  });

  it('choice: AUNCE_MATMUL_VARIANT forces a variant, and an unknown name is an error listing them', async () => {
    const d = await sharedDevice();
    process.env.AUNCE_MATMUL_VARIANT = 'naive';
    try {
      expect(chooseMatmulVariant(d, prob(64, 64, 64)).name).to.equal('naive');
      process.env.AUNCE_MATMUL_VARIANT = 'fastest';
      expect(() => chooseMatmulVariant(d, prob(64, 64, 64))).to.throw(/matmul: no variant 'fastest' \(variants: .*subgroup.*\)/);
    } finally {
      delete process.env.AUNCE_MATMUL_VARIANT;
    }
  });

  it('choice: a stored choice is used for its whole shape class and nothing else', async () => {
    const d = await sharedDevice();
    d.tuning.clear();
    storeMatmulChoice(d, prob(300, 300, 300), 'tiled');
    expect(shapeClass(prob(300, 300, 300))).to.equal(shapeClass(prob(500, 700, 200)));
    expect(chooseMatmulVariant(d, prob(500, 700, 200)).name).to.equal('tiled');
    expect(chooseMatmulVariant(d, prob(300, 300, 300, { transA: true })).name).to.not.equal('tiled');
    d.tuning.clear();
  });

  it('tune: measures every variant that can run a problem and stores the fastest', async function () {
    this.timeout(120000);
    const d = await sharedDevice();
    d.tuning.clear();
    const [r] = await tuneMatmul(d, [prob(96, 64, 48)], { repeats: 3 });
    expect(r!.timings.map((t) => t.variant)).to.include.members(['plain', 'subgroup', 'subgroup32', 'tiled']);
    expect(r!.timings.map((t) => t.variant)).to.not.include('naive');
    for (const t of r!.timings) expect(t.medianMs).to.be.greaterThan(0);
    expect(r!.chosen).to.equal(r!.timings[0]!.variant);
    expect(storedMatmulChoice(d, prob(96, 64, 48))).to.equal(r!.chosen);
    // measured classes are kept unless forced
    expect(await tuneMatmul(d, [prob(96, 64, 48)], { repeats: 3 })).to.have.length(0);
    d.tuning.clear();
  });

  it('tuning store: choices persist per adapter in an atomically written file and can be cleared', async () => {
    const d = await sharedDevice();
    const dir = mkdtempSync(join(tmpdir(), 'aunce-tune-'));
    const store = fileTuningStore(d.adapter, dir);
    store.set('matmul:NN:mlnlklb1', 'subgroup');
    const again = fileTuningStore(d.adapter, dir);
    expect(again.get('matmul:NN:mlnlklb1')).to.equal('subgroup');
    expect(JSON.parse(readFileSync(again.describe(), 'utf8'))).to.deep.equal({ 'matmul:NN:mlnlklb1': 'subgroup' });
    again.clear();
    expect(fileTuningStore(d.adapter, dir).get('matmul:NN:mlnlklb1')).to.equal(undefined);
  });
});
