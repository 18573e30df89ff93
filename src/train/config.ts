/**
 * The experiment configuration: one JSON file per experiment, every field optional and defaulting
 * to the paper's or the released code's value where the spec gives one (spec §6.3-§6.5), validated
 * with errors that name the file, line, column and field.
 */
import { readFileSync } from 'node:fs';
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { AunceMode } from '../ref/aunce.js';
import { parseSchedule, RELEASED_SCHEDULE, type Schedule } from '../optim/schedule.js';

export interface LossConfig {
  mode: AunceMode;
  tau: number;
  betaActive: number;
  betaInactive: number;
  /** apply the training-set AU weights of spec §2.1 (paper, C-ORIG) */
  auWeight: boolean;
  /** positive-type probabilities (names of the mode; defaults: spec §3.6 / §4.2) */
  probabilities: Record<string, number> | null;
}

export interface OptimConfig {
  steps: number;
  batchSize: number;
  weightDecay: number;
  betas: [number, number];
  schedule: Schedule;
  /** clip the global gradient norm (null: off) */
  clipGradNorm: number | null;
  /** log (and read back the loss) every this many steps */
  logEvery: number;
  checkpointEvery: number;
}

/**
 * Starting weights for the encoder (the paper starts from an ImageNet-pretrained Swin-B): a
 * safetensors file whose names, after `prefix`, are the encoder's state-dict keys (released names,
 * docs/checkpoints.md). A backbone-only file (an ImageNet Swin) takes prefix "backbone.". Tensors the
 * encoder lacks (a classification head) are skipped and the encoder's tensors the file lacks keep their
 * initialisation; both are reported. A shape mismatch is an error, and so is a file that matches nothing.
 */
export interface InitConfig {
  file: string;
  prefix: string;
}

export interface ExperimentConfig {
  name: string;
  seed: number;
  /** the encoder (src/nn/encoder.ts arch object); numAUs is filled from the data */
  arch: { backbone: Record<string, unknown>; head: { type: 'anfl'; neighbors: number }; init: InitConfig | null };
  data: { fold: number; recipe: 'released' | 'simclr'; views: 'separate' | 'joint'; attention: 'fused' | 'unfused' };
  pretrain: OptimConfig & { loss: LossConfig };
  linear: { protocol: 'strict' | 'released'; epochs: number; batchSize: number; lr: number; weightDecay: number; validationFraction: number; standardize: boolean };
  wce: OptimConfig & { enabled: boolean; hidden: number };
}

/** The released code's optimiser settings (spec §6.3): AdamW, lr 1e-5 step schedule, wd 1e-6, batch 32. */
function optimDefaults(): OptimConfig {
  return { steps: 1000, batchSize: 32, weightDecay: 1e-6, betas: [0.9, 0.999], schedule: RELEASED_SCHEDULE, clipGradNorm: null, logEvery: 10, checkpointEvery: 100 };
}

export function defaultConfig(): ExperimentConfig {
  return {
    name: 'aunce',
    seed: 3407,
    arch: { backbone: { type: 'swin', preset: 'small' }, head: { type: 'anfl', neighbors: 4 }, init: null },
    data: { fold: 0, recipe: 'released', views: 'separate', attention: 'fused' },
    pretrain: {
      ...optimDefaults(),
      loss: { mode: 'official', tau: 0.5, betaActive: 1.2, betaInactive: 0.8, auWeight: false, probabilities: null },
    },
    linear: { protocol: 'strict', epochs: 100, batchSize: 256, lr: 1e-3, weightDecay: 1e-6, validationFraction: 0.2, standardize: false },
    wce: {
      enabled: true,
      hidden: 32,
      ...optimDefaults(),
    },
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Merges `patch` over the defaults, checking every field against the default's type (and the
 * ranges below); `where(path)` gives the location text for a field path.
 */
function merge(base: Record<string, unknown>, patch: Record<string, Json>, path: string, where: (p: string) => string): void {
  for (const [key, value] of Object.entries(patch)) {
    const p = path ? `${path}.${key}` : key;
    if (!(key in base)) throw new ConfigError(`${where(p)}: ${p}: unknown field (known: ${Object.keys(base).join(', ')})`);
    const cur = base[key];
    if (key === 'schedule') {
      try {
        base[key] = parseSchedule(value, p);
      } catch (e) {
        throw new ConfigError(`${where(p)}: ${(e as Error).message}`);
      }
      continue;
    }
    if (key === 'init') {
      base[key] = parseInit(value, p, where);
      continue;
    }
    if (key === 'backbone' || key === 'probabilities') {
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw new ConfigError(`${where(p)}: ${p}: expected an object`);
      base[key] = value;
      continue;
    }
    if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where(p)}: ${p}: expected an object`);
      merge(cur as Record<string, unknown>, value, p, where);
      continue;
    }
    if (Array.isArray(cur)) {
      if (!Array.isArray(value) || value.length !== cur.length || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new ConfigError(`${where(p)}: ${p}: expected ${cur.length} numbers`);
      }
      base[key] = value;
      continue;
    }
    if (key === 'clipGradNorm') {
      if (value !== null && !(typeof value === 'number' && value > 0)) throw new ConfigError(`${where(p)}: ${p}: expected a number > 0 or null`);
      base[key] = value;
      continue;
    }
    if (typeof value !== typeof cur) throw new ConfigError(`${where(p)}: ${p}: expected a ${typeof cur}, got ${JSON.stringify(value)}`);
    base[key] = value;
  }
}

function parseInit(value: Json, p: string, where: (p: string) => string): InitConfig | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${where(p)}: ${p}: expected {"file": "...", "prefix": "..."} or null`);
  for (const k of Object.keys(value)) if (k !== 'file' && k !== 'prefix') throw new ConfigError(`${where(`${p}.${k}`)}: ${p}.${k}: unknown field (known: file, prefix)`);
  if (typeof value.file !== 'string' || value.file === '') throw new ConfigError(`${where(`${p}.file`)}: ${p}.file: expected the path of a safetensors file`);
  if (value.prefix !== undefined && typeof value.prefix !== 'string') throw new ConfigError(`${where(`${p}.prefix`)}: ${p}.prefix: expected a string`);
  return { file: value.file, prefix: (value.prefix as string | undefined) ?? '' };
}

