/**
 * The one list of benchmark cases that every runner reads (the TypeScript runners directly, the
 * Python runner through bench/cases.json, written by `aunce bench --export-cases`).
 *
 * FLOP counts are 2*batch*M*K*N (one multiply and one add per term); byte counts are the compulsory
 * traffic of f32 operands: both inputs read once and the output written once.
 */

import type { MatmulProblem } from '../src/ops/matmul_variants.js';

export type Op = 'matmul';

export interface MatmulCase {
  op: Op;
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

export type BenchCase = MatmulCase;

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

/** 'MxKxN', or 'BxMxKxN' for batched cases, with `^T` markers for transposed operands. */
export function shapeKey(c: MatmulCase): string {
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
  // Swin-T: embed 96, 224 px, patch 4 -> 56x56 tokens, halved per stage, channels doubled.
  cases.push(
    ...swinLinears('swin-t', [
      { tokens: 3136, channels: 96 },
      { tokens: 784, channels: 192 },
      { tokens: 196, channels: 384 },
      { tokens: 49, channels: 768 },
    ]),
  );
  // The small CPU configuration: embed 32, depths [2,2,2], heads [1,2,4], 112 px -> 28x28 tokens.
  cases.push(
    ...swinLinears('small', [
      { tokens: 784, channels: 32 },
      { tokens: 196, channels: 64 },
      { tokens: 49, channels: 128 },
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
