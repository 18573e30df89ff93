/**
 * Swin configurations: the released Swin-T/S/B (224 px, window 7, drop-path rates of the released
 * configs), small ones that train on a CPU, and the parser of arch.json's backbone object:
 *
 *   {"type": "swin", "imgSize": 112, "patchSize": 4, "embedDim": 32, "depths": [2,2,2],
 *    "numHeads": [1,2,4], "windowSize": 7, "mlpRatio": 4}
 *
 * Optional fields: inChans (3), mlpRatio (4), dropPathRate (0), ape (false), patchNorm (true), and
 * "preset": a name below whose values the other fields override.
 */

export interface SwinConfig {
  imgSize: number;
  patchSize: number;
  inChans: number;
  embedDim: number;
  depths: number[];
  numHeads: number[];
  windowSize: number;
  mlpRatio: number;
  /** the stochastic-depth rate of the last block (rates rise linearly from 0) */
  dropPathRate: number;
  /** absolute position embedding (off in every released model) */
  ape: boolean;
  /** LayerNorm after the patch embedding */
  patchNorm: boolean;
}

const BASE = { patchSize: 4, inChans: 3, mlpRatio: 4, ape: false, patchNorm: true };

export const SWIN_PRESETS = {
  'swin-t': { ...BASE, imgSize: 224, embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], windowSize: 7, dropPathRate: 0.2 },
  'swin-s': { ...BASE, imgSize: 224, embedDim: 96, depths: [2, 2, 18, 2], numHeads: [3, 6, 12, 24], windowSize: 7, dropPathRate: 0.3 },
  /** AUNCE's backbone (spec 7.1) */
  'swin-b': { ...BASE, imgSize: 224, embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32], windowSize: 7, dropPathRate: 0.5 },
  /** trains on a CPU in minutes: 28² x 32 -> 14² x 64 -> 7² x 128 */
  small: { ...BASE, imgSize: 112, embedDim: 32, depths: [2, 2, 2], numHeads: [1, 2, 4], windowSize: 7, dropPathRate: 0.1 },
  /** for tests: 8² x 8 (window 4, shifted) -> 4² x 16 -> 2² x 32 (one window each) */
  'tiny-test': { ...BASE, imgSize: 32, embedDim: 8, depths: [2, 2, 2], numHeads: [1, 2, 2], windowSize: 4, dropPathRate: 0.1 },
} as const satisfies Record<string, SwinConfig | Readonly<SwinConfig>>;

export type SwinPresetName = keyof typeof SWIN_PRESETS;

/** A fresh (mutable) copy of a preset. */
export function swinPreset(name: SwinPresetName | string): SwinConfig {
  const p = (SWIN_PRESETS as Record<string, Readonly<SwinConfig>>)[name];
  if (!p) throw new RangeError(`unknown Swin preset '${name}' (known: ${Object.keys(SWIN_PRESETS).join(', ')})`);
  return { ...p, depths: [...p.depths], numHeads: [...p.numHeads] };
}

const FIELDS: Record<keyof SwinConfig, 'int' | 'ints' | 'number' | 'boolean'> = {
  imgSize: 'int',
  patchSize: 'int',
  inChans: 'int',
  embedDim: 'int',
  depths: 'ints',
  numHeads: 'ints',
  windowSize: 'int',
  mlpRatio: 'number',
  dropPathRate: 'number',
  ape: 'boolean',
  patchNorm: 'boolean',
};
const DEFAULTS: Partial<SwinConfig> = { inChans: 3, mlpRatio: 4, dropPathRate: 0, ape: false, patchNorm: true };

