/**
 * The one list of benchmark cases that every runner reads (the TypeScript runners directly, the
 * Python runner through bench/cases.json, written by `aunce bench --export-cases`).
 *
 * matmul: FLOP counts are 2*batch*M*K*N (one multiply and one add per term); byte counts are the
 * compulsory traffic of f32 operands: both inputs read once and the output written once.
 * aunce (the loss forward + backward, see aunceCase): FLOPs of its two products, bytes of Z, dZ
 * and the saved Gram matrices.
 * attention (fused windowed attention, forward + backward, see attentionCase) and encoder (the Swin +
 * ANFL encoder, see encoderCase): their FLOPs and bytes are explained where the cases are built.
 */

import type { AunceMode, PositiveType } from '../src/ref/aunce.js';
import type { MatmulProblem } from '../src/ops/matmul_variants.js';

export type Op = 'matmul' | 'aunce' | 'attention' | 'encoder';

export interface MatmulCase {
  op: 'matmul';
  name: string;
  /** product count (1 for a plain matrix product) */
  batch: number;
  m: number;
  k: number;
  n: number;
  /** a is stored as [batch, K, M] and read transposed */
  transA?: boolean;
  /** b is stored as [batch, N, K] and read transposed */
  transB?: boolean;
  flops: number;
  bytes: number;
}

/**
 * The AUNCE loss, forward and backward, on features Z [2B, K, D] (rows 0..B-1 view 1, B..2B-1
 * view 2) with the labels of aunceLabels() and one positive type per AU.
 */
export interface AunceCase {
  op: 'aunce';
  name: string;
  /** images per view (N = 2B anchors) */
  b: number;
  /** AUs */
  k: number;
  /** feature dimension per AU */
  d: number;
  mode: AunceMode;
  /** one positive type per AU (length k) */
  positive: PositiveType[];
  /** the input is the raw encoder output, L2-normalised per (row, AU) as part of the loss */
  normalize: boolean;
  flops: number;
  bytes: number;
}

/**
 * Windowed attention (Swin W-MSA / SW-MSA), forward + backward (dQ, dK, dV, dBias) of
 * softmax(q kᵀ · scale + bias[h] + mask[b mod nW]) v with q, k, v [batch · nW, heads, T, dh], the
 * relative-position bias [heads, T, T] and the shift mask of a `grid` x `grid` token map cut into
 * `window` x `window` windows, shifted by `shift` (bench/runners/ours_attention.ts).
 */
export interface AttentionCase {
  op: 'attention';
  name: string;
  /** images */
  batch: number;
  /** windows per image (nW = (grid / window)²) */
  windows: number;
  heads: number;
  /** tokens per window (window²) */
  t: number;
  /** head dimension */
  dh: number;
  /** tokens per side of the feature map */
  grid: number;
  window: number;
  shift: number;
  flops: number;
  bytes: number;
}

/**
 * Images per second of AunceEncoder (src/nn/encoder.ts) on a Swin preset (src/nn/presets.ts):
 * 'eval' runs the forward only in eval mode, 'train' the forward and the backward of the sum of
 * the features in train mode (bench/runners/ours_encoder.ts).
 */
export interface EncoderCase {
  op: 'encoder';
  name: string;
  preset: 'swin-t' | 'small' | 'tiny-test';
  batch: number;
  mode: 'eval' | 'train';
  /** AUs of the ANFL head */
  numAUs: number;
  flops: number;
  bytes: number;
}

export type BenchCase = MatmulCase | AunceCase | AttentionCase | EncoderCase;

/** The cases of one op, typed as such. */
export type CaseOf<O extends Op> = Extract<BenchCase, { op: O }>;

export function casesOf<O extends Op>(op: O, from: readonly BenchCase[] = CASES): CaseOf<O>[] {
  return from.filter((c): c is CaseOf<O> => c.op === op);
}

/** Cases of at most this many FLOPs make up `--quick` (a smoke test, seconds not minutes). */
export const QUICK_MAX_FLOPS = 4e7;

/** The batch size of the Linear cases (tokens = batch * tokens per image). */
export const LINEAR_BATCH = 8;

/** Stored operand shapes: a [batch, M, K] (or [batch, K, M] with transA), likewise b. */
export function operandShapes(c: MatmulCase): { a: number[]; b: number[]; out: number[] } {
  const lead = c.batch === 1 ? [] : [c.batch];
  return {
    a: [...lead, ...(c.transA ? [c.k, c.m] : [c.m, c.k])],
    b: [...lead, ...(c.transB ? [c.n, c.k] : [c.k, c.n])],
    out: [...lead, c.m, c.n],
  };
}

