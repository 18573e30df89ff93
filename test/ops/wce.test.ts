// The GPU losses wceLoss and auSoftmaxLoss (src/ops/wce.ts, kernels/wce.wgsl) against their
// float64 references (src/ref/wce.ts), against the same losses composed from autograd primitives,
// at the clamp's zero-gradient region and its boundary, and on bad input.
import { expect } from 'chai';
import { auSoftmaxLoss, narrow, noGrad, reshape, rsubScalar, softmax, sum, Tensor, wceLoss, type AuSoftmaxLossOptions, type WceLabels } from '../../src/index.js';
import { nd, type NDArray } from '../../src/ref/ndarray.js';
import { auSoftmaxLossRef, wceLossRef } from '../../src/ref/wce.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, checkGpu, randn, sharedDevice, type Tol } from '../helpers.js';

const TOL = {
  // f32 per-element softplus / log-softmax, then the f32 mean or sum of reduce.ts over up to 18000
  // positive terms. Measured on lavapipe: relative error <= 1.7e-7; rtol 1e-5 leaves room for
  // adapters with the WGSL spec's looser exp/log (3 + 2|x| ulp) and other summation orders
  fwd: { atol: 1e-6, rtol: 1e-5 },
  // per-element f32 sigmoid / softmax, no reduction, written without cancellation (p - y as
  // -y sigmoid(-l) or (1 - y) sigmoid(l)). Measured: relative error <= 1.3e-6 at |logit| ~ 10,
  // where exp's argument rounding dominates; atol only guards values near 0
  bwd: { atol: 1e-10, rtol: 1e-5 },
  // fused kernel vs the composed graph, both f32. The composition is the less accurate one: it
  // forms 1 - sigmoid(l) and P0, P1 in linear space, so where p is near y its gradient p - y has an
  // absolute error of ~1 f32 ulp of 1 (6e-8, measured up to 1.2e-7 with w <= 1.5) per unit of
  // dL/dloss_bk; bwd.atol is that per unit and is multiplied by the reduction's scale (1/(B K) or 1)
  composed: { fwd: { atol: 1e-6, rtol: 1e-5 }, bwd: { atol: 3e-7, rtol: 5e-5 } },
};

type Labels = number[][];
type Op = 'wceLoss' | 'auSoftmaxLoss';

const OPS = {
  wceLoss: { gpu: wceLoss, ref: wceLossRef, shape: (B: number, K: number) => [B, K] },
  auSoftmaxLoss: { gpu: auSoftmaxLoss, ref: auSoftmaxLossRef, shape: (B: number, K: number) => [B, 2, K] },
} as const;

function randomLabels(B: number, K: number, seed: number, p = 0.35): Labels {
  const r = new Rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: K }, () => (r.next() < p ? 1 : 0)));
}

function randomWeight(K: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: K }, () => r.uniform(0.5, 1.5));
}

/** TOL.composed.bwd with its atol scaled by the reduction's factor on each element's gradient. */
function composedBwd(reduction: 'mean' | 'sum', n: number): Tol {
  const { atol, rtol } = TOL.composed.bwd;
  return { atol: reduction === 'mean' ? atol / n : atol, rtol };
}

/** Runs checkGpu on one loss: forward vs the reference loss, backward (random dL) vs its gradient. */
async function checkLoss(op: Op, x: NDArray, y: Labels, o: AuSoftmaxLossOptions, tol = TOL): Promise<void> {
  const { gpu, ref } = OPS[op];
  await checkGpu({
    name: op,
    inputs: [x],
    gpu: ([t]) => gpu(t!, y, o),
    ref: ([v]) => nd([], [ref(v!, y, o).loss]),
    vjp: ([v], dy) => [nd(v!.shape, ref(v!, y, o).grad.data.map((g) => g * dy.data[0]!))],
    fwd: tol.fwd,
    bwd: tol.bwd,
  });
}

