/**
 * Linear: y = act(x @ W^T + b) with x [..., in], W [out, in] (PyTorch's layout), b [out] or none,
 * act none | relu | gelu (erf form). Where the chosen matmul variant has an epilogue (the lavapipe
 * 'subgroup' variant), bias and activation are applied as the product is stored; elsewhere one
 * more elementwise pass does it (kernels/linear.wgsl). The backward: dz = dy * act'(.), then
 * dx = dz @ W, dW = dz^T @ x, db = the sum of dz over rows.
 */
import { shapeStr } from '../tensor/shape.js';
import { needsGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { matmulRaw } from './matmul.js';
import { chooseMatmulVariant, type Activation, type MatmulProblem } from './matmul_variants.js';
import { sum } from './reduce.js';
import { checkInputs, grid1d, kernel } from './support.js';

export type { Activation } from './matmul_variants.js';

const FILE = 'linear.wgsl';
const WG = 256;
const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, gelu: 2 };

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, act: Activation = 'none'): Tensor {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const device = checkInputs('linear', inputs);
  const what = `linear: x ${shapeStr(x.shape)}, weight ${shapeStr(weight.shape)}${bias ? `, bias ${shapeStr(bias.shape)}` : ''}`;
  if (!(act in ACT_CODE)) throw new RangeError(`${what}: unknown activation '${act}' (none, relu, gelu)`);
  if (x.rank < 1 || weight.rank !== 2) throw new RangeError(`${what}: x needs at least one dimension and weight must be [out, in]`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.shape[x.rank - 1] !== inF) throw new RangeError(`${what}: the last dimension of x (${x.shape[x.rank - 1]}) differs from weight's in-features (${inF})`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) throw new RangeError(`${what}: bias must be [${outF}]`);
  const rowCount = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const outShape = [...x.shape.slice(0, -1), outF];
  const x2 = x.view([rowCount, inF]);
  const keepPre = act === 'gelu' && needsGrad(inputs);
  const y = Tensor.empty(device, outShape);
  let pre: Tensor | null = keepPre ? Tensor.empty(device, outShape) : null;
  const problem: MatmulProblem = { batch: 1, m: rowCount, n: outF, k: inF, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 };
  const variant = rowCount > 0 && outF > 0 && inF > 0 ? chooseMatmulVariant(device, problem) : null;
  if (variant?.recordEpilogue && bias) {
    variant.recordEpilogue(device, problem, x2.buffer, weight.buffer, y.buffer, { bias: bias.buffer, act, pre: pre?.buffer ?? null });
  } else {
    const z = matmulRaw(x2, weight, { transB: true });
    if (!bias && act === 'none') {
      y.dispose();
      pre?.dispose();
      x2.dispose();
      return finish(reshaped(z, outShape));
    }
    device.dispatch(kernel(device, FILE, 'bias_act', { WG, ACT: ACT_CODE[act], HAS_BIAS: bias !== null, SAVE_PRE: pre !== null }), {
      buffers: { z: z.buffer, bias: bias?.buffer ?? device.dummyBuffer(), y: y.buffer, pre: pre?.buffer ?? device.dummyBuffer(true) },
      uniforms: { p: { n: y.size, cols: outF } },
      workgroups: grid1d(device, y.size, WG),
    });
    z.dispose();
  }
  x2.dispose();
  return finish(y);

  function finish(out: Tensor): Tensor {
    return record('linear', inputs, out, (dy) => {
      let dz = dy.view([rowCount, outF]);
      if (act !== 'none') {
        const saved = act === 'relu' ? out : pre!;
        const g = Tensor.empty(device, [rowCount, outF]);
        if (g.size % 4 === 0) {
          device.dispatch(kernel(device, FILE, 'act_backward4', { WG, ACT: ACT_CODE[act] }), {
            buffers: { saved4: saved.buffer, dy4: dy.buffer, dz4: g.buffer },
            uniforms: { bp4: { n: g.size / 4 } },
            workgroups: grid1d(device, g.size / 4, WG),
          });
        } else {
          device.dispatch(kernel(device, FILE, 'act_backward', { WG, ACT: ACT_CODE[act] }), {
            buffers: { saved: saved.buffer, dy: dy.buffer, dz: g.buffer },
            uniforms: { bp: { n: g.size } },
            workgroups: grid1d(device, g.size, WG),
          });
        }
        dz.dispose();
        dz = g;
      }
      const xs = x.view([rowCount, inF]);
      const dx = x.requiresGrad ? reshaped(matmulRaw(dz, weight), x.shape) : null;
      const dw = weight.requiresGrad ? matmulRaw(dz, xs, { transA: true }) : null;
      const db = bias?.requiresGrad ? sum(dz, 0) : null;
      xs.dispose();
      dz.dispose();
      pre?.dispose();
      pre = null;
      return bias ? [dx, dw, db] : [dx, dw];
    });
  }
}

/** The same storage under another shape, dropping the original handle. */
function reshaped(t: Tensor, shape: readonly number[]): Tensor {
  const v = t.view(shape);
  t.dispose();
  return v;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** act(this @ weight^T + bias) (see linear()). */
    linear(weight: Tensor, bias?: Tensor | null, act?: Activation): Tensor;
  }
}

Tensor.prototype.linear = function (weight: Tensor, bias: Tensor | null = null, act: Activation = 'none') {
  return linear(this, weight, bias, act);
};
