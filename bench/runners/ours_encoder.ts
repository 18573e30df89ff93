/**
 * Images per second of this project's encoder (src/nn/encoder.ts: a Swin backbone from
 * src/nn/presets.ts, the global LinearBlock and the ANFL head): 'eval' cases run the forward in
 * eval mode without a tape; 'train' cases run the forward in train mode and the backward of the
 * sum of the features down to every parameter's gradient. The weights and a batch of images are
 * made once per case.
 *
 * Each repetition is one span from the first dispatch to the end of the last (bench/span_timer.ts),
 * all repetitions recorded before one wait. Each row also gives the peak device bytes in use during
 * one untimed step (the buffer pool's peak after resetPeak(), the weights included).
 */
import { AunceEncoder } from '../../src/nn/encoder.js';
import { swinPreset } from '../../src/nn/presets.js';
import { sum } from '../../src/ops/reduce.js';
import '../../src/ops/index.js';
import { noGrad } from '../../src/tensor/tape.js';
import { Tensor, tidy } from '../../src/tensor/tensor.js';
import { ENCODER_PRESETS, type EncoderCase } from '../cases.js';
import { SpanTimer } from '../span_timer.js';
import { plannedRepeats, randomF32 } from '../timing.js';
import { eachCase, makeRow, type Row, type Runner, type RunnerContext, type Unavailable } from '../types.js';

/** timed repetitions per case at most */
const MAX_REPEATS = 64;

/** One step of a case: the forward (eval), or the forward and the backward of sum(features) (train). */
export function encoderStep(enc: AunceEncoder, images: Tensor, c: EncoderCase): void {
  if (c.mode === 'eval') {
    noGrad(() => tidy(() => enc.forward(images).dispose()));
    return;
  }
  tidy(() => sum(enc.forward(images)).backward());
  enc.zeroGrad();
}

export function oursEncoderRunner() {
  return async (ctx: RunnerContext): Promise<Runner | Unavailable> => {
    const device = ctx.device;
    if (!device) return { impl: 'ours', unavailable: 'no WebGPU device was opened' };
    const timer = new SpanTimer(device, MAX_REPEATS);
    const measure = async (c: EncoderCase): Promise<Row[]> => {
      const px = ENCODER_PRESETS[c.preset].imgSize;
      const enc = new AunceEncoder(device, { backbone: swinPreset(c.preset), head: { numAUs: c.numAUs, neighbors: 4 } });
      enc.train(c.mode === 'train');
      const images = Tensor.from(device, randomF32(c.batch * 3 * px * px, 1), [c.batch, 3, px, px]);
      try {
        const once = () => encoderStep(enc, images, c);
        await device.sync();
        device.pool.resetPeak();
        const t0 = performance.now();
        once(); // untimed: compiles, and measures the peak
        await device.sync();
        const peakBytes = device.pool.snapshot.peakInUseBytes;
        const estimate = await timer.spans(once, 1, performance.now() - t0);
        const samples = await timer.spans(once, Math.min(MAX_REPEATS, plannedRepeats(estimate[0]!, ctx.timing)), estimate[0]!);
        const row = makeRow(c, 'ours', c.mode === 'eval' ? 'forward' : 'forward+backward', samples, timer.clock, device.name);
        return [{ ...row, imagesPerS: (1000 * c.batch) / row.medianMs, peakBytes }];
      } finally {
        images.dispose();
        enc.dispose();
      }
    };
    return {
      impl: 'ours',
      device: device.name,
      runAll: (cases, emit) => eachCase('ours', 'encoder', cases, ctx, measure, emit),
      close: () => timer.destroy(),
    };
  };
}
