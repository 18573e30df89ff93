/**
 * `aunce encode --checkpoint C.safetensors --arch arch.json --input X.safetensors --out Y.safetensors`:
 * builds the encoder of arch.json, loads a state dict with the released code's key names (strict:
 * a missing, unexpected or mis-shaped tensor is an error naming it; derived buffers such as
 * relative_position_index and attn_mask are compared with ours), runs it in eval mode on the
 * tensor `input` [B, 3, H, W] (already normalised) and writes the per-AU features [B, K, C] as
 * the tensor `features`. `--expect E.safetensors` compares the result with E's `features` and
 * fails above `--tol` (max abs).
 */
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseSafetensors, serializeSafetensors, tensorsToDevice, type HostTensor } from '../io/safetensors.js';
import { AunceEncoder, parseEncoderArch } from '../nn/encoder.js';
import type { Device } from '../runtime/device.js';
import { openDevice } from '../runtime/node_gpu.js';
import { noGrad } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';

export interface EncodeOptions {
  checkpoint: string;
  arch: string;
  input: string;
  out: string;
  expect?: string;
  tol?: number;
  attention?: 'fused' | 'unfused';
}

export interface EncodeResult {
  shape: number[];
  loaded: number;
  derived: number;
  ms: number;
  /** max |ours - expected| when `expect` was given */
  maxAbsDiff?: number;
}

function readTensors(path: string, what: string): Map<string, HostTensor> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
  return parseSafetensors(bytes, path).tensors;
}

/** Runs the encoder once; `given` keeps the caller's device open (tests). */
export async function runEncode(o: EncodeOptions, log: (line: string) => void = () => {}, given?: Device): Promise<EncodeResult> {
  let archJson: unknown;
  try {
    archJson = JSON.parse(readFileSync(o.arch, 'utf8'));
  } catch (err) {
    throw new Error(`--arch ${o.arch}: ${(err as Error).message}`);
  }
  const arch = parseEncoderArch(archJson);
  if (!arch.backbone) throw new Error(`--arch ${o.arch}: encode needs a backbone (images in); this arch has only a head`);
  const ckpt = readTensors(o.checkpoint, '--checkpoint');
  const inputs = readTensors(o.input, '--input');
  const x = inputs.get('input');
  const bb = arch.backbone;
  if (!x) throw new Error(`--input ${o.input}: no tensor named 'input' (found: ${[...inputs.keys()].join(', ') || 'none'})`);
  if (!(x.data instanceof Float32Array) || x.shape.length !== 4 || x.shape[1] !== bb.inChans || x.shape[2] !== bb.imgSize || x.shape[3] !== bb.imgSize) {
    throw new Error(`--input ${o.input}: 'input' is ${x.dtype} [${x.shape.join(', ')}], expected a float tensor [B, ${bb.inChans}, ${bb.imgSize}, ${bb.imgSize}]`);
  }
  const device = given ?? (await openDevice());
  const enc = new AunceEncoder(device, arch, o.attention ? { attention: o.attention } : {});
  const state = tensorsToDevice(device, ckpt);
  try {
    const r = enc.loadStateDict(state);
    const wrong = await enc.verifyDerived(state, 0);
    if (wrong.length) throw new Error(`--checkpoint ${o.checkpoint}: derived buffers differ from this architecture's:\n  ${wrong.join('\n  ')}`);
    log(`checkpoint: ${ckpt.size} tensors (${r.derived.length} derived buffers checked), ${enc.numParameters()} parameters`);
    enc.eval();
    const t0 = performance.now();
    const xt = Tensor.from(device, x.data, x.shape);
    const y = noGrad(() => enc.forward(xt));
    const data = (await y.toArray()) as Float32Array;
    const ms = performance.now() - t0;
    const shape = [...y.shape];
    xt.dispose();
    y.dispose();
    writeFileSync(o.out, serializeSafetensors(new Map([['features', { shape, data }]]), { producer: 'aunce encode', checkpoint: o.checkpoint }));
    log(`features [${shape.join(', ')}] -> ${o.out} (${ms.toFixed(0)} ms, eval mode)`);
    const result: EncodeResult = { shape, loaded: ckpt.size, derived: r.derived.length, ms };
    if (o.expect) {
      const e = readTensors(o.expect, '--expect').get('features');
      if (!e || e.shape.join() !== shape.join()) throw new Error(`--expect ${o.expect}: needs 'features' [${shape.join(', ')}], found ${e ? `[${e.shape.join(', ')}]` : 'none'}`);
      let worst = 0;
      for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(data[i]! - e.data[i]!));
      result.maxAbsDiff = worst;
      const tol = o.tol ?? 2e-4;
      log(`max |features - expected| = ${worst.toExponential(3)} (tolerance ${tol})`);
      if (!(worst <= tol)) throw new Error(`features differ from ${o.expect}: max abs difference ${worst.toExponential(3)} > ${tol}`);
    }
    return result;
  } finally {
    for (const t of state.values()) t.dispose();
    enc.dispose();
    if (!given) device.destroy();
  }
}

export function encodeCommand(): Command {
  return new Command('encode')
    .description('run the AUNCE encoder (Swin + ANFL head) of a PyTorch-exported safetensors checkpoint in eval mode; writes per-AU features [B, K, C]')
    .requiredOption('--checkpoint <file>', 'state dict as safetensors, with the released code\'s key names (backbone.*, global_linear.*, head.*)')
    .requiredOption('--arch <file>', 'arch.json: {"backbone": {"type": "swin", ...}, "head": {"type": "anfl", "numAUs": 12, "neighbors": 4}}')
    .requiredOption('--input <file>', "safetensors holding 'input' [B, 3, H, W], already normalised")
    .requiredOption('--out <file>', "safetensors to write, holding 'features' [B, K, C] (unit norm per AU)")
    .option('--expect <file>', "compare with this file's 'features' and fail above --tol")
    .option('--tol <x>', 'max abs difference allowed by --expect', (v: string) => Number(v), 2e-4)
    .option('--attention <impl>', 'windowed attention: fused or unfused (default: fused where the device runs it)')
    .addHelpText('after', '\nExport a PyTorch checkpoint: see docs/checkpoints.md.')
    .action(async (o: EncodeOptions) => {
      if (o.attention !== undefined && o.attention !== 'fused' && o.attention !== 'unfused') throw new Error(`--attention must be fused or unfused, got ${o.attention}`);
      await runEncode(o, (line) => console.error(line));
    });
}
