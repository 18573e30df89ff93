// The library: runtime, tensors with autograd, and the ops (which install the Tensor methods).
export * from './runtime/index.js';
export * from './tensor/index.js';
export * from './ops/index.js';
export * from './losses/index.js';
export { openDevice, createNodeGpu, dawnFlags, robustnessFromEnv, diskKernelSource, fileTuningStore, cacheDir, KERNELS_DIR } from './runtime/node_gpu.js';