const ENUMS: Record<string, readonly string[]> = {
  'data.recipe': ['released', 'simclr'],
  'data.views': ['separate', 'joint'],
  'data.attention': ['fused', 'unfused'],
  'pretrain.loss.mode': ['paper', 'official'],
  'linear.protocol': ['strict', 'released'],
};

function check(c: ExperimentConfig, where: (p: string) => string): void {
  const fail = (p: string, why: string): never => {
    throw new ConfigError(`${where(p)}: ${p}: ${why}`);
  };
  for (const [p, allowed] of Object.entries(ENUMS)) {
    const v = p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
    if (!allowed.includes(v as string)) fail(p, `expected one of ${allowed.join(' | ')}, got ${JSON.stringify(v)}`);
  }
  const ints: [string, number, number][] = [
    ['seed', c.seed, 0],
    ['data.fold', c.data.fold, 0],
    ['pretrain.steps', c.pretrain.steps, 0],
    ['pretrain.batchSize', c.pretrain.batchSize, 2],
    ['pretrain.logEvery', c.pretrain.logEvery, 1],
    ['pretrain.checkpointEvery', c.pretrain.checkpointEvery, 1],
    ['linear.epochs', c.linear.epochs, 1],
    ['linear.batchSize', c.linear.batchSize, 1],
    ['wce.steps', c.wce.steps, 0],
    ['wce.batchSize', c.wce.batchSize, 2],
    ['wce.hidden', c.wce.hidden, 1],
    ['wce.logEvery', c.wce.logEvery, 1],
    ['wce.checkpointEvery', c.wce.checkpointEvery, 1],
    ['arch.head.neighbors', c.arch.head.neighbors, 1],
  ];
  for (const [p, v, min] of ints) if (!Number.isInteger(v) || v < min) fail(p, `expected a whole number >= ${min}, got ${v}`);
  const pos: [string, number][] = [
    ['pretrain.loss.tau', c.pretrain.loss.tau],
    ['linear.lr', c.linear.lr],
  ];
  for (const [p, v] of pos) if (!(v > 0 && Number.isFinite(v))) fail(p, `expected a number > 0, got ${v}`);
  if (!(c.linear.validationFraction > 0 && c.linear.validationFraction < 1)) fail('linear.validationFraction', `expected a number in (0, 1), got ${c.linear.validationFraction}`);
  for (const [p, b] of [
    ['pretrain.betas', c.pretrain.betas],
    ['wce.betas', c.wce.betas],
  ] as const) {
    if (!b.every((x) => x >= 0 && x < 1)) fail(p, `expected two numbers in [0, 1), got [${b.join(', ')}]`);
  }
}

/** The configuration of a JSON object (defaults for what it lacks); `file` names it in errors. */
export function resolveConfig(obj: unknown, file = 'config', locate: (path: string) => string = () => file): ExperimentConfig {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ConfigError(`${file}: the configuration must be a JSON object`);
  const c = defaultConfig();
  merge(c as unknown as Record<string, unknown>, obj as Record<string, Json>, '', locate);
  check(c, locate);
  return c;
}

/** Reads and validates a configuration file; errors carry FILE:LINE:COL of the field at fault. */
export function readConfig(file: string): ExperimentConfig {
  const text = readFileSync(file, 'utf8');
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const lineCol = (offset: number) => {
    const before = text.slice(0, offset).split('\n');
    return `${file}:${before.length}:${before[before.length - 1]!.length + 1}`;
  };
  if (errors.length > 0 || !root) {
    const e = errors[0];
    throw new ConfigError(`${e ? lineCol(e.offset) : file}: ${e ? printParseErrorCode(e.error) : 'empty file'}`);
  }
  const nodeAt = (path: string): Node | undefined => {
    let n: Node | undefined = root;
    for (const key of path.split('.')) {
      n = n?.children?.find((c) => c.type === 'property' && c.children?.[0]?.value === key)?.children?.[1];
    }
    return n;
  };
  const locate = (path: string) => {
    const n = nodeAt(path);
    return n ? lineCol(n.offset) : file;
  };
  return resolveConfig(JSON.parse(text), file, locate);
}
