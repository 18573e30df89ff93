/**
 * Swin Transformer V1 as the released code (microsoft/Swin-Transformer models/swin_transformer.py,
 * copied by ME-GraphAU and AUNCE; spec section 7.1), with the same module tree and state-dict
 * names, e.g.
 *
 *   patch_embed.proj.{weight [C, 3, p, p], bias}   patch_embed.norm.{weight, bias}
 *   layers.i.blocks.j.norm1 / .attn.relative_position_bias_table / .attn.relative_position_index
 *   layers.i.blocks.j.attn.qkv / .attn.proj / .norm2 / .mlp.fc1 / .mlp.fc2 / .attn_mask (shifted)
 *   layers.i.downsample.reduction.weight / .downsample.norm     norm.{weight, bias}
 *
 * forward(x [B, 3, H, W]) returns the tokens after the final LayerNorm, [B, T, C] (no pooling, no
 * head), as AUNCE's backbone does. relative_position_index and attn_mask are 'derived' buffers:
 * exported, optional on load, never copied in (see module.ts).
 *
 * Differences in how, not what: the 4x4 stride-4 patch convolution is a reshape/permute and a
 * matmul; roll + window_partition (and its inverse) is one token gather (swin_windows.ts);
 * attention is the fused windowAttention where the device runs it, else attentionUnfused
 * (selectable with `attention`). Dropout and attention dropout are 0 (as AUNCE) and not offered.
 */
import type { Device } from '../runtime/device.js';
import { shapeStr } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, mul } from '../ops/binary.js';
import { linear } from '../ops/linear.js';
import { permute, transpose } from '../ops/permute.js';
import { reshape } from '../ops/reshape.js';
import { narrow } from '../ops/slice.js';
import { WINDOW_ATTENTION_MAX_DH, WINDOW_ATTENTION_MAX_T, windowAttentionTokens, windowAttentionUnsupported, type WindowAttentionOptions } from '../ops/window_attention.js';
import { relativePositionBias, relativePositionIndex, swinShiftMaskData } from '../ops/window_attention_swin.js';
import { Rng } from '../util/rng.js';
import { attentionUnfused } from './attention_unfused.js';
import { LayerNorm, Linear, Module, ModuleList, tensorOfValues, truncNormal, uniformValues } from './module.js';
import type { SwinConfig } from './presets.js';
import { inverseOrder, permuteTokens, windowTokenOrder } from './swin_windows.js';

export type AttentionImpl = 'fused' | 'unfused';

export interface SwinOptions {
  /** seeds the initial weights (default 0) */
  seed?: number;
  /** seeds the stochastic-depth draws (default: seed + 1); see reseedDropPath() */
  dropPathSeed?: number;
  /** windowed attention: the fused kernels (default where the device runs them) or unfused ops */
  attention?: AttentionImpl;
}

/** What the blocks share: the device, the attention choice, the drop-path random source. */
export interface SwinContext {
  device: Device;
  attention: AttentionImpl;
  dropRng: Rng;
}

/**
 * Attention of the qkv Linear's output [Bw, T, 3, heads, dh]; returns [Bw, T, heads, dh]. The fused
 * kernels read and write these layouts in place. Windows or heads they cannot take (T, dh > 64; on
 * devices with only the workgroup kernels, dh % 4 != 0 or too little workgroup memory) take the
 * unfused path, which permutes to [3, Bw, heads, T, dh] and back as the released code does.
 */
function attend(ctx: SwinContext, qkv: Tensor, opts: WindowAttentionOptions): Tensor {
  const [bw, t, , heads, dh] = qkv.shape as [number, number, number, number, number];
  const fits = t <= WINDOW_ATTENTION_MAX_T && dh <= WINDOW_ATTENTION_MAX_DH && windowAttentionUnsupported(ctx.device, { t, dh }) === null;
  if (ctx.attention === 'fused' && fits) return windowAttentionTokens(qkv, opts);
  const packed = permute(qkv, [2, 0, 3, 1, 4]); // [3, Bw, heads, T, dh]
  const part = (i: number) => reshape(narrow(packed, 0, i, 1), [bw, heads, t, dh]);
  return transpose(attentionUnfused(part(0), part(1), part(2), opts), 1, 2);
}

/**
 * timm's drop_path: in training each sample is zeroed with probability p and the others scaled by
 * 1/(1-p) (a [B, 1, 1] mask drawn from rng, one uniform per sample); identity when p = 0 or in eval.
 */
export function dropPath(x: Tensor, p: number, training: boolean, rng: Rng): Tensor {
  if (!training || p === 0) return x;
  const keep = 1 - p;
  const b = x.shape[0]!;
  const m = Float32Array.from({ length: b }, () => Math.floor(keep + rng.next()) / keep);
  return mul(x, Tensor.from(x.device, m, [b, ...x.shape.slice(1).map(() => 1)]));
}

