/**
 * AUNCE's encoder (the released Graph_au_net_NCE, spec section 7): a Swin backbone, the global
 * LinearBlock(C -> C) and the ANFL head, with C the backbone's output width. State-dict names are
 * the released code's: backbone.*, global_linear.{fc,bn}.*, head.class_linears.i.*, head.gnn.*,
 * head.sc. Built from arch.json:
 *
 *   {"backbone": {"type": "swin", ...}, "head": {"type": "anfl", "numAUs": 12, "neighbors": 4}}
 *
 * Without a backbone ({"head": {..., "channels": C}}) the encoder takes tokens [B, T, C] (used to
 * test the head alone). forward() returns unit-norm per-AU features [B, K, C].
 *
 * `views: 2` runs the global LinearBlock and the head on the two halves of the batch separately,
 * as the released training code does (one forward call per view, so BatchNorm statistics and
 * running-stat updates are per view); `views: 1` (default) runs the batch as one. In eval mode
 * the two agree.
 */
import { concat } from '../ops/concat.js';
import { narrow } from '../ops/slice.js';
import type { Device } from '../runtime/device.js';
import { shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import { AnflHead, LinearBlock } from './anfl.js';
import { Module } from './module.js';
import { parseSwinConfig, type SwinConfig } from './presets.js';
import { SwinTransformer, type SwinOptions } from './swin.js';

export interface AnflConfig {
  numAUs: number;
  neighbors: number;
  /** the head width; must equal the backbone's output width when there is a backbone */
  channels?: number;
}

export interface EncoderArch {
  backbone: SwinConfig | null;
  head: AnflConfig;
}

/** Parses arch.json's object; errors name the field. */
export function parseEncoderArch(obj: unknown): EncoderArch {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new TypeError(`arch: must be an object, got ${JSON.stringify(obj)}`);
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'backbone' && k !== 'head') throw new RangeError(`arch.${k}: unknown field (known: backbone, head)`);
  const backbone = o.backbone === undefined ? null : parseSwinConfig(o.backbone, 'arch.backbone');
  const h = o.head as Record<string, unknown> | undefined;
  if (!h || typeof h !== 'object' || Array.isArray(h)) throw new TypeError(`arch.head: must be an object, got ${JSON.stringify(h)}`);
  if (h.type !== 'anfl') throw new RangeError(`arch.head.type: must be "anfl", got ${JSON.stringify(h.type)}`);
  for (const k of Object.keys(h)) if (!['type', 'numAUs', 'neighbors', 'channels'].includes(k)) throw new RangeError(`arch.head.${k}: unknown field (known: type, numAUs, neighbors, channels)`);
  const int = (k: string, v: unknown): number => {
    if (!(Number.isInteger(v) && (v as number) > 0)) throw new RangeError(`arch.head.${k}: must be a whole number > 0, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const numAUs = int('numAUs', h.numAUs);
  const neighbors = int('neighbors', h.neighbors ?? 4);
  if (neighbors > numAUs) throw new RangeError(`arch.head.neighbors: ${neighbors} exceeds numAUs ${numAUs}`);
  const head: AnflConfig = { numAUs, neighbors };
  if (h.channels !== undefined) head.channels = int('channels', h.channels);
  if (!backbone && head.channels === undefined) throw new RangeError('arch.head.channels: required when there is no backbone');
  return { backbone, head };
}

export interface EncoderOptions {
  /** seeds the head's initial weights and (as `seed`) the backbone's (default 0) */
  seed?: number;
  attention?: SwinOptions['attention'];
}

export interface EncoderForwardOptions {
  /** 2: the global LinearBlock and head run on each half of the batch separately (default 1) */
  views?: 1 | 2;
}

export class AunceEncoder extends Module {
  readonly backbone: SwinTransformer | null;
  readonly globalLinear: LinearBlock;
  readonly head: AnflHead;
  readonly channels: number;

  constructor(
    device: Device,
    readonly arch: EncoderArch,
    opts: EncoderOptions = {},
  ) {
    super();
    const seed = opts.seed ?? 0;
    this.backbone = arch.backbone ? this.registerModule('backbone', new SwinTransformer(device, arch.backbone, { seed, ...(opts.attention ? { attention: opts.attention } : {}) })) : null;
    const c = this.backbone ? this.backbone.numFeatures : arch.head.channels!;
    if (arch.head.channels !== undefined && arch.head.channels !== c) {
      throw new RangeError(`AunceEncoder: arch.head.channels ${arch.head.channels} differs from the backbone's output width ${c}`);
    }
    this.channels = c;
    const rng = new Rng(seed + 7919);
    this.globalLinear = this.registerModule('global_linear', new LinearBlock(device, c, c, rng));
    this.head = this.registerModule('head', new AnflHead(device, { channels: c, numAUs: arch.head.numAUs, neighbors: arch.head.neighbors, rng }));
  }

  /** tokens [B, T, C] -> features [B, K, C] (global LinearBlock + head). */
  forwardTokens(tokens: Tensor, opts: EncoderForwardOptions = {}): Tensor {
    if (tokens.rank !== 3 || tokens.shape[2] !== this.channels) throw new RangeError(`AunceEncoder: tokens ${shapeStr(tokens.shape)} must be [B, T, ${this.channels}]`);
    const views = opts.views ?? 1;
    if (views === 1) return this.head.forward(this.globalLinear.forward(tokens));
    const b = tokens.shape[0]!;
    if (views !== 2 || b % 2 !== 0) throw new RangeError(`AunceEncoder: views must be 1 or 2 (with an even batch), got ${views} for tokens ${shapeStr(tokens.shape)}`);
    const halves = [0, 1].map((v) => this.head.forward(this.globalLinear.forward(narrow(tokens, 0, (v * b) / 2, b / 2))));
    return concat(halves, 0);
  }

  /** images [B, 3, H, W] (or tokens [B, T, C] without a backbone) -> features [B, K, C]. */
  forward(x: Tensor, opts: EncoderForwardOptions = {}): Tensor {
    return this.forwardTokens(this.backbone ? this.backbone.forward(x) : x, opts);
  }
}