/** Eq (1) from primitives: -w (y log sigmoid(l) + (1 - y) log(1 - sigmoid(l))), mean or sum. */
function wceComposed(l: Tensor, y: Tensor, w: Tensor | null, reduction: 'mean' | 'sum'): Tensor {
  const p = l.sigmoid();
  let e = y.mul(p.log()).add(rsubScalar(y, 1).mul(rsubScalar(p, 1).log())).neg();
  if (w) e = e.mul(w);
  return reduction === 'mean' ? e.mean() : e.sum();
}

/** au_softmax_loss from primitives, as the released code writes it: softmax, clamp, log, weight. */
function auComposed(l: Tensor, y: Tensor, w: Tensor | null, reduction: 'mean' | 'sum', clampMin = 1e-3): Tensor {
  const [B, , K] = l.shape as [number, number, number];
  const P = softmax(l, 1);
  const logP0 = reshape(narrow(P, 1, 0, 1), [B, K]).maximum(clampMin).log();
  const logP1 = reshape(narrow(P, 1, 1, 1), [B, K]).maximum(clampMin).log();
  let e = y.mul(logP0).add(rsubScalar(y, 1).mul(logP1)).neg();
  if (w) e = e.mul(w);
  return reduction === 'mean' ? e.mean() : e.sum();
}

/** Loss value and logits gradient of `f` on fresh tensors. */
async function lossAndGrad(x: NDArray, f: (t: Tensor) => Tensor): Promise<{ loss: number; grad: Float32Array }> {
  const d = await sharedDevice();
  const t = Tensor.from(d, x.data, x.shape, { requiresGrad: true });
  const out = f(t);
  expect([...out.shape]).to.deep.equal([]);
  const loss = await out.item();
  out.backward();
  const grad = await t.grad!.toFloat32();
  t.grad!.dispose();
  t.dispose();
  out.dispose();
  return { loss, grad };
}