/** The patch convolution's parameters: weight [C, Cin, p, p] and bias [C] (torch's Conv2d names). */
export class PatchProj extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(device: Device, outChans: number, inChans: number, patchSize: number, rng: Rng) {
    super();
    // PyTorch's default Conv2d init (Swin's _init_weights leaves the conv alone): U(±1/sqrt(fan_in))
    const fanIn = inChans * patchSize * patchSize;
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.registerParameter('weight', tensorOfValues(device, uniformValues(rng, outChans * fanIn, -bound, bound), [outChans, inChans, patchSize, patchSize]));
    this.bias = this.registerParameter('bias', tensorOfValues(device, uniformValues(rng, outChans, -bound, bound), [outChans]));
  }
}

/** PatchEmbed: Conv2d(3, C, p, stride p) as [B*T, 3*p*p] @ W^T, then LayerNorm (patch_norm). */
export class PatchEmbed extends Module {
  readonly proj: PatchProj;
  readonly norm: LayerNorm | null;

  constructor(
    device: Device,
    readonly patchSize: number,
    readonly inChans: number,
    readonly embedDim: number,
    patchNorm: boolean,
    rng: Rng,
  ) {
    super();
    this.proj = this.registerModule('proj', new PatchProj(device, embedDim, inChans, patchSize, rng));
    this.norm = patchNorm ? this.registerModule('norm', new LayerNorm(device, embedDim)) : null;
  }

  /** x [B, Cin, H, W] -> [B, (H/p)(W/p), C] */
  forward(x: Tensor): Tensor {
    const p = this.patchSize;
    const [b, c, h, w] = x.shape as [number, number, number, number];
    if (x.rank !== 4 || c !== this.inChans || h % p !== 0 || w % p !== 0) {
      throw new RangeError(`PatchEmbed: input ${shapeStr(x.shape)} must be [B, ${this.inChans}, H, W] with H and W multiples of ${p}`);
    }
    const patches = permute(reshape(x, [b, c, h / p, p, w / p, p]), [0, 2, 4, 1, 3, 5]); // [B, H/p, W/p, c, p, p]
    const rows = reshape(patches, [b, (h / p) * (w / p), c * p * p]);
    const y = linear(rows, reshape(this.proj.weight, [this.embedDim, c * p * p]), this.proj.bias);
    return this.norm ? this.norm.forward(y) : y;
  }
}

/** W-MSA / SW-MSA of one block: qkv, relative-position bias, attention, proj. */
export class WindowAttention extends Module {
  readonly relativePositionBiasTable: Tensor;
  readonly relativePositionIndex: Tensor;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly scale: number;

  constructor(
    private readonly ctx: SwinContext,
    readonly dim: number,
    readonly windowSize: number,
    readonly numHeads: number,
    rng: Rng,
  ) {
    super();
    if (dim % numHeads !== 0) throw new RangeError(`WindowAttention: dim ${dim} is not a multiple of numHeads ${numHeads}`);
    const d = ctx.device;
    const rows = (2 * windowSize - 1) ** 2;
    this.scale = (dim / numHeads) ** -0.5;
    this.relativePositionBiasTable = this.registerParameter('relative_position_bias_table', tensorOfValues(d, truncNormal(rng, rows * numHeads, 0.02), [rows, numHeads]));
    const t = windowSize * windowSize;
    this.relativePositionIndex = this.registerBuffer('relative_position_index', Tensor.from(d, relativePositionIndex(windowSize), [t, t], { dtype: 'i32' }), 'derived');
    this.qkv = this.registerModule('qkv', new Linear(d, dim, 3 * dim, { rng }));
    this.proj = this.registerModule('proj', new Linear(d, dim, dim, { rng }));
  }

  /** x [Bw, T, C] windows; mask [nW, T, T] or null -> [Bw, T, C] */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const [bw, t, c] = x.shape as [number, number, number];
    const heads = this.numHeads;
    const qkv = reshape(this.qkv.forward(x), [bw, t, 3, heads, c / heads]);
    const bias = relativePositionBias(this.relativePositionBiasTable, this.relativePositionIndex.view([t * t]), t);
    const o = attend(this.ctx, qkv, { scale: this.scale, bias, ...(mask ? { mask } : {}) }); // [Bw, T, heads, dh]
    return this.proj.forward(reshape(o, [bw, t, c]));
  }
}

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(device: Device, dim: number, hidden: number, rng: Rng) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(device, dim, hidden, { rng }));
    this.fc2 = this.registerModule('fc2', new Linear(device, hidden, dim, { rng }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x, 'gelu'));
  }
}

