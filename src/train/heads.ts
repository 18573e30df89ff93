/**
 * Per-AU linear heads on per-AU features [B, K, C]: one Linear(C, out) per AU, stored as one
 * weight [K, C, out] and bias [K, 1, out] and applied as a batched product. `AuClassifier` is the
 * linear-evaluation head (spec §6.4: Linear(C, 2) per AU) and, with a hidden width, the one-stage
 * WCE baseline's Linear(C, 32) -> Linear(32, 2) (spec §6.5, no nonlinearity between).
 * Logits come out as [B, 2, K] (channel 0 = active), the layout auSoftmaxLoss takes.
 */
import { Module, uniformValues, tensorOfValues } from '../nn/module.js';
import '../ops/index.js';
import type { Device } from '../runtime/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';

export class PerAuLinear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(device: Device, readonly numAUs: number, readonly inFeatures: number, readonly outFeatures: number, rng: Rng) {
    super();
    // PyTorch's nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.registerParameter('weight', tensorOfValues(device, uniformValues(rng, numAUs * inFeatures * outFeatures, -bound, bound), [numAUs, inFeatures, outFeatures]));
    this.bias = this.registerParameter('bias', tensorOfValues(device, uniformValues(rng, numAUs * outFeatures, -bound, bound), [numAUs, 1, outFeatures]));
  }

  /** x [B, K, C] -> [B, K, out] */
  forward(x: Tensor): Tensor {
    return x.permute([1, 0, 2]).matmul(this.weight).add(this.bias).permute([1, 0, 2]);
  }
}

export class AuClassifier extends Module {
  readonly layers: PerAuLinear[];

  /** hidden = 0: one Linear(C, 2) per AU; otherwise Linear(C, hidden) -> Linear(hidden, 2). */
  constructor(device: Device, numAUs: number, channels: number, hidden: number, seed: number) {
    super();
    const rng = new Rng(seed);
    const widths = hidden > 0 ? [channels, hidden, 2] : [channels, 2];
    this.layers = widths.slice(1).map((w, i) => this.registerModule(`fc${i + 1}`, new PerAuLinear(device, numAUs, widths[i]!, w, rng)));
  }

  /** features [B, K, C] -> logits [B, 2, K] */
  forward(features: Tensor): Tensor {
    let h = features;
    for (const l of this.layers) h = l.forward(h);
    return h.permute([0, 2, 1]);
  }
}