/** Parses and validates arch.json's backbone object; errors name the field (`where`.field). */
export function parseSwinConfig(obj: unknown, where = 'backbone'): SwinConfig {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new TypeError(`${where}: must be an object, got ${JSON.stringify(obj)}`);
  const o = obj as Record<string, unknown>;
  if (o.type !== 'swin') throw new RangeError(`${where}.type: must be "swin", got ${JSON.stringify(o.type)}`);
  for (const k of Object.keys(o)) {
    if (k !== 'type' && k !== 'preset' && !(k in FIELDS)) throw new RangeError(`${where}.${k}: unknown field (known: type, preset, ${Object.keys(FIELDS).join(', ')})`);
  }
  let base: Partial<SwinConfig> = DEFAULTS;
  if (o.preset !== undefined) {
    if (typeof o.preset !== 'string' || !(o.preset in SWIN_PRESETS)) {
      throw new RangeError(`${where}.preset: must be one of ${Object.keys(SWIN_PRESETS).join(', ')}, got ${JSON.stringify(o.preset)}`);
    }
    base = swinPreset(o.preset);
  }
  const out: Record<string, unknown> = { ...base };
  for (const [k, kind] of Object.entries(FIELDS)) {
    const v = o[k] ?? out[k];
    const f = `${where}.${k}`;
    if (v === undefined) throw new RangeError(`${f}: missing (required unless a preset gives it)`);
    if (kind === 'int' && !(Number.isInteger(v) && (v as number) > 0)) throw new RangeError(`${f}: must be a whole number > 0, got ${JSON.stringify(v)}`);
    if (kind === 'number' && !(typeof v === 'number' && Number.isFinite(v))) throw new RangeError(`${f}: must be a number, got ${JSON.stringify(v)}`);
    if (kind === 'boolean' && typeof v !== 'boolean') throw new RangeError(`${f}: must be true or false, got ${JSON.stringify(v)}`);
    if (kind === 'ints' && !(Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x > 0))) {
      throw new RangeError(`${f}: must be a non-empty array of whole numbers > 0, got ${JSON.stringify(v)}`);
    }
    out[k] = Array.isArray(v) ? [...v] : v;
  }
  const c = out as unknown as SwinConfig;
  validateSwinConfig(c, where);
  return c;
}

/** Checks that a configuration builds (every stage's grid, heads and windows fit); errors name the field. */
export function validateSwinConfig(c: SwinConfig, where = 'backbone'): void {
  if (!(c.mlpRatio > 0)) throw new RangeError(`${where}.mlpRatio: must be > 0, got ${c.mlpRatio}`);
  if (!(c.dropPathRate >= 0 && c.dropPathRate < 1)) throw new RangeError(`${where}.dropPathRate: must be in [0, 1), got ${c.dropPathRate}`);
  if (c.imgSize % c.patchSize !== 0) throw new RangeError(`${where}.imgSize: ${c.imgSize} is not a multiple of patchSize ${c.patchSize}`);
  if (c.numHeads.length !== c.depths.length) {
    throw new RangeError(`${where}.numHeads: has ${c.numHeads.length} entries, depths has ${c.depths.length} (one per stage)`);
  }
  const grid = c.imgSize / c.patchSize;
  const stages = c.depths.length;
  if (grid % 2 ** (stages - 1) !== 0) {
    throw new RangeError(`${where}.imgSize: the ${grid} x ${grid} patch grid cannot be halved ${stages - 1} times (${stages} stages); use an imgSize that is a multiple of ${c.patchSize * 2 ** (stages - 1)}`);
  }
  c.depths.forEach((_, i) => {
    const dim = c.embedDim * 2 ** i;
    if (dim % c.numHeads[i]! !== 0) throw new RangeError(`${where}.numHeads[${i}]: ${c.numHeads[i]} heads do not divide stage ${i}'s ${dim} channels (embedDim ${c.embedDim} x ${2 ** i})`);
    const r = grid / 2 ** i;
    if (r > c.windowSize && r % c.windowSize !== 0) {
      throw new RangeError(`${where}.windowSize: ${c.windowSize} does not divide stage ${i}'s ${r} x ${r} token grid (imgSize ${c.imgSize} / patchSize ${c.patchSize} / ${2 ** i})`);
    }
  });
}

/** The number of parameters of the backbone a configuration builds (counted from the formulas, nothing allocated). */
export function swinParameterCount(c: SwinConfig): number {
  const grid = c.imgSize / c.patchSize;
  let n = c.embedDim * c.inChans * c.patchSize ** 2 + c.embedDim + (c.patchNorm ? 2 * c.embedDim : 0);
  if (c.ape) n += grid * grid * c.embedDim;
  c.depths.forEach((depth, i) => {
    const d = c.embedDim * 2 ** i;
    const r = grid / 2 ** i;
    const ws = Math.min(c.windowSize, r);
    const hidden = Math.floor(d * c.mlpRatio);
    const block = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (2 * ws - 1) ** 2 * c.numHeads[i]! + 2 * d + (d * hidden + hidden + hidden * d + d);
    n += depth * block;
    if (i < c.depths.length - 1) n += 2 * 4 * d + 4 * d * 2 * d;
  });
  return n + 2 * c.embedDim * 2 ** (c.depths.length - 1);
}
