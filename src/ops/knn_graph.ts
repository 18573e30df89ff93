/**
 * The normalised k-nearest-neighbour graph of the ANFL head (ME-GraphAU's FGG, 'dots' metric, and
 * normalize_digraph): from similarities s [B, K, K], A_ij = 1[s_ij >= the k-th largest of row i]
 * (ties admit more neighbours, as torch.topk + >= does), then D^-1/2 A D^-1/2 with the row degrees
 * on both sides. The graph carries no gradient: the released code builds it from detached
 * features, so the output never records a tape node.
 */
import { shapeStr } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'knn_graph.wgsl';
const WG = 64;

export function knnGraph(s: Tensor, neighbors: number): Tensor {
  const device = checkInputs('knnGraph', [s]);
  if (s.rank !== 3 || s.shape[1] !== s.shape[2]) throw new RangeError(`knnGraph: similarities ${shapeStr(s.shape)} must be [B, K, K]`);
  const [b, k] = s.shape as [number, number, number];
  if (!(Number.isInteger(neighbors) && neighbors >= 1 && neighbors <= k)) {
    throw new RangeError(`knnGraph: neighbors must be an integer in [1, ${k}] for similarities ${shapeStr(s.shape)}, got ${neighbors}`);
  }
  const deg = Tensor.empty(device, [b, k]);
  device.dispatch(kernel(device, FILE, 'degree', { WG }), {
    buffers: { s: s.buffer, deg: deg.buffer },
    uniforms: { p: { n: b * k, nodes: k, neighbors } },
    workgroups: grid1d(device, b * k, WG),
  });
  const out = Tensor.empty(device, s.shape);
  device.dispatch(kernel(device, FILE, 'adjacency', { WG }), {
    buffers: { gs: s.buffer, adeg: deg.buffer, ahat: out.buffer },
    uniforms: { ap: { n: b * k * k, nodes: k, neighbors } },
    workgroups: grid1d(device, b * k * k, WG),
  });
  deg.dispose();
  return out;
}
