// Losses built on the ops: the AUNCE option resolution shared by the fused op, the AUNCE loss
// composed from autograd primitives (the cross-check of the fused kernels), the positive-type
// sampler, and the per-anchor gradient explanation behind `aunce loss --explain`.
export * from './aunce_options.js';
export * from './aunce_unfused.js';
export * from './sampler.js';
export * from './explain.js';
export * from './aunce_auto.js';
