export * from './errors.js';
export * from './kernels.js';
export * from './buffer_pool.js';
export * from './device.js';
export * from './uniforms.js';
export * from './timer.js';
export * from './wait.js';
export * from './profiler.js';
