// Every op, with its Tensor methods installed on import.
export * from './unary.js';
export * from './binary.js';
export * from './reduce.js';
export * from './softmax.js';
export * from './layer_norm.js';
export * from './l2_normalize.js';
export * from './matmul.js';
export * from './matmul_variants.js';
export * from './matmul_naive.js';
export * from './matmul_subgroup.js';
export * from './reshape.js';
export * from './permute.js';
export * from './concat.js';
export * from './slice.js';
export * from './gather.js';