describe('wce ops', () => {
  const cases: { B: number; K: number; o: AuSoftmaxLossOptions }[] = [
    { B: 1, K: 1, o: {} },
    { B: 1, K: 12, o: { weight: randomWeight(12, 1), reduction: 'sum' } },
    { B: 33, K: 1, o: { weight: [0.7] } },
    { B: 67, K: 12, o: { weight: randomWeight(12, 2) } },
    { B: 67, K: 12, o: { reduction: 'sum' } },
    { B: 256, K: 12, o: {} },
    { B: 1500, K: 12, o: { weight: randomWeight(12, 3) } }, // 18000 elements: the two-pass mean
  ];
  for (const op of Object.keys(OPS) as Op[]) {
    for (const { B, K, o } of cases) {
      const tag = `${o.weight ? 'weighted' : 'unweighted'} ${o.reduction ?? 'mean'}`;
      const shape = OPS[op].shape(B, K);
      it(`${op} ${tag}: forward and backward match the reference [${shape}]`, async function () {
        this.timeout(60000);
        await checkLoss(op, randn(shape, 100 + B + K, 2.5), randomLabels(B, K, 200 + B), o);
      });
    }
  }

  it('wceLoss large: more workgroups than one grid row holds, labels as a device tensor [350000, 12]', async function () {
    this.timeout(120000);
    const d = await sharedDevice();
    const B = 350000;
    const K = 12; // 4.2M elements > 65535 workgroups of 64
    const x = randn([B, K], 5, 3);
    const y = randomLabels(B, K, 6);
    const want = wceLossRef(x, y);
    const t = Tensor.from(d, x.data, [B, K], { requiresGrad: true });
    const yt = Tensor.from(d, y.flat(), [B, K]);
    const out = wceLoss(t, yt);
    assertClose([await out.item()], [want.loss], TOL.fwd, 'wceLoss [350000, 12] forward');
    out.backward();
    assertClose(await t.grad!.toFloat32(), want.grad, { atol: 1e-16, rtol: TOL.bwd.rtol }, 'wceLoss [350000, 12] gradient');
    for (const z of [t.grad!, t, yt, out]) z.dispose();
  });

  it('auSoftmaxLoss clamp: exact zero gradient where the selected probability is below 1e-3, loss -w log(1e-3) [4, 2, 3]', async () => {
    // image 0: AU 0 clamped with y = 1 (P0 = sigmoid(-10)), AU 1 with y = 0 (P1 = sigmoid(-9)); the rest not
    const x = nd([4, 2, 3], [-4, 5, 1, 6, -4, 0, 2, 0, -3, -1, 2, 0, 0, 3, 0.5, 4, 0, 1, 9, -2, 0, 0, -1, 0]);
    const y = [[1, 0, 1], [0, 1, 0], [1, 1, 0], [1, 0, 1]];
    const o = { weight: [2, 0.5, 1], reduction: 'sum' as const };
    const got = await lossAndGrad(x, (t) => auSoftmaxLoss(t, y, o));
    const want = auSoftmaxLossRef(x, y, o);
    // (b0, k0) and (b0, k1) are clamped: their l0 at flat [0, 1], their l1 at [3, 4]
    for (const i of [0, 1, 3, 4]) expect(got.grad[i], `gradient at ${i}`).to.equal(0);
    assertClose(got.grad, want.grad, TOL.bwd, 'auSoftmaxLoss clamp gradient');
    assertClose([got.loss], [want.loss], TOL.fwd, 'auSoftmaxLoss clamp loss');
    expect(want.grad.data.filter((v) => v === 0).length).to.equal(4);
  });

  it('auSoftmaxLoss clamp: at P = clampMin exactly the gradient passes, just above it is zero [2, 2, 1]', async () => {
    const x = nd([2, 2, 1], [0.25, 0.25, -1, -1]); // P0 = P1 = 0.5 exactly, in f32 too
    const y = [[1], [0]];
    const at = await lossAndGrad(x, (t) => auSoftmaxLoss(t, y, { clampMin: 0.5, reduction: 'sum' }));
    expect([...at.grad]).to.deep.equal([-0.5, 0.5, 0.5, -0.5]);
    expect(at.loss).to.equal(Math.fround(-2 * Math.log(0.5)));
    const next = Math.fround(0.5 + 2 ** -24); // the f32 just above 0.5
    const above = await lossAndGrad(x, (t) => auSoftmaxLoss(t, y, { clampMin: next, reduction: 'sum' }));
    expect([...above.grad].every((g) => g === 0)).to.equal(true);
    expect(above.loss).to.be.closeTo(-2 * Math.log(next), 1e-6);
  });

  for (const reduction of ['mean', 'sum'] as const) {
    for (const weighted of [false, true]) {
      const tag = `${weighted ? 'weighted' : 'unweighted'} ${reduction}`;
      it(`auSoftmaxLoss ${tag}: matches softmax, maximum, log, mul, ${reduction} composed [67, 2, 12]`, async () => {
        const d = await sharedDevice();
        const x = randn([67, 2, 12], 31, 3); // |l0 - l1| up to ~15: many clamped elements
        const y = randomLabels(67, 12, 32);
        const w = weighted ? randomWeight(12, 33) : null;
        const yt = Tensor.from(d, y.flat(), [67, 12]);
        const wt = w ? Tensor.from(d, w, [12]) : null;
        const fused = await lossAndGrad(x, (t) => auSoftmaxLoss(t, y, { weight: w, reduction }));
        const composed = await lossAndGrad(x, (t) => auComposed(t, yt, wt, reduction));
        assertClose([fused.loss], [composed.loss], TOL.composed.fwd, 'auSoftmaxLoss vs composed: loss');
        assertClose(fused.grad, composed.grad, composedBwd(reduction, 67 * 12), 'auSoftmaxLoss vs composed: gradient');
        expect(fused.grad.filter((g) => g === 0).length, 'clamped elements').to.be.above(20);
        yt.dispose();
        wt?.dispose();
      });
      it(`wceLoss ${tag}: matches sigmoid, log, mul, ${reduction} composed [67, 12]`, async () => {
        const d = await sharedDevice();
        const x = randn([67, 12], 41, 2.5);
        const y = randomLabels(67, 12, 42);
        const w = weighted ? randomWeight(12, 43) : null;
        const yt = Tensor.from(d, y.flat(), [67, 12]);
        const wt = w ? Tensor.from(d, w, [12]) : null;
        const fused = await lossAndGrad(x, (t) => wceLoss(t, y, { weight: w, reduction }));
        const composed = await lossAndGrad(x, (t) => wceComposed(t, yt, wt, reduction));
        assertClose([fused.loss], [composed.loss], TOL.composed.fwd, 'wceLoss vs composed: loss');
        assertClose(fused.grad, composed.grad, composedBwd(reduction, 67 * 12), 'wceLoss vs composed: gradient');
        yt.dispose();
        wt?.dispose();
      });
    }
  }

  it('wceLoss, auSoftmaxLoss: soft labels on the device follow the composed formula [9, 5]', async () => {
    const d = await sharedDevice();
    const soft = nd([9, 5], Array.from({ length: 45 }, (_, i) => (i * 0.37) % 1));
    const yt = Tensor.from(d, soft.data, [9, 5]);
    const w = randomWeight(5, 51);
    const wt = Tensor.from(d, w, [5]);
    const x2 = randn([9, 5], 52, 2);
    const x3 = randn([9, 2, 5], 53, 2);
    for (const [fused, composed, what] of [
      [await lossAndGrad(x2, (t) => wceLoss(t, yt, { weight: w })), await lossAndGrad(x2, (t) => wceComposed(t, yt, wt, 'mean')), 'wceLoss'],
      [await lossAndGrad(x3, (t) => auSoftmaxLoss(t, yt, { weight: w })), await lossAndGrad(x3, (t) => auComposed(t, yt, wt, 'mean')), 'auSoftmaxLoss'],
    ] as const) {
      assertClose([fused.loss], [composed.loss], TOL.composed.fwd, `${what} soft labels: loss`);
      assertClose(fused.grad, composed.grad, composedBwd('mean', 45), `${what} soft labels: gradient`);
    }
    yt.dispose();
    wt.dispose();
  });

  it('wceLoss, auSoftmaxLoss: host and device labels give the same bits, run after run [67, 12]', async () => {
    const d = await sharedDevice();
    const y = randomLabels(67, 12, 61);
    const yt = Tensor.from(d, y.flat(), [67, 12]);
    for (const op of Object.keys(OPS) as Op[]) {
      const x = randn(OPS[op].shape(67, 12), 62, 2);
      const labels: WceLabels[] = [y, yt, y];
      const runs = [];
      for (const l of labels) runs.push(await lossAndGrad(x, (t) => OPS[op].gpu(t, l, { weight: randomWeight(12, 63) })));
      for (const r of runs.slice(1)) {
        expect(r.loss, `${op} loss`).to.equal(runs[0]!.loss);
        expect(Buffer.from(r.grad.buffer).equals(Buffer.from(runs[0]!.grad.buffer)), `${op} gradient bits`).to.equal(true);
      }
    }
    yt.dispose();
  });

  it('wceLoss, auSoftmaxLoss: a rank-0 output like sum(), no tape node without a gradient [3, 4]', async () => {
    const d = await sharedDevice();
    const x = Tensor.from(d, randn([3, 4], 71).data, [3, 4]);
    const y = randomLabels(3, 4, 72);
    const s = sum(x);
    const a = wceLoss(x, y);
    expect([...a.shape]).to.deep.equal([...s.shape]);
    expect(a.node).to.equal(null);
    const xg = Tensor.from(d, randn([3, 2, 4], 73).data, [3, 2, 4], { requiresGrad: true });
    const b = noGrad(() => auSoftmaxLoss(xg, y));
    expect(b.requiresGrad).to.equal(false);
    const c = auSoftmaxLoss(xg, y);
    expect(c.node?.op).to.equal('auSoftmaxLoss');
    expect(c.node?.inputs).to.deep.equal([xg]);
    for (const t of [x, s, a, xg, b, c]) t.dispose();
  });

  it('wceLoss, auSoftmaxLoss: an empty batch has mean NaN, sum 0 and an empty gradient [0, 12]', async () => {
    for (const op of Object.keys(OPS) as Op[]) {
      const x = nd(OPS[op].shape(0, 12));
      const m = await lossAndGrad(x, (t) => OPS[op].gpu(t, []));
      expect(m.loss, `${op} mean`).to.be.NaN;
      expect(m.grad.length).to.equal(0);
      expect((await lossAndGrad(x, (t) => OPS[op].gpu(t, [], { reduction: 'sum' }))).loss, `${op} sum`).to.equal(0);
    }
  });

  for (const op of Object.keys(OPS) as Op[]) {
    it(`${op} errors: bad input names the op, the shapes and the bad label, before any dispatch`, async () => {
      const d = await sharedDevice();
      const gpu = OPS[op].gpu;
      const x = Tensor.from(d, new Float32Array(op === 'wceLoss' ? 6 : 12), OPS[op].shape(2, 3));
      const s = op === 'wceLoss' ? '\\[2, 3\\]' : '\\[2, 2, 3\\]';
      const y = [[0, 1, 0], [1, 1, 0]];
      const bad = Tensor.from(d, new Float32Array(12), [2, 6]);
      const ints = Tensor.from(d, new Int32Array(6), [2, 3]);
      const wrongRank = Tensor.from(d, new Float32Array(18), [2, 3, 3]);
      const before = d.counters.dispatches;
      const want = op === 'wceLoss' ? '\\[B, K\\]' : '\\[B, 2, K\\]';
      expect(() => gpu(wrongRank, y)).to.throw(RangeError, new RegExp(`${op}: logits must be ${want}; got \\[2, 3, 3\\]`));
      expect(() => gpu(x, [[0, 1, 0]])).to.throw(RangeError, new RegExp(`${op}: labels have 1 rows, logits ${s} need B = 2`));
      expect(() => gpu(x, [[0, 1, 0], [1, 0]])).to.throw(RangeError, new RegExp(`${op}: labels row 1 has 2 entries, logits ${s} need K = 3`));
      expect(() => gpu(x, [[0, 1, 0], [1, 0, 2]])).to.throw(RangeError, new RegExp(`${op}: label at row 1, AU 2 is 2; labels must be 0 or 1`));
      expect(() => gpu(x, [[0, -1, 0], [1, 0, 1]])).to.throw(RangeError, /label at row 0, AU 1 is -1/);
      expect(() => gpu(x, [[0, 1, 0], [NaN, 0, 1]])).to.throw(RangeError, /label at row 1, AU 0 is NaN/);
      expect(() => gpu(x, bad)).to.throw(RangeError, new RegExp(`${op}: labels \\[2, 6\\] do not match logits ${s} \\(expected \\[2, 3\\]\\)`));
      expect(() => gpu(x, ints)).to.throw(TypeError, new RegExp(`${op}: expects f32 inputs`));
      expect(() => gpu(x, y, { weight: [1, 2] })).to.throw(RangeError, new RegExp(`${op}: weight has shape \\[2\\], logits ${s} need \\[3\\]`));
      expect(() => gpu(x, y, { weight: [1, NaN, 2] })).to.throw(RangeError, new RegExp(`${op}: weight\\[1\\] is NaN; weights must be finite`));
      expect(() => gpu(x, y, { reduction: 'max' as 'sum' })).to.throw(RangeError, new RegExp(`${op}: unknown reduction 'max' \\(mean \\| sum\\)`));
      if (op === 'auSoftmaxLoss') expect(() => auSoftmaxLoss(x, y, { clampMin: -0.1 })).to.throw(RangeError, /auSoftmaxLoss: clampMin must be in \[0, 1\), got -0.1/);
      expect(d.counters.dispatches, 'dispatches recorded before the errors').to.equal(before);
      for (const t of [x, bad, ints, wrongRank]) t.dispose();
    });
  }
});

