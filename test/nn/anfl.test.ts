import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { backward, knnGraph, noGrad, Tensor, type Device } from '../../src/index.js';
import { parseSafetensors, tensorsToDevice, type HostTensor } from '../../src/io/safetensors.js';
import { AnflHead, LinearBlock } from '../../src/nn/anfl.js';
import { AunceEncoder, parseEncoderArch } from '../../src/nn/encoder.js';
import { nd } from '../../src/ref/ndarray.js';
import { knnGraphRef } from '../../src/ref/knn_graph.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, randn, sharedDevice } from '../helpers.js';

const DATA = 'test/data/encoder';
const read = (name: string) => parseSafetensors(readFileSync(`${DATA}/${name}.safetensors`), name).tensors;
const host = (m: Map<string, HostTensor>, k: string): HostTensor => {
  const t = m.get(k);
  if (!t) throw new Error(`test data lacks '${k}'`);
  return t;
};

// PyTorch (f32, CPU) against our kernels (f32, other summation orders) on unit-norm features of
// width 32: measured max |error| 1.5e-7 (eval and train mode), running statistics 2.4e-7,
// gradients (magnitude up to ~3) 1.2e-6. The bounds leave a margin for other matmul variants.
const FEAT_TOL = { atol: 2e-5, rtol: 0 };
const STAT_TOL = { atol: 1e-5, rtol: 1e-5 };
const GRAD_TOL = { atol: 1e-4, rtol: 1e-4 };

function headEncoder(d: Device): AunceEncoder {
  return new AunceEncoder(d, parseEncoderArch({ head: { type: 'anfl', numAUs: 12, neighbors: 4, channels: 32 } }));
}