/** The problem of a case in the matmul variants' terms (both operands batched when the case is). */
export function problemOf(c: MatmulCase): MatmulProblem {
  return {
    batch: c.batch,
    m: c.m,
    n: c.n,
    k: c.k,
    transA: Boolean(c.transA),
    transB: Boolean(c.transB),
    aBatchStride: c.batch === 1 ? 0 : c.m * c.k,
    bBatchStride: c.batch === 1 ? 0 : c.k * c.n,
  };
}

/**
 * matmul: 'MxKxN', or 'BxMxKxN' for batched cases, with ' NT' / ' TN' / ' TT' for transposed
 * operands. aunce: the shape of Z, '2BxKxD'. attention: the shape of q, 'BwxHxTxD'. encoder: the
 * images, 'Bx3xHxW'.
 */
export function shapeKey(c: BenchCase): string {
  if (c.op === 'aunce') return `${2 * c.b}x${c.k}x${c.d}`;
  if (c.op === 'attention') return `${c.batch * c.windows}x${c.heads}x${c.t}x${c.dh}`;
  if (c.op === 'encoder') return `${c.batch}x3x${ENCODER_PRESETS[c.preset].imgSize}x${ENCODER_PRESETS[c.preset].imgSize}`;
  const dims = `${c.m}x${c.k}x${c.n}`;
  const t = c.transA || c.transB ? ` ${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}` : '';
  return `${c.batch === 1 ? dims : `${c.batch}x${dims}`}${t}`;
}

export function matmulCase(name: string, batch: number, m: number, k: number, n: number, trans: { transA?: boolean; transB?: boolean } = {}): MatmulCase {
  const c: MatmulCase = { op: 'matmul', name, batch, m, k, n, flops: 2 * batch * m * k * n, bytes: 4 * batch * (m * k + k * n + m * n) };
  if (trans.transA) c.transA = true;
  if (trans.transB) c.transB = true;
  return c;
}

/**
 * Label y[b][k] of the AUNCE cases: 1 where (5b + 3k) mod 7 < 3 (3 in 7 active, a different
 * pattern per AU; both classes occur in every AU from B = 7 on). bench/runners/torch_runner.py
 * (aunce_labels) computes the same.
 */
export function aunceLabels(c: AunceCase): number[][] {
  return Array.from({ length: c.b }, (_, b) => Array.from({ length: c.k }, (_, k) => ((5 * b + 3 * k) % 7 < 3 ? 1 : 0)));
}

/**
 * A fixed stand-in for the positive types a training step draws per AU: official mode max / mean /
 * aug at about the official (0.2, 0.6, 0.2) (spec §4.2); paper mode max / aug / centroid at about
 * the paper's (0.15, 0.15, 0.7) (spec §3.6).
 */
export function positivePattern(mode: AunceMode, k: number): PositiveType[] {
  return Array.from({ length: k }, (_, i): PositiveType => {
    if (mode === 'official') return i % 5 === 0 ? 'max' : i % 5 === 4 ? 'aug' : 'mean';
    return i % 6 === 0 ? 'max' : i % 6 === 3 ? 'aug' : 'centroid';
  });
}

/**
 * An AUNCE case. FLOPs count the two products, each 2*K*N^2*D with N = 2B: the forward Gram
 * matrices C_k = Z_k Z_k^T and the backward dZ_k = (G_k + G_k^T) Z_k (spec §5.1); the O(K N^2)
 * element-wise work is left out. Bytes: Z read twice (once per pass), dZ written once, and C
 * [K, N, N] saved by the forward and read by the backward.
 */
export function aunceCase(b: number, k: number, d: number, mode: AunceMode, opts: { normalize?: boolean } = {}): AunceCase {
  const n = 2 * b;
  const normalize = Boolean(opts.normalize);
  const positive = positivePattern(mode, k);
  const mix = mode === 'official' ? 'max/mean/aug' : 'max/aug/centroid';
  return {
    op: 'aunce',
    name: `aunce ${mode} ${mix}${normalize ? ' normalize' : ''} B${b} K${k} D${d}`,
    b,
    k,
    d,
    mode,
    positive,
    normalize,
    flops: 2 * (2 * k * n * n * d),
    bytes: 4 * (3 * n * k * d + 2 * k * n * n),
  };
}

/**
 * A windowed-attention case: `batch` images of a `grid` x `grid` token map with `heads` heads of
 * dimension `dh`, windows of `window` x `window` tokens, shifted by `shift` (the SW-MSA mask).
 * FLOPs count the six products per (window, head), 2·T²·dh each: the forward's q kᵀ and P v
 * (4·T²·dh), the backward's dP = dy vᵀ, dV = Pᵀ dy, dQ = dS k and dK = dSᵀ q (8·T²·dh); softmax,
 * bias, mask and the dS = P ⊙ (dP − rowsum(dP ⊙ P)) element-wise work is left out. Bytes: the
 * [Bw, heads, T, dh] tensors each pass must touch once, the forward's q, k, v, out and the
 * backward's q, k, v, dy, dq, dk, dv (11 of them); bias, mask and the saved P are left out.
 */