/** SwinTransformerBlock: x + drop_path(attn(shifted windows of norm1(x))), then x + drop_path(mlp(norm2(x))). */
export class SwinBlock extends Module {
  readonly windowSize: number;
  readonly shiftSize: number;
  readonly norm1: LayerNorm;
  readonly attn: WindowAttention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  readonly attnMask: Tensor | null;
  private readonly order: Tensor;
  private readonly inverse: Tensor;

  constructor(
    private readonly ctx: SwinContext,
    readonly dim: number,
    readonly resolution: readonly [number, number],
    numHeads: number,
    windowSize: number,
    shiftSize: number,
    mlpRatio: number,
    readonly dropPathRate: number,
    rng: Rng,
  ) {
    super();
    const [h, w] = resolution;
    // the released rule: a stage no larger than the window is one window, unshifted
    if (Math.min(h, w) <= windowSize) {
      windowSize = Math.min(h, w);
      shiftSize = 0;
    }
    if (h % windowSize !== 0 || w % windowSize !== 0) throw new RangeError(`SwinBlock: window ${windowSize} must divide the ${h} x ${w} token grid`);
    this.windowSize = windowSize;
    this.shiftSize = shiftSize;
    const d = ctx.device;
    this.norm1 = this.registerModule('norm1', new LayerNorm(d, dim));
    this.attn = this.registerModule('attn', new WindowAttention(ctx, dim, windowSize, numHeads, rng));
    this.norm2 = this.registerModule('norm2', new LayerNorm(d, dim));
    this.mlp = this.registerModule('mlp', new Mlp(d, dim, Math.floor(dim * mlpRatio), rng));
    const t = windowSize * windowSize;
    this.attnMask = shiftSize > 0 ? this.registerBuffer('attn_mask', Tensor.from(d, swinShiftMaskData(h, w, windowSize, shiftSize), [(h * w) / t, t, t]), 'derived') : null;
    const order = windowTokenOrder(h, w, windowSize, shiftSize);
    this.order = this.registerBuffer('token_order', Tensor.from(d, order, [h * w], { dtype: 'i32' }), false);
    this.inverse = this.registerBuffer('token_inverse', Tensor.from(d, inverseOrder(order), [h * w], { dtype: 'i32' }), false);
  }

  /** x [B, H*W, C] -> [B, H*W, C] */
  forward(x: Tensor): Tensor {
    const [h, w] = this.resolution;
    const [b, l, c] = x.shape as [number, number, number];
    if (x.rank !== 3 || l !== h * w || c !== this.dim) throw new RangeError(`SwinBlock: input ${shapeStr(x.shape)} must be [B, ${h * w}, ${this.dim}]`);
    const t = this.windowSize * this.windowSize;
    const windows = reshape(permuteTokens(this.norm1.forward(x), this.order, this.inverse), [(b * l) / t, t, c]);
    const a = permuteTokens(reshape(this.attn.forward(windows, this.attnMask), [b, l, c]), this.inverse, this.order);
    const x1 = add(x, dropPath(a, this.dropPathRate, this.training, this.ctx.dropRng));
    return add(x1, dropPath(this.mlp.forward(this.norm2.forward(x1)), this.dropPathRate, this.training, this.ctx.dropRng));
  }
}

/** PatchMerging: the 2x2 neighbours concatenated (x0 (0,0), x1 (1,0), x2 (0,1), x3 (1,1)), LN(4C), Linear(4C -> 2C, no bias). */
export class PatchMerging extends Module {
  readonly reduction: Linear;
  readonly norm: LayerNorm;
  constructor(
    device: Device,
    readonly resolution: readonly [number, number],
    readonly dim: number,
    rng: Rng,
  ) {
    super();
    const [h, w] = resolution;
    if (h % 2 !== 0 || w % 2 !== 0) throw new RangeError(`PatchMerging: the ${h} x ${w} token grid is not even`);
    this.reduction = this.registerModule('reduction', new Linear(device, 4 * dim, 2 * dim, { rng, bias: false }));
    this.norm = this.registerModule('norm', new LayerNorm(device, 4 * dim));
  }

  /** x [B, H*W, C] -> [B, H*W/4, 2C] */
  forward(x: Tensor): Tensor {
    const [h, w] = this.resolution;
    const [b, , c] = x.shape as [number, number, number];
    // [B, H/2, dh, W/2, dw, C] -> [B, H/2, W/2, dw, dh, C]: channel block k = 2*dw + dh, the code's x0..x3
    const merged = reshape(permute(reshape(x, [b, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 4, 2, 5]), [b, (h / 2) * (w / 2), 4 * c]);
    return this.reduction.forward(this.norm.forward(merged));
  }
}

export class BasicLayer extends Module {
  readonly blocks: ModuleList<SwinBlock>;
  readonly downsample: PatchMerging | null;
  constructor(ctx: SwinContext, dim: number, resolution: readonly [number, number], depth: number, numHeads: number, windowSize: number, mlpRatio: number, dpr: readonly number[], downsample: boolean, rng: Rng) {
    super();
    const blocks: SwinBlock[] = [];
    for (let i = 0; i < depth; i++) {
      blocks.push(new SwinBlock(ctx, dim, resolution, numHeads, windowSize, i % 2 === 0 ? 0 : Math.floor(windowSize / 2), mlpRatio, dpr[i]!, rng));
    }
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.downsample = downsample ? this.registerModule('downsample', new PatchMerging(ctx.device, resolution, dim, rng)) : null;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const blk of this.blocks) y = blk.forward(y);
    return this.downsample ? this.downsample.forward(y) : y;
  }
}