describe('ANFL head', () => {
  describe('knnGraph', () => {
    const cases: [string, number[], number][] = [
      ['random similarities', [3, 12, 12], 4],
      ['one neighbour', [2, 8, 8], 1],
      ['all neighbours', [2, 5, 5], 5],
      ['one node', [3, 1, 1], 1],
      ['33 nodes', [1, 33, 33], 4],
      ['an empty batch', [0, 6, 6], 4],
    ];
    for (const [what, shape, k] of cases) {
      it(`knnGraph ${what}: matches the reference (k = ${k}) [${shape}]`, async () => {
        const d = await sharedDevice();
        const s = randn(shape, 3);
        const y = knnGraph(Tensor.from(d, s.data, shape), k);
        expect(y.requiresGrad).to.equal(false);
        assertClose(await y.toArray(), knnGraphRef(s, k), { atol: 1e-7, rtol: 1e-6 }, `knnGraph ${what}`);
      });
    }

    it('knnGraph ties: equal values at the threshold all become neighbours, as torch.topk + >= [2, 6, 6]', async () => {
      const d = await sharedDevice();
      // row 0: the 4th largest (2) appears three times -> 6 neighbours; row 1: all equal -> 6
      const row0 = [5, 2, 3, 2, 2, 9];
      const s = nd([1, 6, 6], [...row0, ...new Array(6).fill(1), ...Array.from({ length: 24 }, (_, i) => (i * 7) % 5)]);
      const ref = knnGraphRef(s, 4);
      const y = await knnGraph(Tensor.from(d, s.data, s.shape), 4).toArray();
      assertClose(y, ref, { atol: 1e-7, rtol: 1e-6 }, 'knnGraph ties');
      expect([...y.slice(0, 6)].filter((v) => v > 0).length).to.equal(6);
      expect([...y.slice(6, 12)].filter((v) => v > 0).length).to.equal(6);
    });

    it('knnGraph: bad shapes and neighbour counts are errors naming the op and shapes', async () => {
      const d = await sharedDevice();
      expect(() => knnGraph(Tensor.empty(d, [2, 3, 4]), 2)).to.throw(/knnGraph: similarities \[2, 3, 4\] must be \[B, K, K\]/);
      expect(() => knnGraph(Tensor.empty(d, [2, 3, 3]), 4)).to.throw(/knnGraph: neighbors must be an integer in \[1, 3\] for similarities \[2, 3, 3\], got 4/);
    });
  });

  it('AunceEncoder head only: state-dict keys and order are the released code\'s', async () => {
    const d = await sharedDevice();
    const enc = headEncoder(d);
    expect([...enc.stateDict().keys()]).to.deep.equal([...read('head_state').keys()]);
    const names = enc.namedParameters().map(([n]) => n);
    expect(names).to.include.members(['global_linear.fc.weight', 'head.class_linears.11.bn.bias', 'head.gnn.U.weight', 'head.gnn.bnv.weight', 'head.sc']);
    enc.dispose();
  });

  it('AunceEncoder head only eval: features match PyTorch (max abs 2e-5) [4, 49, 32] -> [4, 12, 32]', async () => {
    const d = await sharedDevice();
    const enc = headEncoder(d);
    const state = tensorsToDevice(d, read('head_state'));
    enc.loadStateDict(state);
    enc.eval();
    const x = host(read('head_input'), 'tokens');
    const y = noGrad(() => enc.forward(Tensor.from(d, x.data, x.shape)));
    const want = host(read('head_expected'), 'features');
    expect([...y.shape]).to.deep.equal(want.shape);
    assertClose(await y.toArray(), want.data, FEAT_TOL, 'eval features');
    enc.dispose();
  });

  for (const views of [1, 2] as const) {
    it(`AunceEncoder head only train, views ${views}: features, running statistics and num_batches_tracked match PyTorch [4, 49, 32]`, async () => {
      const d = await sharedDevice();
      const enc = headEncoder(d);
      enc.loadStateDict(tensorsToDevice(d, read('head_state')));
      enc.train();
      const x = host(read('head_input'), 'tokens');
      const y = noGrad(() => enc.forward(Tensor.from(d, x.data, x.shape), { views }));
      const exp = read('head_expected');
      const tag = views === 1 ? 'train_one' : 'train_two';
      assertClose(await y.toArray(), host(exp, `${tag}.features`).data, FEAT_TOL, `${tag} features`);
      let checked = 0;
      for (const [k, t] of enc.stateDict()) {
        if (!k.includes('running_') && !k.includes('num_batches_tracked')) continue;
        const want = host(exp, `${tag}.${k}`);
        if (t.dtype === 'i32') expect([...(await t.toArray())], k).to.deep.equal([...want.data]);
        else assertClose(await t.toArray(), want.data, STAT_TOL, `${tag} ${k}`);
        checked++;
      }
      expect(checked).to.equal(14 * 3);
      enc.dispose();
    });
  }

  it('AunceEncoder head only train: gradients of sum(features * r) match PyTorch for the tokens and parameters', async () => {
    const d = await sharedDevice();
    const enc = headEncoder(d);
    enc.loadStateDict(tensorsToDevice(d, read('head_state')));
    enc.train();
    const exp = read('head_expected');
    const x = host(read('head_input'), 'tokens');
    const tokens = Tensor.from(d, x.data, x.shape, { requiresGrad: true });
    const r = host(exp, 'grad.r');
    const y = enc.forward(tokens);
    backward(y, Tensor.from(d, r.data, r.shape));
    assertClose(await tokens.grad!.toArray(), host(exp, 'grad.tokens').data, GRAD_TOL, 'gradient of the tokens');
    const params = new Map(enc.namedParameters());
    let n = 0;
    for (const [k, t] of exp) {
      if (!k.startsWith('grad.') || k === 'grad.r' || k === 'grad.tokens') continue;
      const p = params.get(k.slice(5))!;
      assertClose(await p.grad!.toArray(), t.data, GRAD_TOL, `gradient of ${k.slice(5)}`);
      n++;
    }
    expect(n).to.equal(10);
    expect(enc.head.sc.grad, 'sc is unused: no gradient').to.equal(null);
    enc.dispose();
  });

  it('LinearBlock and AnflHead: parameter counts of spec 7.6 (C = 1024, K = 12)', async function () {
    this.timeout(60000);
    const d = await sharedDevice();
    const rng = new Rng(1);
    const block = new LinearBlock(d, 1024, 1024, rng);
    expect(block.numParameters()).to.equal(1_051_648);
    const head = new AnflHead(d, { channels: 1024, numAUs: 12, neighbors: 4, rng });
    const count = (prefix: string) => head.namedParameters().filter(([n]) => n.startsWith(prefix)).reduce((s, [, t]) => s + t.size, 0);
    expect(count('class_linears.')).to.equal(12_619_776);
    expect(count('gnn.')).to.equal(2_099_224);
    expect(count('sc')).to.equal(12_288);
    expect(block.numParameters() + head.numParameters()).to.equal(1_051_648 + 12_619_776 + 2_099_224 + 12_288);
    block.dispose();
    head.dispose();
  });

  it('AunceEncoder: arch errors name the field', () => {
    expect(() => parseEncoderArch({ head: { type: 'anfl', numAUs: 12, neighbors: 4 } })).to.throw(/arch.head.channels: required when there is no backbone/);
    expect(() => parseEncoderArch({ head: { type: 'mefl', numAUs: 12 } })).to.throw(/arch.head.type: must be "anfl", got "mefl"/);
    expect(() => parseEncoderArch({ head: { type: 'anfl', numAUs: 3, neighbors: 4, channels: 8 } })).to.throw(/arch.head.neighbors: 4 exceeds numAUs 3/);
    expect(() => parseEncoderArch({ head: { type: 'anfl', numAUs: 3, channels: 8 }, extra: 1 })).to.throw(/arch.extra: unknown field/);
  });

  it('AunceEncoder: a mis-shaped tensor in a state dict is an error naming it', async () => {
    const d = await sharedDevice();
    const enc = headEncoder(d);
    const state = tensorsToDevice(d, read('head_state'));
    state.set('head.gnn.U.weight', Tensor.from(d, new Float32Array(32 * 31), [32, 31]));
    state.delete('head.class_linears.2.bn.running_var');
    expect(() => enc.loadStateDict(state)).to.throw(/'head.gnn.U.weight': shape \[32, 31\] in the state dict, \[32, 32\] in the model[\s\S]*'head.class_linears.2.bn.running_var': missing/);
    enc.dispose();
  });
});
