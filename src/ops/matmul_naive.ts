/** The 'naive' matmul variant: one invocation per output element (kernels/matmul_naive.wgsl). */
import { registerMatmulVariant, operandStrides, type MatmulProblem, type MatmulVariant } from './matmul_variants.js';
import { kernel } from './support.js';
import type { Device } from '../runtime/device.js';

export const naiveMatmul: MatmulVariant = {
  name: 'naive',
  unsupported(device: Device, p: MatmulProblem): string | null {
    const max = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (Math.ceil(p.n / 16) > max || Math.ceil(p.m / 16) > max || p.batch > max) {
      return `naive: ${p.batch} x ${p.m} x ${p.n} needs more than ${max} workgroups in one dimension`;
    }
    return null;
  },
  record(device, p, a, b, out) {
    const s = operandStrides(p);
    device.dispatch(kernel(device, 'matmul_naive.wgsl', 'forward'), {
      buffers: { lhs: a, rhs: b, dst: out },
      uniforms: { p: { m: p.m, n: p.n, k: p.k, a_rs: s.aRow, a_ks: s.aK, b_ks: s.bK, b_cs: s.bCol, a_bs: p.aBatchStride, b_bs: p.bBatchStride } },
      workgroups: [Math.ceil(p.n / 16), Math.ceil(p.m / 16), p.batch],
    });
  },
};

registerMatmulVariant(naiveMatmul);
