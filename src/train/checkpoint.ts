/**
 * Training checkpoints: one safetensors file holding the model's state dict (its own key names),
 * the optimizer's moments under `optimizer.<param>.exp_avg[_sq]`, and JSON metadata (phase, step,
 * optimizer step counts, sampler state). Written atomically: to a temporary file in the same folder,
 * then renamed over the old one, so an interrupted write never leaves a torn checkpoint.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseSafetensors, serializeSafetensors, tensorsToDevice, tensorsToHost } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import type { AdamW } from '../optim/adamw.js';
import type { Device } from '../runtime/device.js';
import type { InitConfig } from './config.js';

const OPT = 'optimizer.';

export interface CheckpointMeta {
  phase: string;
  /** steps completed */
  step: number;
  /** anything else the trainer needs to continue (sampler state, ...) */
  extra: Record<string, unknown>;
}

export async function saveCheckpoint(file: string, model: Module, opt: AdamW, meta: CheckpointMeta): Promise<void> {
  const tensors = new Map(model.stateDict());
  const st = opt.state();
  for (const [k, t] of st.tensors) tensors.set(`${OPT}${k}`, t);
  const host = await tensorsToHost(tensors);
  const bytes = serializeSafetensors(host, {
    format: 'aunce-webgpu',
    phase: meta.phase,
    step: String(meta.step),
    optimizerSteps: JSON.stringify(st.steps),
    extra: JSON.stringify(meta.extra),
  });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

/**
 * Copies the starting weights of `init` (config `arch.init`) into `model`: the file's tensors, named
 * `init.prefix` + key, go to the model's keys that exist; the rest are reported, not loaded. Returns
 * how many were loaded, the file's keys the model lacks, and the model's keys the file lacks.
 */
export function loadInitWeights(init: InitConfig, device: Device, model: Module): { loaded: number; skipped: string[]; kept: string[] } {
  const where = `arch.init.file ${init.file}`;
  if (!existsSync(init.file)) throw new Error(`${where} does not exist`);
  const parsed = parseSafetensors(new Uint8Array(readFileSync(init.file)), init.file);
  const own = new Set(model.stateDict().keys());
  const renamed = new Map([...parsed.tensors].map(([k, t]) => [`${init.prefix}${k}`, t]));
  const skipped = [...renamed.keys()].filter((k) => !own.has(k));
  const matched = new Map([...renamed].filter(([k]) => own.has(k)));
  if (matched.size === 0) throw new Error(`${where}: none of its ${renamed.size} tensors names a weight of the encoder with prefix '${init.prefix}' (first: '${[...renamed.keys()][0] ?? ''}')`);
  const onDevice = tensorsToDevice(device, matched);
  try {
    const r = model.loadStateDict(onDevice, { strict: false });
    return { loaded: matched.size - r.derived.length, skipped, kept: r.missing };
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  } finally {
    for (const t of onDevice.values()) t.dispose();
  }
}

/** Loads a checkpoint into `model` and `opt`; returns its metadata. Errors name the file. */
export function loadCheckpoint(file: string, device: Device, model: Module, opt: AdamW | null): CheckpointMeta {
  if (!existsSync(file)) throw new Error(`checkpoint ${file} does not exist`);
  const parsed = parseSafetensors(new Uint8Array(readFileSync(file)), file);
  const md = parsed.metadata ?? {};
  if (md.format !== 'aunce-webgpu' || md.step === undefined || md.phase === undefined) {
    throw new Error(`checkpoint ${file}: metadata lacks format 'aunce-webgpu', phase or step (is it a training checkpoint?)`);
  }
  const all = tensorsToDevice(device, parsed.tensors);
  const modelPart = new Map([...all].filter(([k]) => !k.startsWith(OPT)));
  model.loadStateDict(modelPart, { strict: true });
  for (const t of modelPart.values()) t.dispose();
  if (opt) {
    const optPart = new Map([...all].filter(([k]) => k.startsWith(OPT)).map(([k, t]) => [k.slice(OPT.length), t]));
    opt.loadState({ steps: JSON.parse(md.optimizerSteps ?? '{}') as Record<string, number>, tensors: optPart });
    for (const t of optPart.values()) t.dispose();
  }
  return { phase: md.phase, step: Number(md.step), extra: JSON.parse(md.extra ?? '{}') as Record<string, unknown> };
}