export function attentionCase(label: string, batch: number, grid: number, heads: number, opts: { window?: number; shift?: number; dh?: number } = {}): AttentionCase {
  const window = opts.window ?? 7;
  const shift = opts.shift ?? Math.floor(window / 2);
  const dh = opts.dh ?? 32;
  if (grid % window !== 0) throw new RangeError(`attentionCase: grid ${grid} is not a multiple of window ${window}`);
  const windows = (grid / window) ** 2;
  const t = window * window;
  const wh = batch * windows * heads;
  return {
    op: 'attention',
    name: `attention ${label} b${batch} ${grid}x${grid} w${window} s${shift} ${windows}x${heads}x${t}x${dh}`,
    batch,
    windows,
    heads,
    t,
    dh,
    grid,
    window,
    shift,
    flops: wh * (4 * t * t * dh + 8 * t * t * dh),
    bytes: 4 * 11 * wh * t * dh,
  };
}

/** The Swin configurations of the encoder cases (a subset of SWIN_PRESETS, repeated to keep this file free of src/nn). */
export const ENCODER_PRESETS = {
  'swin-t': { imgSize: 224, embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], window: 7 },
  small: { imgSize: 112, embedDim: 32, depths: [2, 2, 2], numHeads: [1, 2, 4], window: 7 },
  'tiny-test': { imgSize: 32, embedDim: 8, depths: [2, 2, 2], numHeads: [1, 2, 2], window: 4 },
} as const;

/**
 * Forward FLOPs of one image through the Swin backbone (patch 4, MLP ratio 4): the patch
 * embedding, per block the qkv, proj and MLP products (2·tokens·24·C²) and the attention products
 * (4·tokens·T·C over all heads), and the patch merging (2·tokens/4·4C·2C); norms, softmax, GELU
 * and the ANFL head (small next to the backbone) are left out.
 */
export function swinForwardFlops(preset: keyof typeof ENCODER_PRESETS): number {
  const p = ENCODER_PRESETS[preset];
  let side = p.imgSize / 4;
  let c: number = p.embedDim;
  const t = p.window * p.window;
  let flops = 2 * side * side * 3 * 16 * c;
  p.depths.forEach((depth, i) => {
    const n = side * side;
    flops += depth * (2 * n * 12 * c * c + 4 * n * Math.min(t, n) * c);
    if (i < p.depths.length - 1) {
      side /= 2;
      flops += 2 * side * side * 4 * c * 2 * c;
      c *= 2;
    }
  });
  return flops;
}

/**
 * An encoder case. FLOPs: swinForwardFlops per image, three times that for 'train' (the backward
 * computes two products per forward product); bytes: the f32 images read.
 */
export function encoderCase(preset: EncoderCase['preset'], batch: number, mode: EncoderCase['mode']): EncoderCase {
  const px = ENCODER_PRESETS[preset].imgSize;
  const what = mode === 'eval' ? 'forward (eval)' : 'forward+backward (train)';
  return {
    op: 'encoder',
    name: `encoder ${preset} ${px}px b${batch} ${what}`,
    preset,
    batch,
    mode,
    numAUs: 12,
    flops: batch * swinForwardFlops(preset) * (mode === 'eval' ? 1 : 3),
    bytes: 4 * batch * 3 * px * px,
  };
}

interface Stage {
  tokens: number;
  channels: number;
}

/** The four Linear layers of a Swin block (qkv, proj, mlp up and down) at one stage. */
function swinLinears(model: string, stages: Stage[]): MatmulCase[] {
  const out: MatmulCase[] = [];
  stages.forEach(({ tokens, channels: c }, i) => {
    const t = LINEAR_BATCH * tokens;
    const layers: [string, number, number][] = [
      ['qkv', c, 3 * c],
      ['proj', c, c],
      ['mlp1', c, 4 * c],
      ['mlp2', 4 * c, c],
    ];
    for (const [layer, k, n] of layers) {
      out.push(matmulCase(`linear ${model} b${LINEAR_BATCH} s${i + 1} ${layer} [${t}x${k}]x[${k}x${n}]`, 1, t, k, n));
    }
  });
  return out;
}

function buildCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const s of [256, 512, 1024, 2048]) cases.push(matmulCase(`square ${s}`, 1, s, s, s));
  // Swin-T: embed 96, 224 px, patch 4 -> 56x56 tokens, halved per stage, channels doubled (at
  // 112 px its fourth stage would have 3.5 x 3.5 tokens: Swin-T has no 112 px configuration).
  cases.push(
    ...swinLinears('swin-t 224px', [
      { tokens: 3136, channels: 96 },
      { tokens: 784, channels: 192 },
      { tokens: 196, channels: 384 },
      { tokens: 49, channels: 768 },
    ]),
  );
  // The small CPU configuration: embed 32, depths [2,2,2], heads [1,2,4], at 112 px (28x28
  // tokens) and at 224 px (56x56 tokens: four times the rows, K as narrow as 32).
  cases.push(
    ...swinLinears('small 112px', [
      { tokens: 784, channels: 32 },
      { tokens: 196, channels: 64 },
      { tokens: 49, channels: 128 },
    ]),
    ...swinLinears('small 224px', [
      { tokens: 3136, channels: 32 },
      { tokens: 784, channels: 64 },
      { tokens: 196, channels: 128 },
    ]),
  );
  // Windowed attention: 192 (windows x heads) products of 7x7 = 49 tokens with head dim 32.
  cases.push(matmulCase('attn q@kT 192x[49x32]x[32x49]', 192, 49, 32, 49));
  cases.push(matmulCase('attn q@kT 192x[49x32]x[49x32]^T', 192, 49, 32, 49, { transB: true }));
  cases.push(matmulCase('attn p@v 192x[49x49]x[49x32]', 192, 49, 49, 32));
  // AUNCE Gram matrices: K = 12 AUs, 2B = 64 embeddings of dimension D per AU.
  cases.push(matmulCase('gram K12 2B64 D512 [12x64x512]x[12x512x64]', 12, 64, 512, 64));
  cases.push(matmulCase('gram K12 2B64 D512 [12x64x512]x[12x64x512]^T', 12, 64, 512, 64, { transB: true }));
  cases.push(matmulCase('gram K12 2B64 D768 [12x64x768]x[12x768x64]', 12, 64, 768, 64));
  // The AUNCE loss, forward + backward: the issue's target shape B = 32 (2B = 64), K = 12,
  // D = 1024, then D = 256, B = 128, paper mode (centroid), and the fused L2-normalisation; the two
  // small ones make up --quick.
  cases.push(
    aunceCase(32, 12, 1024, 'official'),
    aunceCase(32, 12, 256, 'official'),
    aunceCase(128, 12, 1024, 'official'),
    aunceCase(32, 12, 1024, 'paper'),
    aunceCase(32, 12, 1024, 'official', { normalize: true }),
    aunceCase(8, 12, 64, 'official'),
    aunceCase(8, 12, 64, 'paper', { normalize: true }),
  );
  // Fused windowed attention, forward + backward: Swin-T stage 1 at 224 px (56x56 tokens, 64
  // windows x 3 heads x 49 tokens x 32 dims per image, shift 3) and the small configuration's stage
  // 1 at 112 px (28x28 tokens, 16 windows x 1 head); the last one (4 windows) is the --quick case.
  cases.push(
    attentionCase('swin-t s1', 2, 56, 3),
    attentionCase('swin-t s1', 8, 56, 3),
    attentionCase('small s1', 8, 28, 1),
    attentionCase('small s1', 32, 28, 1),
    attentionCase('tiny', 1, 14, 1),
  );
  // The Swin + ANFL encoder (12 AUs), images per second; tiny-test at 32 px makes up --quick.
  for (const [preset, batch] of [['small', 8], ['small', 32], ['swin-t', 1], ['tiny-test', 2]] as const) {
    cases.push(encoderCase(preset, batch, 'eval'), encoderCase(preset, batch, 'train'));
  }
  return cases;
}

export const CASES: readonly BenchCase[] = Object.freeze(buildCases());

export interface CaseFilter {
  op?: string;
  /** substring of the case name (case-insensitive) */
  name?: string;
  quick?: boolean;
}

export function selectCases(filter: CaseFilter = {}, from: readonly BenchCase[] = CASES): BenchCase[] {
  const needle = filter.name?.toLowerCase();
  return from.filter(
    (c) =>
      (!filter.op || c.op === filter.op) &&
      (!needle || c.name.toLowerCase().includes(needle)) &&
      (!filter.quick || c.flops <= QUICK_MAX_FLOPS),
  );
}

/** The case list as bench/cases.json holds it. */
export function casesJson(cases: readonly BenchCase[] = CASES): string {
  const note = JSON.stringify('generated by `aunce bench --export-cases`; edit bench/cases.ts instead');
  return `{\n "note": ${note},\n "cases": [\n${cases.map((c) => `  ${JSON.stringify(c)}`).join(',\n')}\n ]\n}\n`;
}
