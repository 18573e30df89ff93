/**
 * A float64 CPU Swin V1, written from the released code's algorithm (torch.roll, window_partition,
 * the img_mask slices, meshgrid relative coordinates, strided PatchMerging, a direct convolution),
 * independent of src/nn's token gathers and of src/ops/window_attention_swin.ts.
 */
import { layerNormRef } from '../../src/ref/layer_norm.js';
import { linearRef } from '../../src/ref/linear.js';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { erf } from '../../src/ref/unary.js';

/** Parameters by state-dict key, as float64 arrays. */
export type Params = Map<string, NDArray>;

const p = (ps: Params, k: string): NDArray => {
  const v = ps.get(k);
  if (!v) throw new Error(`swin_ref: no parameter '${k}'`);
  return v;
};

/** torch.roll(x, (s, s), (1, 2)) of x [B, H, W, C]. */
export function rollRef(x: NDArray, s: number): NDArray {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const y = nd(x.shape);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let k = 0; k < c; k++) {
          const si = (((i - s) % h) + h) % h;
          const sj = (((j - s) % w) + w) % w;
          y.data[((n * h + i) * w + j) * c + k] = x.data[((n * h + si) * w + sj) * c + k]!;
        }
  return y;
}

/** window_partition: [B, H, W, C] -> [B * nW, ws, ws, C]. */
export function partitionRef(x: NDArray, ws: number): NDArray {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const out: number[] = [];
  for (let n = 0; n < b; n++)
    for (let wh = 0; wh < h / ws; wh++)
      for (let ww = 0; ww < w / ws; ww++)
        for (let i = 0; i < ws; i++)
          for (let j = 0; j < ws; j++)
            for (let k = 0; k < c; k++) out.push(x.data[((n * h + wh * ws + i) * w + ww * ws + j) * c + k]!);
  return nd([(b * h * w) / (ws * ws), ws, ws, c], out);
}

export function reverseRef(win: NDArray, ws: number, h: number, w: number): NDArray {
  const c = win.shape[3]!;
  const b = win.shape[0]! / ((h / ws) * (w / ws));
  const y = nd([b, h, w, c]);
  let t = 0;
  for (let n = 0; n < b; n++)
    for (let wh = 0; wh < h / ws; wh++)
      for (let ww = 0; ww < w / ws; ww++)
        for (let i = 0; i < ws; i++)
          for (let j = 0; j < ws; j++)
            for (let k = 0; k < c; k++) y.data[((n * h + wh * ws + i) * w + ww * ws + j) * c + k] = win.data[t++]!;
  return y;
}

/** The released attn_mask: img_mask regions by slices, window_partition, pairwise difference != 0 -> -100. */
export function shiftMaskRef(h: number, w: number, ws: number, shift: number): NDArray {
  const img = nd([1, h, w, 1]);
  const slices = (n: number): [number, number][] => [
    [0, n - ws],
    [n - ws, n - shift],
    [n - shift, n],
  ];
  let cnt = 0;
  for (const [h0, h1] of slices(h))
    for (const [w0, w1] of slices(w)) {
      for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) img.data[i * w + j] = cnt;
      cnt++;
    }
  const mw = partitionRef(img, ws); // [nW, ws, ws, 1]
  const t = ws * ws;
  const nW = mw.shape[0]!;
  const out = nd([nW, t, t]);
  for (let n = 0; n < nW; n++)
    for (let i = 0; i < t; i++)
      for (let j = 0; j < t; j++) out.data[(n * t + i) * t + j] = mw.data[n * t + j]! - mw.data[n * t + i]! !== 0 ? -100 : 0;
  return out;
}

/** relative_position_index by the released meshgrid / permute / shift / scale steps. */
export function relIndexRef(ws: number): number[] {
  const t = ws * ws;
  const coords = [0, 1].map((a) => Array.from({ length: t }, (_, i) => (a === 0 ? Math.floor(i / ws) : i % ws)));
  const out: number[] = [];
  for (let i = 0; i < t; i++)
    for (let j = 0; j < t; j++) {
      const r0 = coords[0]![i]! - coords[0]![j]! + ws - 1;
      const r1 = coords[1]![i]! - coords[1]![j]! + ws - 1;
      out.push(r0 * (2 * ws - 1) + r1);
    }
  return out;
}

const gelu = (z: number) => 0.5 * z * (1 + erf(z / Math.SQRT2));

const ln = (ps: Params, pre: string, x: NDArray) => layerNormRef(x, p(ps, `${pre}.weight`), p(ps, `${pre}.bias`));
const lin = (ps: Params, pre: string, x: NDArray, bias = true) => linearRef(x, p(ps, `${pre}.weight`), bias ? p(ps, `${pre}.bias`) : null, 'none');

