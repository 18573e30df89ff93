import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { noGrad, Tensor } from '../../src/index.js';
import { parseSafetensors, stateDictToSafetensors, tensorsToDevice, type HostTensor } from '../../src/io/safetensors.js';
import { AunceEncoder, parseEncoderArch } from '../../src/nn/encoder.js';
import { AdamW } from '../../src/optim/adamw.js';
import { windowAttentionKernels } from '../../src/ops/window_attention.js';
import type { Device } from '../../src/runtime/device.js';
import { openDevice } from '../../src/runtime/node_gpu.js';
import { keep, tidy } from '../../src/tensor/tensor.js';
import { assertClose, sharedDevice } from '../helpers.js';

// test/data/encoder/small16_*: an encoder built and randomly initialised by
// scripts/torch_export/export_encoder.py (Swin V1, embed 16, depths [2, 2, 2], heads [1, 2, 4],
// 112 px, window 7; ANFL head with 12 AUs, 4 neighbours; running statistics from train-mode
// passes, then perturbed), exported with the released key names.
const DATA = 'test/data/encoder/small16';
const read = (suffix: string) => parseSafetensors(readFileSync(`${DATA}_${suffix}.safetensors`), suffix).tensors;
const get = (m: Map<string, HostTensor>, k: string) => m.get(k)!;
const arch = () => parseEncoderArch(JSON.parse(readFileSync(`${DATA}_arch.json`, 'utf8')));

// The bar is 2e-4 max abs on the unit-norm features; measured 1.5e-7 (unfused attention).
// Backbone tokens after the final LayerNorm are O(1): measured max abs error 1.3e-6.
const FEATURES = { atol: 2e-4, rtol: 0 };
const TOKENS = { atol: 5e-5, rtol: 1e-5 };

describe('AUNCE encoder', () => {
  it('AunceEncoder: state-dict keys and order are those PyTorch exported (backbone.*, global_linear.*, head.*)', async () => {
    const d = await sharedDevice();
    const enc = new AunceEncoder(d, arch(), { attention: 'unfused' });
    expect([...enc.stateDict().keys()]).to.deep.equal([...read('state').keys()]);
    enc.dispose();
  });

  it('AunceEncoder eval: PyTorch-initialised encoder gives the same tokens and features (max abs 2e-4) [2, 3, 112, 112]', async function () {
    this.timeout(60000);
    const d = await sharedDevice();
    const enc = new AunceEncoder(d, arch(), { attention: 'unfused' });
    const state = tensorsToDevice(d, read('state'));
    const r = enc.loadStateDict(state);
    expect(r.derived.length, 'relative_position_index and attn_mask buffers found').to.equal(8);
    expect(await enc.verifyDerived(state)).to.deep.equal([]);
    await expectExportedOutputs(d, enc);
    for (const t of state.values()) t.dispose();
    enc.dispose();
  });

  it('AunceEncoder eval without subgroups (the GPU path: workgroup attention kernels, subgroup-free matmul, norms and reductions): the PyTorch tokens and features [2, 3, 112, 112]', async function () {
    this.timeout(120000);
    const d = await openDevice({ disableFeatures: ['subgroups'] });
    try {
      expect(windowAttentionKernels(d, 49, 16)).to.equal('workgroup');
      const enc = new AunceEncoder(d, arch());
      expect(enc.backbone!.attention).to.equal('fused');
      const state = tensorsToDevice(d, read('state'));
      enc.loadStateDict(state);
      await expectExportedOutputs(d, enc);
      for (const t of state.values()) t.dispose();
      enc.dispose();
    } finally {
      d.destroy();
    }
  });

  it('AunceEncoder: our own checkpoint (stateDict -> safetensors) loads back and gives identical features', async function () {
    this.timeout(60000);
    const d = await sharedDevice();
    const a = new AunceEncoder(d, parseEncoderArch({ head: { type: 'anfl', numAUs: 6, neighbors: 3, channels: 16 } }), { seed: 4 });
    const bytes = await stateDictToSafetensors(a.stateDict());
    const b = new AunceEncoder(d, parseEncoderArch({ head: { type: 'anfl', numAUs: 6, neighbors: 3, channels: 16 } }), { seed: 99 });
    b.loadStateDict(tensorsToDevice(d, parseSafetensors(bytes).tensors));
    a.eval();
    b.eval();
    const x = Tensor.from(d, Float32Array.from({ length: 3 * 10 * 16 }, (_, i) => Math.sin(i)), [3, 10, 16]);
    const ya = await noGrad(() => a.forward(x)).toArray();
    const yb = await noGrad(() => b.forward(x)).toArray();
    expect([...yb]).to.deep.equal([...ya]);
    a.dispose();
    b.dispose();
  });

  // test/data/encoder/train16_*: scripts/torch_export/export_train_steps.py (Swin V1 embed 16,
  // depths [2, 2], heads [1, 2], 56 px; ANFL 6 AUs, 3 neighbours; released initialisation) and six
  // torch.optim.Adam steps (lr 1e-3) in train mode on mean((features - targets)^2).
  it('AunceEncoder train: six Adam steps from the PyTorch initialisation follow PyTorch\'s losses and end at its weights [6, 3, 56, 56]', async function () {
    this.timeout(120000);
    const d = await sharedDevice();
    for (const attention of ['fused', 'unfused'] as const) await sixAdamSteps(d, attention, attention);
  });

  it('AunceEncoder train without subgroups (the GPU path, workgroup attention kernels): six Adam steps follow PyTorch [6, 3, 56, 56]', async function () {
    this.timeout(120000);
    const d = await openDevice({ disableFeatures: ['subgroups'] });
    try {
      await sixAdamSteps(d, 'fused', 'no subgroups, workgroup attention');
    } finally {
      d.destroy();
    }
  });
});


