/**
 * The 'subgroup' and 'subgroup32' matmul variants, tuned for lavapipe
 * (kernels/matmul_subgroup.wgsl): each 8-lane subgroup computes a tile of 16 (subgroup) or 32
 * (subgroup32) rows by 32 columns, sharing every loaded value of A among its lanes by
 * subgroupBroadcast. Both need the 'subgroups' feature with subgroups of exactly 8 lanes.
 */
import type { Device } from '../runtime/device.js';
import type { OverrideValues } from '../runtime/kernels.js';
import { operandStrides, registerMatmulVariant, type Activation, type Epilogue, type MatmulProblem, type MatmulVariant } from './matmul_variants.js';
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

function dispatch(device: Device, p: MatmulProblem, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, ep: Epilogue | null, tileM: 16 | 32): void {
  const s = operandStrides(p);
  const tilesN = Math.ceil(p.n / TILE_N);
  const tiles = Math.ceil(p.m / tileM) * tilesN;
  const max = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  // groups of 256 rows of A either way (GROUP_M tile rows): for 32-row tiles, groups of 8 beat
  // groups of 16 by 1.07-1.3x in 9 of 10 interleaved comparisons (1024^3, 2048^3, Swin-T Linear
  // shapes), 0.96x in the tenth
  const base: OverrideValues = tileM === 32 ? { WG, TALL: true, GROUP_M: 8 } : { WG };
  const overrides: OverrideValues = ep ? { ...base, EPILOGUE: ACT_CODE[ep.act], SAVE_PRE: ep.pre !== null } : base;
  // vec4 loads need rows of A and B (and batch offsets) that start on 16-byte boundaries
  const vec4 = !p.transA && !p.transB && p.k % 4 === 0 && p.n % 4 === 0 && p.aBatchStride % 4 === 0 && p.bBatchStride % 4 === 0;
  device.dispatch(kernel(device, 'matmul_subgroup.wgsl', 'forward', { ...overrides, VEC4: vec4 }), {
    buffers: { lhs: a, rhs: b, lhs4: a, rhs4: b, dst: out, bias: ep?.bias ?? device.dummyBuffer(), pre: ep?.pre ?? device.dummyBuffer(true) },
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
        c_bs: p.m * p.n,
        batches: p.batch,
      },
    },
    workgroups: [Math.ceil(tiles / (WG / 8)), Math.min(p.batch, max), Math.ceil(p.batch / max)],
  });
}

registerMatmulVariant(subgroupMatmul);
registerMatmulVariant(subgroup32Matmul);