/** One SwinTransformerBlock on x [B, H*W, C] (window and shift already resolved). */
export function blockRef(ps: Params, pre: string, x: NDArray, h: number, w: number, ws: number, shift: number, heads: number): NDArray {
  const [b, l, c] = x.shape as [number, number, number];
  let s = nd([b, h, w, c], ln(ps, `${pre}.norm1`, x).data);
  if (shift > 0) s = rollRef(s, -shift);
  const win = partitionRef(s, ws);
  const t = ws * ws;
  const bw = win.shape[0]!;
  const qkv = lin(ps, `${pre}.attn.qkv`, nd([bw * t, c], win.data)); // [Bw*T, 3C]
  const dh = c / heads;
  const table = p(ps, `${pre}.attn.relative_position_bias_table`);
  const idx = relIndexRef(ws);
  const mask = shift > 0 ? shiftMaskRef(h, w, ws, shift) : null;
  const nW = (h / ws) * (w / ws);
  const att = nd([bw * t, c]);
  const at = (n: number, i: number, part: number, hd: number, d: number) => qkv.data[(n * t + i) * 3 * c + part * c + hd * dh + d]!;
  for (let n = 0; n < bw; n++)
    for (let hd = 0; hd < heads; hd++)
      for (let i = 0; i < t; i++) {
        const sc: number[] = [];
        for (let j = 0; j < t; j++) {
          let dot = 0;
          for (let d = 0; d < dh; d++) dot += at(n, i, 0, hd, d) * dh ** -0.5 * at(n, j, 1, hd, d);
          sc.push(dot + table.data[idx[i * t + j]! * heads + hd]! + (mask ? mask.data[((n % nW) * t + i) * t + j]! : 0));
        }
        const m = Math.max(...sc);
        const e = sc.map((v) => Math.exp(v - m));
        const z = e.reduce((u, v) => u + v, 0);
        for (let d = 0; d < dh; d++) {
          let o = 0;
          for (let j = 0; j < t; j++) o += (e[j]! / z) * at(n, j, 2, hd, d);
          att.data[(n * t + i) * c + hd * dh + d] = o;
        }
      }
  const proj = lin(ps, `${pre}.attn.proj`, att);
  let back = reverseRef(nd([bw, ws, ws, c], proj.data), ws, h, w);
  if (shift > 0) back = rollRef(back, shift);
  const x1 = nd(x.shape, x.data.map((v, i) => v + back.data[i]!));
  const hid = lin(ps, `${pre}.mlp.fc1`, ln(ps, `${pre}.norm2`, x1));
  const mlp = lin(ps, `${pre}.mlp.fc2`, nd(hid.shape, hid.data.map(gelu)));
  return nd([b, l, c], x1.data.map((v, i) => v + mlp.data[i]!));
}

/** PatchMerging by the code's strided slices x0 = x[:, 0::2, 0::2], x1 = x[:, 1::2, 0::2], x2 = [0::2, 1::2], x3 = [1::2, 1::2]. */
export function mergeConcatRef(x: NDArray, h: number, w: number): NDArray {
  const [b, , c] = x.shape as [number, number, number];
  const out: number[] = [];
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h / 2; i++)
      for (let j = 0; j < w / 2; j++)
        for (const [dh, dw] of [
          [0, 0],
          [1, 0],
          [0, 1],
          [1, 1],
        ] as const)
          for (let k = 0; k < c; k++) out.push(x.data[((n * h + 2 * i + dh) * w + 2 * j + dw) * c + k]!);
  return nd([b, (h / 2) * (w / 2), 4 * c], out);
}

export function mergingRef(ps: Params, pre: string, x: NDArray, h: number, w: number): NDArray {
  return lin(ps, `${pre}.reduction`, ln(ps, `${pre}.norm`, mergeConcatRef(x, h, w)), false);
}

/** Conv2d(k = stride = patch) by its definition, flatten(2).transpose(1, 2), then the LayerNorm. */
export function patchEmbedRef(ps: Params, x: NDArray, patch: number, norm: boolean): NDArray {
  const [b, cin, h, w] = x.shape as [number, number, number, number];
  const wt = p(ps, 'patch_embed.proj.weight');
  const bias = p(ps, 'patch_embed.proj.bias');
  const cout = wt.shape[0]!;
  const gh = h / patch;
  const gw = w / patch;
  const y = nd([b, gh * gw, cout]);
  for (let n = 0; n < b; n++)
    for (let oi = 0; oi < gh; oi++)
      for (let oj = 0; oj < gw; oj++)
        for (let o = 0; o < cout; o++) {
          let acc = bias.data[o]!;
          for (let ci = 0; ci < cin; ci++)
            for (let ki = 0; ki < patch; ki++)
              for (let kj = 0; kj < patch; kj++) acc += wt.data[((o * cin + ci) * patch + ki) * patch + kj]! * x.data[((n * cin + ci) * h + oi * patch + ki) * w + oj * patch + kj]!;
          y.data[((n * gh + oi) * gw + oj) * cout + o] = acc;
        }
  return norm ? ln(ps, 'patch_embed.norm', y) : y;
}

export interface RefConfig {
  imgSize: number;
  patchSize: number;
  depths: readonly number[];
  numHeads: readonly number[];
  windowSize: number;
}

/** The whole backbone in eval mode: tokens [B, T, C] after the final LayerNorm. */
export function swinRef(ps: Params, cfg: RefConfig, x: NDArray): NDArray {
  let y = patchEmbedRef(ps, x, cfg.patchSize, true);
  let r = cfg.imgSize / cfg.patchSize;
  cfg.depths.forEach((depth, i) => {
    const ws = Math.min(cfg.windowSize, r);
    for (let j = 0; j < depth; j++) {
      const shift = r <= cfg.windowSize || j % 2 === 0 ? 0 : Math.floor(cfg.windowSize / 2);
      y = blockRef(ps, `layers.${i}.blocks.${j}`, y, r, r, ws, shift, cfg.numHeads[i]!);
    }
    if (i < cfg.depths.length - 1) {
      y = mergingRef(ps, `layers.${i}.downsample`, y, r, r);
      r /= 2;
    }
  });
  return ln(ps, 'norm', y);
}