/** In eval mode, the small16 encoder gives the backbone tokens and the features PyTorch exported. */
async function expectExportedOutputs(d: Device, enc: AunceEncoder): Promise<void> {
  enc.eval();
  const x = get(read('input'), 'input');
  const exp = read('expected');
  const xt = Tensor.from(d, x.data, x.shape);
  const tokens = noGrad(() => enc.backbone!.forward(xt));
  assertClose(await tokens.toArray(), get(exp, 'tokens').data, TOKENS, 'backbone tokens');
  const y = noGrad(() => enc.forwardTokens(tokens));
  expect([...y.shape]).to.deep.equal([2, 12, 64]);
  assertClose(await y.toArray(), get(exp, 'features').data, FEATURES, 'features');
  for (const t of [xt, tokens, y]) t.dispose();
}
/** Six Adam steps of the train16 encoder on `d`, checked against PyTorch's losses and final weights. */
async function sixAdamSteps(d: Device, attention: 'fused' | 'unfused', label: string): Promise<void> {
  const T = 'test/data/encoder/train16';
  const data = parseSafetensors(readFileSync(`${T}_data.safetensors`), 'data').tensors;
  const enc = new AunceEncoder(d, parseEncoderArch(JSON.parse(readFileSync(`${T}_arch.json`, 'utf8'))), { attention });
  enc.loadStateDict(tensorsToDevice(d, parseSafetensors(readFileSync(`${T}_state.safetensors`), 'state').tensors));
  enc.train();
  const x = Tensor.from(d, get(data, 'input').data as Float32Array, get(data, 'input').shape);
  const t = Tensor.from(d, get(data, 'target').data as Float32Array, get(data, 'target').shape);
  const opt = new AdamW(enc.namedParameters().filter(([k]) => k !== 'head.sc'), { lr: 1e-3, weightDecay: 0 });
  const losses: number[] = [];
  for (let s = 0; s < 6; s++) {
    const l = tidy(() => {
      const diff = enc.forward(x).sub(t);
      const loss = diff.mul(diff).mean();
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return keep(loss);
    });
    losses.push((await l.toFloat32())[0]!);
    l.dispose();
  }
  // the loss moves by about 9e-3 over the six steps; the two agree to about 1e-7
  assertClose(losses, [...(get(data, 'losses').data as Float32Array)], { atol: 2e-6, rtol: 1e-5 }, `${label}: losses`);
  const params = new Map(enc.namedParameters());
  for (const [k, v] of data) {
    if (!k.startsWith('final.')) continue;
    const name = k.slice('final.'.length);
    // Adam moves each weight by up to 6e-3; float32 rounding of the gradients stays far below that
    assertClose(await params.get(name)!.toFloat32(), v.data as Float32Array, { atol: 2e-5, rtol: 1e-4 }, `${label}: ${name} after six steps`);
  }
  for (const a of [x, t]) a.dispose();
  enc.dispose();
}
