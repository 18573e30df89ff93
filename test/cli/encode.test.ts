import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEncode } from '../../src/cli/encode.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { assertClose, sharedDevice } from '../helpers.js';

const DATA = 'test/data/encoder/small16';
const files = { checkpoint: `${DATA}_state.safetensors`, arch: `${DATA}_arch.json`, input: `${DATA}_input.safetensors` };

describe('aunce encode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aunce-encode-'));

  it('aunce encode: writes features [B, K, C] equal to PyTorch\'s to 2e-4 (max abs)', async function () {
    this.timeout(60000);
    const out = join(dir, 'features.safetensors');
    const lines: string[] = [];
    const r = await runEncode({ ...files, out, expect: `${DATA}_expected.safetensors`, attention: 'unfused' }, (l) => lines.push(l), await sharedDevice());
    expect(r.shape).to.deep.equal([2, 12, 64]);
    expect(r.maxAbsDiff).to.be.below(2e-4);
    const written = parseSafetensors(readFileSync(out)).tensors.get('features')!;
    expect(written.shape).to.deep.equal([2, 12, 64]);
    assertClose(written.data, parseSafetensors(readFileSync(`${DATA}_expected.safetensors`)).tensors.get('features')!.data, { atol: 2e-4, rtol: 0 }, 'written features');
    expect(lines.join('\n')).to.match(/199 tensors \(8 derived buffers checked\)/);
  });

  it('aunce encode: a checkpoint missing a tensor is an error naming it', async () => {
    const t = parseSafetensors(readFileSync(files.checkpoint)).tensors;
    t.delete('head.gnn.bnv.running_mean');
    const ckpt = join(dir, 'broken.safetensors');
    writeFileSync(ckpt, serializeSafetensors(t));
    let err: Error | null = null;
    await runEncode({ ...files, checkpoint: ckpt, out: join(dir, 'x.safetensors'), attention: 'unfused' }, () => {}, await sharedDevice()).catch((e: Error) => (err = e));
    expect(err, 'no error').to.not.equal(null);
    expect(err!.message).to.match(/'head.gnn.bnv.running_mean': missing from the state dict/);
  });

  it('aunce encode: an input without a tensor named input, or of the wrong size, is an error', async () => {
    const d = await sharedDevice();
    const bad = join(dir, 'bad_input.safetensors');
    writeFileSync(bad, serializeSafetensors(new Map([['images', { shape: [1, 3, 112, 112], data: new Float32Array(3 * 112 * 112) }]])));
    await runEncode({ ...files, input: bad, out: join(dir, 'y.safetensors') }, () => {}, d).then(
      () => expect.fail('no error'),
      (e: Error) => expect(e.message).to.match(/no tensor named 'input' \(found: images\)/),
    );
    writeFileSync(bad, serializeSafetensors(new Map([['input', { shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) }]])));
    await runEncode({ ...files, input: bad, out: join(dir, 'y.safetensors') }, () => {}, d).then(
      () => expect.fail('no error'),
      (e: Error) => expect(e.message).to.match(/'input' is F32 \[1, 3, 64, 64\], expected a float tensor \[B, 3, 112, 112\]/),
    );
  });
});
