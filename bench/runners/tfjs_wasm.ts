/**
 * TF.js's WebAssembly backend (@tensorflow/tfjs-backend-wasm) with SIMD. Threads are off: the
 * threaded build needs workers that the Node build of the backend does not start. The backend runs
 * each kernel synchronously inside the call, so wall time around tf.matMul() is the product.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { operandShapes, type MatmulCase } from '../cases.js';
import { cpuName, importOptional, MissingPackage } from '../optional.js';
import { randomF32, timeWall } from '../timing.js';
import { eachCase, makeRow, type Row, type Runner, type RunnerContext, type Unavailable } from '../types.js';
import { loadTfCore, type Tf } from './tfjs.js';

interface TfWasm {
  setWasmPaths(prefix: string): void;
}

export async function tfjsWasmRunner(ctx: RunnerContext): Promise<Runner | Unavailable> {
  let tf: Tf;
  let simd: unknown;
  try {
    tf = await loadTfCore();
    const mod = await importOptional<TfWasm & { default?: TfWasm }>('@tensorflow/tfjs-backend-wasm');
    const wasm = mod.default ?? mod;
    const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    wasm.setWasmPaths(`${join(dirname(pkg), 'dist')}/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
    await tf.ready();
    simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  } catch (err) {
    if (err instanceof MissingPackage) return { impl: 'tfjs-wasm', unavailable: err.message };
    return { impl: 'tfjs-wasm', unavailable: `the TF.js WASM backend did not start: ${(err as Error).message}` };
  }
  const variant = `${simd ? 'simd' : 'no simd'} 1 thread`;
  const device = `${cpuName()}, TF.js ${tf.version_core} wasm backend`;
  const measure = async (c: MatmulCase): Promise<Row[]> => {
    await tf.setBackend('wasm');
    const s = operandShapes(c);
    const a = tf.tensor(randomF32(c.batch * c.m * c.k, 1), s.a, 'float32');
    const b = tf.tensor(randomF32(c.batch * c.k * c.n, 2), s.b, 'float32');
    try {
      const samples = await timeWall(() => tf.matMul(a, b, Boolean(c.transA), Boolean(c.transB)).dispose(), ctx.timing);
      return [makeRow(c, 'tfjs-wasm', variant, samples, 'wall', device)];
    } finally {
      a.dispose();
      b.dispose();
    }
  };
  return {
    impl: 'tfjs-wasm',
    device,
    runAll: (cases, emit) => eachCase('tfjs-wasm', 'matmul', cases, ctx, measure, emit),
    close: () => tf.removeBackend('wasm'),
  };
}
