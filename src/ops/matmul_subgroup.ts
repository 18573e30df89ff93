/**
 * The 'subgroup' and 'subgroup32' matmul variants, tuned for lavapipe
 * (kernels/matmul_subgroup.wgsl): each 8-lane subgroup computes a tile of 16 (subgroup) or 32
 * (subgroup32) rows by 32 columns, sharing every loaded value of A among its lanes by
 * subgroupBroadcast. Both need the 'subgroups' feature with subgroups of exactly 8 lanes.
 */
import type { Device } from '../runtime/device.js';
import type { OverrideValues } from '../runtime/kernels.js';
import { operandStrides, registerMatmulVariant, type Activation, type Epilogue, type MatmulProblem, type MatmulVariant } from './matmul_variants.js';
import { recordSumAxis } from './reduce.js';
import { kernel } from './support.js';

const WG = 64;
const TILE_N = 32;

function subgroupVariant(name: string, tileM: 16 | 32): MatmulVariant {
  const record = (device: Device, p: MatmulProblem, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, ep: Epilogue | null) => dispatch(device, p, a, b, out, ep, tileM);
  return {
    name,
    unsupported(device: Device, p: MatmulProblem): string | null {
      if (!device.has('subgroups')) return `${name}: the device lacks the subgroups feature`;
      const { subgroupMinSize: lo, subgroupMaxSize: hi } = device.adapter;
      if (lo !== 8 || hi !== 8) return `${name}: written for subgroups of exactly 8 lanes; this adapter has ${lo ?? '?'}-${hi ?? '?'}`;
      const max = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
      const tiles = Math.ceil(p.m / tileM) * Math.ceil(p.n / TILE_N);
      if (Math.ceil(tiles / (WG / 8)) > max) return `${name}: ${tiles} tiles of ${tileM}x${TILE_N} need more than ${max} workgroups`;
      if (p.batch > max * max) return `${name}: a batch of ${p.batch} exceeds ${max * max}`;
      return null;
    },
    record(device, p, a, b, out) {
      record(device, p, a, b, out, null);
    },
    recordEpilogue(device, p, a, b, out, ep) {
      record(device, p, a, b, out, ep);
    },
  };
}

export const subgroupMatmul = subgroupVariant('subgroup', 16);
export const subgroup32Matmul = subgroupVariant('subgroup32', 32);

const ACT_CODE: Record<Activation, number> = { none: 1, relu: 2, gelu: 3 };

/**
 * How the kernel reads A and B (A_VEC, B_VEC; see kernels/matmul_subgroup.wgsl): as vec4 where the
 * 4 values a lane wants next are contiguous and start on a 16-byte boundary (the run length and
 * the batch stride multiples of 4), else as scalars. A: along k untransposed (1), across 4 rows
 * transposed (2); B: across 4 columns untransposed (1), along k transposed (2). Transposed A is
 * the weight gradient of every Linear (dY^T X), transposed B its forward (x W^T).
 */
export function vectorLoads(p: MatmulProblem): { A_VEC: number; B_VEC: number } {
  const a = p.aBatchStride % 4 !== 0 ? 0 : p.transA ? (p.m % 4 === 0 ? 2 : 0) : p.k % 4 === 0 ? 1 : 0;
  const b = p.bBatchStride % 4 !== 0 ? 0 : p.transB ? (p.k % 4 === 0 ? 2 : 0) : p.n % 4 === 0 ? 1 : 0;
  return { A_VEC: a, B_VEC: b };
}

/** split-K aims at this many subgroup tiles in all (4 workgroups: work for both lavapipe threads) */
const SPLIT_TARGET_TILES = 32;
/** and gives every chunk at least this many values of K (the partial sums cost m n per chunk) */
const SPLIT_MIN_CHUNK = 256;

