/**
 * The autograd tape. Every differentiable op records a node on its output: the op's name, its
 * inputs and a backward function that maps the output's gradient to one gradient per input.
 * backward() orders the nodes topologically (iteratively: deep graphs do not overflow the stack),
 * walks them in reverse, checks every gradient's shape against its input, and accumulates.
 */
import { shapeStr, sameShape } from './shape.js';
import { keep, Tensor } from './tensor.js';

/** Maps the gradient of an op's output to the gradients of its inputs (null: no gradient). */
export type BackwardFn = (gradOutput: Tensor) => readonly (Tensor | null)[];

export interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly backward: BackwardFn;
}

let noGradDepth = 0;

export function isGradEnabled(): boolean {
  return noGradDepth === 0;
}

/** Runs a synchronous function with gradient recording off. */
export function noGrad<T>(fn: () => T): T {
  noGradDepth++;
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('noGrad: the function must be synchronous');
    return r;
  } finally {
    noGradDepth--;
  }
}

/** True when an op on these inputs must record a node. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return noGradDepth === 0 && inputs.some((t) => t.requiresGrad);
}

/** Records `output = op(inputs)` when any input requires a gradient; returns the output. */
export function record(op: string, inputs: readonly Tensor[], output: Tensor, backward: BackwardFn): Tensor {
  if (needsGrad(inputs)) {
    output.requiresGrad = true;
    output.node = { op, inputs, backward };
  }
  return output;
}

export interface BackwardOptions {
  /** keep the nodes so that backward() can run again over the same graph */
  retainGraph?: boolean;
}

/** Nodes reachable from `root`, inputs before outputs. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const inputs = top.t.node?.inputs ?? [];
    if (top.next < inputs.length) {
      const child = inputs[top.next++]!;
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(top.t);
      stack.pop();
    }
  }
  return order;
}

/**
 * Back-propagates from `root`. Leaf tensors that require a gradient get it added to `.grad`.
 * `gradient` defaults to 1 for a one-element root.
 */
export function backward(root: Tensor, gradient?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error(`backward: ${root.describe()} does not require a gradient (no input of it did, or it was made under noGrad)`);
  if (!gradient && root.size !== 1) throw new RangeError(`backward: ${root.describe()} has ${root.size} elements; pass the gradient of the output explicitly`);
  if (gradient && !sameShape(gradient.shape, root.shape)) {
    throw new RangeError(`backward: the gradient's shape ${shapeStr(gradient.shape)} differs from the output's ${shapeStr(root.shape)}`);
  }
  if (gradient && gradient.device !== root.device) {
    throw new Error(`backward: the gradient is on device ${gradient.device.id}, the output on device ${root.device.id}`);
  }
  const order = topoOrder(root);
  noGrad(() => {
    // The tape owns every tensor in `grads`: a view of the caller's gradient, never the tensor itself.
    const grads = new Map<Tensor, Tensor>([[root, gradient ? gradient.detach() : root.fullLike(1)]]);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.node;
      if (!node) {
        // a leaf: the gradient becomes (or is added to) its .grad, which the caller owns
        t.grad = t.grad ? accumulate(t.grad, g, true) : keep(g);
        continue;
      }
      const returned = node.backward(g);
      if (returned.length !== node.inputs.length) {
        throw new Error(`backward of ${node.op}: returned ${returned.length} gradients for ${node.inputs.length} inputs`);
      }
      // A backward may pass `g` through or return one tensor twice: give each input its own view.
      const used = new Set<Tensor>([g]);
      const inputGrads = returned.map((gi) => {
        if (!gi) return null;
        const own = used.has(gi) ? gi.detach() : gi;
        used.add(gi);
        return own;
      });
      g.dispose();
      node.inputs.forEach((input, k) => {
        const gi = inputGrads[k];
        if (!gi) return;
        if (!input.requiresGrad) {
          gi.dispose();
          return;
        }
        if (!sameShape(gi.shape, input.shape)) {
          throw new RangeError(`backward of ${node.op}: the gradient of input ${k} has shape ${shapeStr(gi.shape)}, the input ${shapeStr(input.shape)}`);
        }
        const prev = grads.get(input);
        grads.set(input, prev ? accumulate(prev, gi, false) : gi);
      });
      if (!opts.retainGraph) t.node = null;
    }
  });
}

/** a + b, freeing both; a leaf's new .grad is exempt from tidy() scopes. */
function accumulate(a: Tensor, b: Tensor, isLeafGrad: boolean): Tensor {
  const sum = a.add(b);
  a.dispose();
  b.dispose();
  return isLeafGrad ? keep(sum) : sum;
}

declare module './tensor.js' {
  interface Tensor {
    /** Back-propagates from this tensor (see backward()). */
    backward(gradient?: Tensor, opts?: BackwardOptions): void;
  }
}

Tensor.prototype.backward = function (gradient?: Tensor, opts?: BackwardOptions) {
  backward(this, gradient, opts);
};
