/**
 * onnxruntime-node on the CPU: one session per case holding a one-node model written by
 * bench/onnx.ts, intra-op threads = the number of cores. Wall time of session.run() with the
 * inputs already wrapped as tensors and the output written into a pre-allocated tensor (where the
 * binding accepts one), so the time is the product plus ORT's per-call overhead.
 */
import { cpus } from 'node:os';
import { operandShapes, type MatmulCase } from '../cases.js';
import { matmulModel } from '../onnx.js';
import { cpuName, importOptional, MissingPackage } from '../optional.js';
import { randomF32, timeWall } from '../timing.js';
import { eachCase, makeRow, type Runner, type RunnerContext, type Unavailable } from '../types.js';

/** The part of onnxruntime-node's API used here. */
interface OrtTensor {
  dispose?(): void;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession>;
  };
  env: { versions?: { common?: string } };
}

export async function onnxruntimeRunner(ctx: RunnerContext): Promise<Runner | Unavailable> {
  let ort: Ort;
  try {
    const mod = await importOptional<Ort & { default?: Ort }>('onnxruntime-node');
    ort = mod.default ?? mod;
  } catch (err) {
    if (err instanceof MissingPackage) return { impl: 'onnxruntime', unavailable: err.message };
    throw err;
  }
  const threads = cpus().length;
  const options = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const device = `${cpuName()}, onnxruntime-node ${ort.env.versions?.common ?? ''}`.trim();
  const variant = `cpu ${threads} threads`;
  let preallocate = true;
  const measure = async (c: MatmulCase) => {
    const s = operandShapes(c);
    const session = await ort.InferenceSession.create(matmulModel(c), options);
    const feeds = {
      a: new ort.Tensor('float32', randomF32(c.batch * c.m * c.k, 1), s.a),
      b: new ort.Tensor('float32', randomF32(c.batch * c.k * c.n, 2), s.b),
    };
    const y = new ort.Tensor('float32', new Float32Array(c.batch * c.m * c.n), s.out);
    try {
      if (preallocate) {
        try {
          await session.run(feeds, { y });
        } catch {
          preallocate = false;
          ctx.log('onnxruntime: this binding does not take a pre-allocated output; timing includes the output copy');
        }
      }
      const run = preallocate ? () => session.run(feeds, { y }) : () => session.run(feeds);
      const samples = await timeWall(run, ctx.timing);
      return [makeRow(c, 'onnxruntime', variant, samples, 'wall', device)];
    } finally {
      await session.release();
    }
  };
  return {
    impl: 'onnxruntime',
    device,
    runAll: (cases, emit) => eachCase('onnxruntime', 'matmul', cases, ctx, measure, emit),
    close: () => {},
  };
}