/**
 * How a product's K is split (split-K): products with few output tiles and a long K (the weight
 * gradients dY^T X of a Linear over all the tokens of a batch, e.g. [96 x 32] over K = 50176)
 * would otherwise run on one workgroup, one lavapipe thread. Each of `splits` chunks of `kchunk`
 * values (a multiple of 4) goes to its own slice; reduce's sum_axis adds the slices in a fixed order.
 * Products with an epilogue are not split (it applies to the sum).
 */
export function splitK(p: MatmulProblem, tiles: number, epilogue: boolean): { splits: number; kchunk: number } {
  const slices = tiles * p.batch;
  if (epilogue || p.k < 2 * SPLIT_MIN_CHUNK || slices >= SPLIT_TARGET_TILES) return { splits: 1, kchunk: p.k };
  const want = Math.min(Math.ceil(SPLIT_TARGET_TILES / slices), Math.floor(p.k / SPLIT_MIN_CHUNK));
  const kchunk = Math.ceil(p.k / want / 4) * 4;
  return { splits: Math.ceil(p.k / kchunk), kchunk };
}

function dispatch(device: Device, p: MatmulProblem, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, ep: Epilogue | null, tileM: 16 | 32): void {
  const s = operandStrides(p);
  const tilesN = Math.ceil(p.n / TILE_N);
  const tiles = Math.ceil(p.m / tileM) * tilesN;
  const max = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const { splits, kchunk } = splitK(p, tiles, ep !== null);
  const slices = p.batch * splits;
  const mn = p.m * p.n;
  const parts = splits > 1 ? device.pool.acquire(4 * slices * mn, 'matmul split-K partial products') : null;
  // groups of 256 rows of A either way (GROUP_M tile rows): for 32-row tiles, groups of 8 beat
  // groups of 16 by 1.07-1.3x in 9 of 10 interleaved comparisons (1024^3, 2048^3, Swin-T Linear
  // shapes), 0.96x in the tenth
  const base: OverrideValues = tileM === 32 ? { WG, TALL: true, GROUP_M: 8 } : { WG };
  const overrides: OverrideValues = ep ? { ...base, EPILOGUE: ACT_CODE[ep.act], SAVE_PRE: ep.pre !== null } : base;
  // vec4 stores where n is a multiple of 4 (every row, and every batch's [m, n] slice, starts aligned)
  const cVec = p.n % 4 === 0;
  const target = parts ?? out;
  device.dispatch(kernel(device, 'matmul_subgroup.wgsl', 'forward', { ...overrides, ...vectorLoads(p), ...(splits > 1 ? { SPLIT: true } : {}), ...(cVec ? { C_VEC: true } : {}) }), {
    buffers: {
      lhs: a,
      rhs: b,
      lhs4: a,
      rhs4: b,
      dst: cVec ? device.dummyBuffer(true, 1) : target,
      dst4: cVec ? target : device.dummyBuffer(true, 1),
      bias: ep?.bias ?? device.dummyBuffer(),
      pre: (cVec ? null : ep?.pre) ?? device.dummyBuffer(true),
      pre4: (cVec ? ep?.pre : null) ?? device.dummyBuffer(true, 2),
    },
    uniforms: {
      p: {
        m: p.m,
        n: p.n,
        k: p.k,
        tiles_n: tilesN,
        tiles,
        a_rs: s.aRow,
        a_ks: s.aK,
        b_ks: s.bK,
        b_cs: s.bCol,
        a_bs: p.aBatchStride,
        b_bs: p.bBatchStride,
        c_bs: mn,
        batches: p.batch,
        splits,
        kchunk,
      },
    },
    workgroups: [Math.ceil(tiles / (WG / 8)), Math.min(slices, max), Math.ceil(slices / max)],
  });
  if (parts) {
    // parts is [batch, splits, m n]: the chunks' products added in a fixed order
    recordSumAxis(device, parts, out, { outer: p.batch, len: splits, inner: mn });
    // Pool buffers are reused in queue order: work recorded later cannot overwrite it early.
    device.pool.release(parts);
  }
}

registerMatmulVariant(subgroupMatmul);
registerMatmulVariant(subgroup32Matmul);
