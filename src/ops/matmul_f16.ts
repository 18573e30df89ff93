/**
 * The 'f16' matmul variant (kernels/matmul_f16.wgsl), only where the device has 'shader-f16'.
 * A and B are cast to f16 scratch buffers (k-major, padded to vec4 runs), then multiplied with
 * the workgroup-memory tiling of the 'tiled' variant: f16 loads, f32 arithmetic and f32
 * accumulation, f32 output. The only rounding beyond f32 is that of each input to f16
 * (relative 2^-11), so the error of an output entry grows like sqrt(K) times the typical product.
 *
 * Measured accuracy on lavapipe: A [256, K] and B [K, 256] drawn from N(0, 1), compared with the
 * float64 product of the same f32 inputs (entries have magnitude ~sqrt(K)); maxima over all 65536
 * entries. "max rel" is the normwise relative error max|err| / max|ref|; "rel (big)" the largest
 * entrywise relative error among entries with |ref| >= sqrt(K) (near-zero entries have no useful
 * entrywise relative error); "/sum|ab|" is max |err| / sum_l |a_il b_lj|, bounded by ~2^-10.
 *
 *      K   max|err|  rms err  max|err|/sqrt(K)  max rel  rel (big)  /sum|ab|
 *     64   1.2e-2    2.3e-3   1.5e-3            3.4e-4   1.4e-3     2.3e-4
 *    512   3.1e-2    6.6e-3   1.3e-3            3.0e-4   1.1e-3     8.9e-5
 *   4096   8.6e-2    1.9e-2   1.3e-3            2.6e-4   1.1e-3     3.2e-5
 *
 * For comparison the 'tiled' f32 variant at K = 4096: max|err| 7.9e-4, max rel 2.4e-6.
 *
 * Speed on lavapipe (GPU time including both casts, medians): 4.7 / 6.6 / 6.4 GFLOP/s at 256^3 /
 * 512^3 / 1024^3 against 4.9 / 5.9 / 6.0 for 'tiled' in the same run (0.96x / 1.12x / 1.06x).
 */
import type { Device } from '../runtime/device.js';
import { operandStrides, registerMatmulVariant, type MatmulProblem, type MatmulVariant } from './matmul_variants.js';
import { TILED_DEFAULT, tileGrid, tileSizesUnsupported } from './matmul_tiled.js';
import { grid1d, kernel } from './support.js';

const FILE = 'matmul_f16.wgsl';
const CAST_WG = 256;
const TILES = TILED_DEFAULT;
const OVERRIDES = { ...TILES, WG: (TILES.TILE_M / 4) * (TILES.TILE_N / 4) };

/** One operand as the cast kernel reads it: `rows` (m or n) by k, through strides. */
interface Operand {
  rows: number;
  rowStride: number;
  kStride: number;
  batchStride: number;
  /** distinct matrices to cast (1 when broadcast) */
  batches: number;
}

function operands(p: MatmulProblem): [Operand, Operand] {
  const s = operandStrides(p);
  return [
    { rows: p.m, rowStride: s.aRow, kStride: s.aK, batchStride: p.aBatchStride, batches: p.aBatchStride === 0 ? 1 : p.batch },
    { rows: p.n, rowStride: s.bCol, kStride: s.bK, batchStride: p.bBatchStride, batches: p.bBatchStride === 0 ? 1 : p.batch },
  ];
}

/** Bytes of an operand cast to f16: k-major vec4<f16> runs (8 bytes each), never 0. */
function castBytes(o: Operand, k: number): number {
  return Math.max(8, o.batches * k * Math.ceil(o.rows / 4) * 8);
}

/** Records the cast of one operand into a scratch buffer from the pool (the caller releases it). */
function castToF16(device: Device, src: GPUBuffer, o: Operand, k: number): GPUBuffer {
  const packed = device.pool.acquire(castBytes(o, k), 'matmul f16 scratch');
  const rows4 = Math.ceil(o.rows / 4);
  const total = o.batches * k * rows4;
  device.dispatch(kernel(device, FILE, 'to_f16', { WG: CAST_WG }), {
    buffers: { src, packed },
    uniforms: { cp: { rows: o.rows, rows4, k, rs: o.rowStride, ks: o.kStride, bs: o.batchStride, total } },
    workgroups: grid1d(device, total, CAST_WG),
  });
  return packed;
}

export const f16Matmul: MatmulVariant = {
  name: 'f16',
  unsupported(device: Device, p: MatmulProblem): string | null {
    if (!device.has('shader-f16')) return 'f16: the device lacks the shader-f16 feature';
    const grid = tileSizesUnsupported(device, TILES) ?? tileGrid(device, p, TILES);
    if (typeof grid === 'string') return `f16: ${grid}`;
    const maxBinding = device.limits.maxStorageBufferBindingSize ?? 128 * 1024 * 1024;
    for (const [what, o] of [['A', operands(p)[0]], ['B', operands(p)[1]]] as const) {
      const bytes = castBytes(o, p.k);
      if (bytes > maxBinding) return `f16: the f16 copy of ${what} needs ${bytes} bytes, more than the device's ${maxBinding} per storage binding`;
    }
    return null;
  },
  record(device, p, a, b, out) {
    const grid = tileGrid(device, p, TILES);
    if (typeof grid === 'string') throw new RangeError(`f16: ${grid}`);
    const [oa, ob] = operands(p);
    const a16 = castToF16(device, a, oa, p.k);
    const b16 = castToF16(device, b, ob, p.k);
    const m4 = Math.ceil(p.m / 4);
    const n4 = Math.ceil(p.n / 4);
    device.dispatch(kernel(device, FILE, 'forward', OVERRIDES), {
      buffers: { lhs16: a16, rhs16: b16, dst: out },
      uniforms: {
        p: {
          m: p.m,
          n: p.n,
          k: p.k,
          m4,
          n4,
          a_bs: oa.batches === 1 ? 0 : p.k * m4,
          b_bs: ob.batches === 1 ? 0 : p.k * n4,
          tiles_m: grid.tilesM,
          batches: p.batch,
          zmax: grid.zmax,
        },
      },
      workgroups: grid.workgroups,
    });
    // Pool buffers are reused in queue order: work recorded later cannot overwrite them early.
    device.pool.release(a16);
    device.pool.release(b16);
  },
};

registerMatmulVariant(f16Matmul);