/** The backbone: PatchEmbed, (absolute position embedding), the stages, the final LayerNorm. */
export class SwinTransformer extends Module {
  readonly config: Readonly<SwinConfig>;
  readonly patchEmbed: PatchEmbed;
  readonly absolutePosEmbed: Tensor | null;
  readonly layers: ModuleList<BasicLayer>;
  readonly norm: LayerNorm;
  /** channels of the output tokens: embedDim * 2^(stages - 1) */
  readonly numFeatures: number;
  /** tokens per image in the output */
  readonly numTokens: number;
  private readonly ctx: SwinContext;

  constructor(device: Device, config: SwinConfig, opts: SwinOptions = {}) {
    super();
    this.config = Object.freeze({ ...config, depths: [...config.depths], numHeads: [...config.numHeads] });
    const c = this.config;
    const seed = opts.seed ?? 0;
    const attention = opts.attention ?? (windowAttentionUnsupported(device) === null ? 'fused' : 'unfused');
    if (attention === 'fused') {
      const why = windowAttentionUnsupported(device);
      if (why) throw new Error(`SwinTransformer: attention 'fused' was asked for, but ${why} (${device.name})`);
    }
    this.ctx = { device, attention, dropRng: new Rng(opts.dropPathSeed ?? seed + 1) };
    const rng = new Rng(seed);
    const grid = c.imgSize / c.patchSize;
    this.patchEmbed = this.registerModule('patch_embed', new PatchEmbed(device, c.patchSize, c.inChans, c.embedDim, c.patchNorm, rng));
    this.absolutePosEmbed = c.ape ? this.registerParameter('absolute_pos_embed', tensorOfValues(device, truncNormal(rng, grid * grid * c.embedDim, 0.02), [1, grid * grid, c.embedDim])) : null;
    const total = c.depths.reduce((a, b) => a + b, 0);
    const dpr = Array.from({ length: total }, (_, i) => (total > 1 ? (c.dropPathRate * i) / (total - 1) : 0)); // torch.linspace(0, rate, total)
    const layers: BasicLayer[] = [];
    let start = 0;
    c.depths.forEach((depth, i) => {
      const res: [number, number] = [grid / 2 ** i, grid / 2 ** i];
      const last = i === c.depths.length - 1;
      layers.push(new BasicLayer(this.ctx, c.embedDim * 2 ** i, res, depth, c.numHeads[i]!, c.windowSize, c.mlpRatio, dpr.slice(start, start + depth), !last, rng));
      start += depth;
    });
    this.layers = this.registerModule('layers', new ModuleList(layers));
    this.numFeatures = c.embedDim * 2 ** (c.depths.length - 1);
    this.numTokens = (grid / 2 ** (c.depths.length - 1)) ** 2;
    this.norm = this.registerModule('norm', new LayerNorm(device, this.numFeatures));
  }

  get attention(): AttentionImpl {
    return this.ctx.attention;
  }

  /** Switches the windowed-attention implementation (e.g. to cross-check the fused kernels). */
  setAttention(impl: AttentionImpl): void {
    if (impl === 'fused') {
      const why = windowAttentionUnsupported(this.ctx.device);
      if (why) throw new Error(`SwinTransformer: ${why}`);
    }
    this.ctx.attention = impl;
  }

  /** Restarts the stochastic-depth draws from `seed`. */
  reseedDropPath(seed: number): void {
    this.ctx.dropRng = new Rng(seed);
  }

  /** x [B, inChans, imgSize, imgSize] -> tokens [B, numTokens, numFeatures] after the final LayerNorm. */
  forward(x: Tensor): Tensor {
    const c = this.config;
    if (x.rank !== 4 || x.shape[1] !== c.inChans || x.shape[2] !== c.imgSize || x.shape[3] !== c.imgSize) {
      throw new RangeError(`SwinTransformer: input ${shapeStr(x.shape)} must be [B, ${c.inChans}, ${c.imgSize}, ${c.imgSize}]`);
    }
    let y = this.patchEmbed.forward(x);
    if (this.absolutePosEmbed) y = add(y, this.absolutePosEmbed);
    for (const layer of this.layers) y = layer.forward(y);
    return this.norm.forward(y);
  }
}
