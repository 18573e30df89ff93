/**
 * TF.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu) on the same Dawn GPU object as our
 * device: `navigator.gpu` is pointed at it before the backend loads, and the backend requests its
 * own adapter and device from it (with timestamp queries where the adapter has them). Kernel time
 * comes from tf.time(), which sums the timestamp-query durations of the programs a call ran;
 * without timestamps it is wall time from the call to onSubmittedWorkDone(). As for our kernels,
 * the harness sleeps through most of the expected GPU time before awaiting (a pending Dawn promise
 * polls and takes a core from a CPU adapter): measured 25-30% less kernel time at 1024^3 on lavapipe.
 * Besides matmul it runs the attention cases: windowed attention forward + backward composed from
 * TF.js ops (bench/runners/tfjs_attention.ts), timed the same way over all the programs it runs.
 */
import { createNodeGpu } from '../../src/runtime/node_gpu.js';
import { sleep } from '../../src/runtime/wait.js';
import { casesOf, operandShapes, type AttentionCase, type MatmulCase } from '../cases.js';
import { importOptional, MissingPackage } from '../optional.js';
import { plannedRepeats, randomF32, timeWall } from '../timing.js';
import { eachCase, makeRow, type Row, type Runner, type RunnerContext, type Unavailable } from '../types.js';
import { disposeAll, tfAttentionInputs, tfAttentionStep } from './tfjs_attention.js';
import { loadTfCore, type Tf, type TfTensor } from './tfjs.js';

/** Internals of WebGPUBackend used to submit its recorded work and wait without a read-back. */
interface WebGpuBackend {
  device: GPUDevice;
  supportTimestampQuery: boolean;
  commandEncoder: GPUCommandEncoder | null;
  adapterInfo?: { vendor?: string; architecture?: string };
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Blocks the thread (no event loop, so no polling) for `ms` milliseconds. */
function sleepBlocking(ms: number): void {
  if (ms > 0.05) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Points navigator.gpu at a GPU object; returns a function that puts the old navigator back. */
function installNavigator(gpu: GPU): () => void {
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return () => {
    if (previous) Object.defineProperty(globalThis, 'navigator', previous);
    else delete (globalThis as { navigator?: unknown }).navigator;
  };
}

export async function tfjsWebgpuRunner(ctx: RunnerContext): Promise<Runner | Unavailable> {
  const own = ctx.gpu ? null : createNodeGpu();
  const gpu = ctx.gpu ?? own!.gpu;
  const restore = installNavigator(gpu);
  let tf: Tf;
  try {
    tf = await loadTfCore();
    await importOptional('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
    await tf.ready();
  } catch (err) {
    restore();
    own?.release();
    if (err instanceof MissingPackage) return { impl: 'tfjs-webgpu', unavailable: err.message };
    return { impl: 'tfjs-webgpu', unavailable: `the TF.js WebGPU backend did not start: ${(err as Error).message}` };
  }
  const backend = tf.backend() as WebGpuBackend;
  const clock = backend.supportTimestampQuery ? 'gpu' : 'wall';
  const info = backend.adapterInfo ?? {};
  const device = `${[info.vendor, info.architecture].filter(Boolean).join(' ') || 'WebGPU'} (TF.js ${tf.version_core} webgpu backend, own GPUDevice)`;

  /** Submits what the backend recorded and waits for the queue without reading anything back. */
  const drain = async (hintMs: number) => {
    if (backend.commandEncoder) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
    if (hintMs > 0.5) await sleep(0.8 * hintMs);
    await backend.device.queue.onSubmittedWorkDone();
  };

  /**
   * Samples of `run` (which returns the tensors it made, disposed here): kernel time from tf.time
   * with the GPU clock, else wall time to the queue's completion. The first call compiles.
   */
  const timeRun = async (run: () => TfTensor[]): Promise<number[]> => {
    const t0 = performance.now();
    const warm = run();
    await Promise.all(warm.map((y) => y.data())); // compiles, uploads the operands and runs once
    disposeAll(warm);
    if (clock === 'gpu') {
      let expectMs = performance.now() - t0;
      const once = async () => {
        let ys: TfTensor[] = [];
        const t = await tf.time(() => {
          ys = run();
          // The work is submitted and tf.time is about to await its timestamps, which polls:
          // block this thread through most of the expected kernel time first.
          sleepBlocking(0.8 * expectMs);
        });
        disposeAll(ys);
        if (typeof t.kernelMs !== 'number') throw new Error(`tf.time gave no kernel time: ${t.kernelMs.error}`);
        expectMs = t.kernelMs;
        return t.kernelMs;
      };
      const n = plannedRepeats(await once(), ctx.timing);
      const samples: number[] = [];
      for (let r = 0; r < n; r++) samples.push(await once());
      return samples;
    }
    let hint = 0;
    return timeWall(async () => {
      const start = performance.now();
      const ys = run();
      await drain(hint);
      disposeAll(ys);
      hint = performance.now() - start;
    }, ctx.timing);
  };

  const measureMatmul = async (c: MatmulCase): Promise<Row[]> => {
    await tf.setBackend('webgpu');
    const s = operandShapes(c);
    const a = tf.tensor(randomF32(c.batch * c.m * c.k, 1), s.a, 'float32');
    const b = tf.tensor(randomF32(c.batch * c.k * c.n, 2), s.b, 'float32');
    try {
      const samples = await timeRun(() => [tf.matMul(a, b, Boolean(c.transA), Boolean(c.transB))]);
      return [makeRow(c, 'tfjs-webgpu', 'webgpu', samples, clock, device)];
    } finally {
      a.dispose();
      b.dispose();
    }
  };

  /** Windowed attention forward + backward in TF.js ops (bench/runners/tfjs_attention.ts). */
  const measureAttention = async (c: AttentionCase): Promise<Row[]> => {
    await tf.setBackend('webgpu');
    const x = tfAttentionInputs(tf, c);
    try {
      const samples = await timeRun(() => tfAttentionStep(tf, c, x));
      return [makeRow(c, 'tfjs-webgpu', 'webgpu composed', samples, clock, device)];
    } finally {
      disposeAll(Object.values(x));
    }
  };
  return {
    impl: 'tfjs-webgpu',
    device,
    runAll: async (cases, emit) => {
      await eachCase('tfjs-webgpu', 'matmul', cases.filter((c) => c.op !== 'attention'), ctx, measureMatmul, emit);
      await eachCase('tfjs-webgpu', 'attention', casesOf('attention', cases), ctx, measureAttention, emit);
    },
    close: () => {
      tf.removeBackend('webgpu');
      restore();
      own?.release();
    },
  };
}
