// Every op, with its Tensor methods installed on import.
export * from './unary.js';
export * from './binary.js';
