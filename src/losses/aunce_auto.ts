/**
 * The AUNCE loss through whichever implementation can run it: the fused kernels
 * (src/ops/aunce.ts) where the device has them and the options allow, otherwise the same loss from
 * autograd primitives (aunce_unfused.ts) — on devices without suitable subgroups, and for the
 * re-normalised centroid, which is not bilinear in Z. The result says which one ran and why.
 */
import { aunceLoss, aunceVariant, type AunceGpuOptions } from '../ops/aunce.js';
import { l2Normalize } from '../ops/l2_normalize.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Labels } from './aunce_options.js';
import { aunceLossUnfused } from './aunce_unfused.js';

export interface AunceAutoResult {
  loss: Tensor;
  perAU: Tensor;
  impl: 'fused' | 'unfused';
  /** why the unfused composition ran (null when fused) */
  why: string | null;
}

export function aunceLossAuto(z: Tensor, labels: Labels, opts: AunceGpuOptions & { impl?: 'auto' | 'fused' | 'unfused' }): AunceAutoResult {
  const { impl = 'auto', ...rest } = opts;
  let why: string | null = null;
  if (impl === 'unfused') why = 'asked for';
  else if (rest.centroidRenormalise) why = 'the re-normalised centroid is not bilinear in Z (spec §5.5)';
  else {
    const v = aunceVariant(z.device, rest.variant);
    if (v !== 'broadcast' && v !== 'shuffle') why = v;
  }
  if (why === null || impl === 'fused') {
    const r = aunceLoss(z, labels, rest);
    return { loss: r.loss, perAU: r.perAU, impl: 'fused', why: null };
  }
  const { normalize, eps, variant: _variant, ...options } = rest;
  const input = normalize ? l2Normalize(z, -1, eps ?? 1e-12) : z;
  const r = aunceLossUnfused(input, labels, options);
  return { loss: r.loss, perAU: r.perAU, impl: 'unfused', why };
}
