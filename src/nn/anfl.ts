/**
 * The ANFL head of ME-GraphAU as AUNCE's released code uses it (spec section 7.2-7.5), with the
 * released code's state-dict names:
 *
 *   LinearBlock  fc (Linear) -> bn (BatchNorm1d over the feature axis, statistics over B x T) -> ReLU
 *   AnflHead     class_linears.i (one LinearBlock per AU; each output averaged over the tokens),
 *                gnn (U, V: Linear(C, C); bnv: BatchNorm1d(K) over the K nodes), sc (unused)
 *   Gnn          S = V V^T on detached features, the k-NN graph with ties, D^-1/2 A D^-1/2 with
 *                row degrees, V' = ReLU(V + BN_K(Ahat (V W_V^T + b_V) + (V W_U^T + b_U)))
 *
 * The head returns L2-normalised per-AU features [B, K, C] (the released code returns their
 * transpose [B, C, K]; the `sc` parameter is created and kept for the state dict but not used).
 */
import { batchNorm } from '../ops/batch_norm.js';
import { add } from '../ops/binary.js';
import { concat } from '../ops/concat.js';
import { knnGraph } from '../ops/knn_graph.js';
import { l2Normalize } from '../ops/l2_normalize.js';
import { matmul } from '../ops/matmul.js';
import { transpose } from '../ops/permute.js';
import { mean } from '../ops/reduce.js';
import { unsqueeze } from '../ops/reshape.js';
import { relu } from '../ops/unary.js';
import type { Device } from '../runtime/device.js';
import { shapeStr } from '../tensor/shape.js';
import { noGrad } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';
import { Linear, Module, ModuleList, tensorOfValues, uniformValues } from './module.js';

/**
 * torch.nn.BatchNorm1d(C) (affine, track_running_stats, momentum 0.1, eps 1e-5): keys weight,
 * bias, running_mean, running_var, num_batches_tracked. `axis` names the channel axis of the
 * input (PyTorch's is 1; the LinearBlock normalises the last axis of [B, T, C]).
 */
export class BatchNorm1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;

  constructor(
    device: Device,
    readonly channels: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.registerParameter('weight', tensorOfValues(device, new Float32Array(channels).fill(1), [channels]));
    this.bias = this.registerParameter('bias', tensorOfValues(device, new Float32Array(channels), [channels]));
    this.runningMean = this.registerBuffer('running_mean', Tensor.from(device, new Float32Array(channels), [channels]));
    this.runningVar = this.registerBuffer('running_var', Tensor.from(device, new Float32Array(channels).fill(1), [channels]));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', Tensor.from(device, new Int32Array(1), []));
  }

  forward(x: Tensor, axis = 1): Tensor {
    return batchNorm(x, this.weight, this.bias, {
      axis,
      training: this.training,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      numBatchesTracked: this.numBatchesTracked,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** A Linear whose weight is N(0, std) and whose bias has PyTorch's default U(-1/sqrt(in), 1/sqrt(in)). */
function normalLinear(device: Device, inF: number, outF: number, std: number, rng: Rng): Linear {
  return new Linear(device, inF, outF, { rng, init: { kind: 'normal', std }, biasInit: 'torchDefault' });
}

/** MEGraph's LinearBlock(in, out): x [..., in] -> ReLU(BN(x W^T + b)) [..., out], BN over the last axis. */
export class LinearBlock extends Module {
  readonly fc: Linear;
  readonly bn: BatchNorm1d;

  constructor(device: Device, inFeatures: number, outFeatures: number, rng: Rng) {
    super();
    this.fc = this.registerModule('fc', normalLinear(device, inFeatures, outFeatures, Math.sqrt(2 / outFeatures), rng));
    this.bn = this.registerModule('bn', new BatchNorm1d(device, outFeatures));
  }

  forward(x: Tensor): Tensor {
    return relu(this.bn.forward(this.fc.forward(x), -1));
  }
}

/** The FGG graph and GNN update on node features [B, K, C] (keys U, V, bnv). */
export class Gnn extends Module {
  readonly U: Linear;
  readonly V: Linear;
  readonly bnv: BatchNorm1d;

  constructor(
    device: Device,
    readonly channels: number,
    readonly nodes: number,
    readonly neighbors: number,
    rng: Rng,
  ) {
    super();
    this.U = this.registerModule('U', normalLinear(device, channels, channels, Math.sqrt(2 / channels), rng));
    this.V = this.registerModule('V', normalLinear(device, channels, channels, Math.sqrt(2 / channels), rng));
    this.bnv = this.registerModule('bnv', new BatchNorm1d(device, nodes));
  }

  /** The normalised adjacency [B, K, K] of detached features x [B, K, C] (no gradient). */
  graph(x: Tensor): Tensor {
    return noGrad(() => {
      const v = x.detach();
      return knnGraph(matmul(v, transpose(v, 1, 2)), this.neighbors);
    });
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[1] !== this.nodes || x.shape[2] !== this.channels) {
      throw new RangeError(`Gnn: node features ${shapeStr(x.shape)} must be [B, ${this.nodes}, ${this.channels}]`);
    }
    const aggregate = matmul(this.graph(x), this.V.forward(x));
    return relu(add(x, this.bnv.forward(add(aggregate, this.U.forward(x)), 1)));
  }
}

export interface AnflHeadOptions {
  channels: number;
  numAUs: number;
  neighbors: number;
  rng: Rng;
}

/** AFG + FGG/GNN + L2 normalisation: tokens [B, T, C] -> per-AU unit features [B, K, C]. */
export class AnflHead extends Module {
  readonly classLinears: ModuleList<LinearBlock>;
  readonly gnn: Gnn;
  /** created and saved as the released code does, never used in forward */
  readonly sc: Tensor;

  constructor(
    device: Device,
    readonly opts: AnflHeadOptions,
  ) {
    super();
    const { channels: c, numAUs: k, neighbors, rng } = opts;
    if (!(Number.isInteger(neighbors) && neighbors >= 1 && neighbors <= k)) throw new RangeError(`AnflHead: neighbors must be in [1, numAUs = ${k}], got ${neighbors}`);
    this.classLinears = this.registerModule('class_linears', new ModuleList(Array.from({ length: k }, () => new LinearBlock(device, c, c, rng))));
    this.gnn = this.registerModule('gnn', new Gnn(device, c, k, neighbors, rng));
    const bound = Math.sqrt(6 / (k + c));
    this.sc = this.registerParameter('sc', tensorOfValues(device, uniformValues(rng, k * c, -bound, bound), [k, c]));
  }

  /** The AU nodes before the GNN: mean over tokens of each class LinearBlock, [B, K, C]. */
  nodes(x: Tensor): Tensor {
    return concat([...this.classLinears].map((block) => unsqueeze(mean(block.forward(x), 1), 1)), 1);
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.opts.channels) throw new RangeError(`AnflHead: tokens ${shapeStr(x.shape)} must be [B, T, ${this.opts.channels}]`);
    return l2Normalize(this.gnn.forward(this.nodes(x)), -1);
  }
}
