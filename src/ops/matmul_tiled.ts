/**
 * The 'tiled' matmul variant for real GPUs (kernels/matmul_tiled.wgsl): a workgroup of
 * (TILE_M / 4) * (TILE_N / 4) invocations computes a TILE_M x TILE_N output tile, each invocation
 * a 4x4 register tile, with K stepped TILE_K at a time through workgroup memory. Each operand is
 * read as vec4 along its contiguous direction where that is 16-byte aligned, as scalars otherwise.
 * Other tile sizes: makeTiledMatmul (64x64x32 by default: 256 invocations, 16 KiB of workgroup
 * memory, within WebGPU's default limits).
 *
 * On lavapipe it is slower than the 'subgroup' variant, as expected (workgroup memory and barriers
 * are slow there; see WEBGPU_ON_CPU.md). Measured there (2 cores, GPU time, medians, +-30% noise):
 * 4.9 / 5.9 / 6.0 GFLOP/s at 256^3 / 512^3 / 1024^3, against 19.7 / 24.5 / 25.2 for 'subgroup' in
 * the same run. With TILE_K = 16 it was ~1.2-1.5x slower there (twice the barriers).
 */
import type { Device } from '../runtime/device.js';
import { operandStrides, registerMatmulVariant, type MatmulProblem, type MatmulVariant } from './matmul_variants.js';
import { kernel } from './support.js';

export interface TileSizes {
  TILE_M: number;
  TILE_N: number;
  TILE_K: number;
}

export const TILED_DEFAULT: Readonly<TileSizes> = { TILE_M: 64, TILE_N: 64, TILE_K: 32 };

/**
 * Launch geometry shared with the f16 variant: x = column tiles, y = row tiles times the batch
 * folds, z = batch up to the per-dimension limit. A reason string when it does not fit the device.
 */
export function tileGrid(device: Device, p: MatmulProblem, t: TileSizes): { workgroups: [number, number, number]; tilesM: number; zmax: number } | string {
  const max = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const tilesM = Math.ceil(p.m / t.TILE_M);
  const tilesN = Math.ceil(p.n / t.TILE_N);
  const folds = Math.ceil(p.batch / max);
  if (tilesN > max) return `n = ${p.n} needs ${tilesN} column tiles of ${t.TILE_N}, more than the ${max} workgroups per dimension`;
  if (tilesM * folds > max) {
    return `m = ${p.m} in ${tilesM} row tiles of ${t.TILE_M} times a batch of ${p.batch} folded ${folds} times needs more than the ${max} workgroups per dimension`;
  }
  return { workgroups: [tilesN, tilesM * folds, Math.min(p.batch, max)], tilesM, zmax: max };
}

/** Why the tile sizes do not fit the device (invocations, workgroup memory), or null. */
export function tileSizesUnsupported(device: Device, t: TileSizes): string | null {
  if (![t.TILE_M, t.TILE_N, t.TILE_K].every((x) => Number.isInteger(x) && x >= 4 && x % 4 === 0)) {
    return `tile sizes ${t.TILE_M}x${t.TILE_N}x${t.TILE_K} must be positive multiples of 4`;
  }
  const invocations = (t.TILE_M / 4) * (t.TILE_N / 4);
  const maxInv = device.limits.maxComputeInvocationsPerWorkgroup ?? 256;
  if (invocations > maxInv) return `a ${t.TILE_M}x${t.TILE_N} tile needs ${invocations} invocations per workgroup; the device allows ${maxInv}`;
  const bytes = (t.TILE_M + t.TILE_N) * t.TILE_K * 4;
  const maxBytes = device.limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (bytes > maxBytes) return `tiles of ${t.TILE_M}x${t.TILE_N}x${t.TILE_K} need ${bytes} bytes of workgroup memory; the device allows ${maxBytes}`;
  return null;
}

/** Whether each operand can be read as aligned vec4 runs along its contiguous direction. */
export function vec4Operands(p: MatmulProblem): { a: boolean; b: boolean } {
  const aRun = p.transA ? p.m : p.k;
  const bRun = p.transB ? p.k : p.n;
  const aligned = (stride: number) => p.batch === 1 || stride % 4 === 0;
  return { a: aRun % 4 === 0 && aligned(p.aBatchStride), b: bRun % 4 === 0 && aligned(p.bBatchStride) };
}

/** A tiled variant with the given tile sizes, registered by the caller if wanted. */
export function makeTiledMatmul(name: string, tiles: TileSizes): MatmulVariant {
  const overrides = { ...tiles, WG: (tiles.TILE_M / 4) * (tiles.TILE_N / 4) };
  return {
    name,
    unsupported(device: Device, p: MatmulProblem): string | null {
      const why = tileSizesUnsupported(device, tiles) ?? tileGrid(device, p, tiles);
      return typeof why === 'string' ? `${name}: ${why}` : null;
    },
    record(device, p, a, b, out) {
      const g = tileGrid(device, p, tiles);
      if (typeof g === 'string') throw new RangeError(`${name}: ${g}`);
      const s = operandStrides(p);
      const vec = vec4Operands(p);
      const entry = `forward_${vec.a ? 'v' : 's'}${vec.b ? 'v' : 's'}`;
      device.dispatch(kernel(device, 'matmul_tiled.wgsl', entry, overrides), {
        buffers: { [vec.a ? 'lhs4' : 'lhs']: a, [vec.b ? 'rhs4' : 'rhs']: b, dst: out },
        uniforms: {
          p: {
            m: p.m,
            n: p.n,
            k: p.k,
            a_rs: s.aRow,
            a_ks: s.aK,
            b_ks: s.bK,
            b_cs: s.bCol,
            a_bs: p.aBatchStride,
            b_bs: p.bBatchStride,
            a_mvec: p.transA ? 1 : 0,
            b_nvec: p.transB ? 0 : 1,
            tiles_m: g.tilesM,
            batches: p.batch,
            zmax: g.zmax,
          },
        },
        workgroups: g.workgroups,
      });
    },
  };
}

export const tiledMatmul: MatmulVariant = makeTiledMatmul('tiled', TILED_DEFAULT);

registerMatmulVariant(tiledMatmul);
