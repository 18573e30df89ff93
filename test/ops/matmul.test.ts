import { expect } from 'chai';
import { matmul, matmulRaw, Tensor, type Device } from '../../src/index.js';
import { matmulRef, matmulVjp } from '../../src/ref/matmul.js';
import { nd, numel, type NDArray } from '../../src/ref/ndarray.js';
import { assertClose, checkFiniteDiff, checkGpu, randn, sharedDevice } from '../helpers.js';

/**
 * Tolerance of a product whose dot products run over `len` terms of N(0, 1) values: the sum grows
 * like sqrt(len) and f32 rounding of the inputs and of each partial sum adds errors of random sign,
 * so the absolute error grows like sqrt(len): atol = 1e-5 * sqrt(len) (measured errors are ~10x
 * smaller), plus rtol 1e-5 for the few large entries.
 */
const tolFor = (len: number) => ({ atol: 1e-5 * Math.sqrt(Math.max(len, 1)), rtol: 1e-5 });

/**
 * An upper bound of the longest dot product in the forward and the backward: K in the forward,
 * N (dA) and M (dB) in the backward, times the batch entries summed into one gradient entry.
 */
function longest(sa: number[], sb: number[]): number {
  const [m, k] = sa.slice(-2) as [number, number];
  const n = sb[sb.length - 1]!;
  const batch = numel(sa.slice(0, -2)) * numel(sb.slice(0, -2)) || 1;
  return Math.max(k, n * batch, m * batch);
}

function transpose(a: NDArray): NDArray {
  const [r, c] = a.shape.slice(-2) as [number, number];
  const batch = a.data.length / (r * c || 1);
  const out = nd([...a.shape.slice(0, -2), c, r]);
  for (let t = 0; t < batch; t++) for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[t * r * c + j * r + i] = a.data[t * r * c + i * c + j]!;
  return out;
}

const SHAPES: [number[], number[]][] = [
  [[67, 33], [33, 129]],
  [[5, 1], [1, 7]],
  [[1, 1], [1, 1]],
  [[7, 9], [9, 1]],
  [[3, 0], [0, 4]],
  [[0, 3], [3, 4]],
  [[3, 4], [4, 0]],
  [[1, 4, 6], [1, 6, 5]],
  [[3, 5, 6], [3, 6, 7]],
  [[2, 3, 5], [5, 4]],
  [[3, 5], [2, 5, 4]],
  [[2, 1, 6, 3], [1, 3, 3, 5]],
  [[4, 1, 2, 3], [5, 3, 2]],
  [[0, 4, 3], [3, 2]],
  [[2, 0, 4, 3], [1, 3, 2]],
  [[2, 3, 33, 17], [17, 9]],
];

describe('matmul', () => {
  for (const [sa, sb] of [[[2, 3, 4], [4, 5]], [[2, 1, 3, 2], [3, 2, 5]], [[4, 1], [1, 3]]] as [number[], number[]][]) {
    it(`matmul reference: gradient matches finite differences [${sa}] @ [${sb}]`, () => {
      checkFiniteDiff('matmul', [randn(sa, 1), randn(sb, 2)], ([a, b]) => matmulRef(a!, b!), ([a, b], dy) => matmulVjp(a!, b!, dy));
    });
  }

  for (const [sa, sb] of SHAPES) {
    it(`matmul gpu: forward and backward match the reference [${sa}] @ [${sb}]`, async () => {
      const tol = tolFor(longest(sa, sb));
      await checkGpu({
        name: 'matmul',
        inputs: [randn(sa, 11), randn(sb, 12)],
        gpu: ([a, b]) => matmul(a!, b!),
        ref: ([a, b]) => matmulRef(a!, b!),
        vjp: ([a, b], dy) => matmulVjp(a!, b!, dy),
        fwd: tol,
        bwd: tol,
      });
    });
  }

  it('matmul gpu: K = 0 gives zeros [3, 0] @ [0, 4]', async () => {
    const d = await sharedDevice();
    const y = await matmul(Tensor.empty(d, [3, 0]), Tensor.empty(d, [0, 4])).toArray();
    expect([...y]).to.deep.equal(new Array(12).fill(0));
  });

  it('matmul gpu: a batch of 0 still gives a zero gradient to the broadcast operand [0, 4, 3] @ [3, 2]', async () => {
    const d = await sharedDevice();
    const a = Tensor.empty(d, [0, 4, 3], 'f32', { requiresGrad: true });
    const b = Tensor.from(d, randn([3, 2], 1).data, [3, 2], { requiresGrad: true });
    const y = matmul(a, b);
    expect([...y.shape]).to.deep.equal([0, 4, 2]);
    y.backward(Tensor.empty(d, [0, 4, 2]));
    expect([...(await b.grad!.toArray())]).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });

  for (const [transA, transB] of [[true, false], [false, true], [true, true]]) {
    it(`matmulRaw gpu: transA ${transA}, transB ${transB} reads transposed operands [2, 67, 33]`, async () => {
      const a = randn(transA ? [2, 33, 67] : [2, 67, 33], 3);
      const b = randn(transB ? [9, 33] : [33, 9], 4);
      await checkGpu({
        name: 'matmulRaw',
        inputs: [a, b],
        gpu: ([x, y]) => matmulRaw(x!, y!, { transA, transB }),
        ref: ([x, y]) => matmulRef(transA ? transpose(x!) : x!, transB ? transpose(y!) : y!),
        fwd: tolFor(33),
      });
    });
  }

  for (const [reduceTo, index] of [
    [[3], (i: number) => i % 90],
    [[2, 1], (i: number) => Math.floor(i / 90) * 30 + (i % 30)],
  ] as [number[], (i: number) => number][]) {
    it(`matmulRaw gpu: reduceTo sums the broadcast batch dims [2, 3, 5, 4] @ [4, 6] -> [${reduceTo}, 5, 6]`, async () => {
      await checkGpu({
        name: 'matmulRaw reduceTo',
        inputs: [randn([2, 3, 5, 4], 5), randn([4, 6], 6)],
        gpu: ([x, y]) => matmulRaw(x!, y!, { reduceTo }),
        ref: ([x, y]) => {
          const full = matmulRef(x!, y!);
          const out = nd([...reduceTo, 5, 6]);
          for (let i = 0; i < full.data.length; i++) out.data[index(i)]! += full.data[i]!;
          return out;
        },
        fwd: tolFor(12),
      });
    });
  }

  it('matmul gpu: more tiles than one grid dimension holds (4.2M batches) [4200000, 1, 2] @ [2, 3]', async function () {
    this.timeout(120000);
    const d = await sharedDevice();
    const batches = 4200000; // 4.2M tiles of 4x4 / 64 per workgroup > 65535 workgroups
    const a = randn([batches, 1, 2], 13);
    const b = randn([2, 3], 14);
    const y = await matmul(Tensor.from(d, a.data, a.shape), Tensor.from(d, b.data, b.shape)).toArray();
    const want = new Float64Array(batches * 3);
    for (let t = 0; t < batches; t++) {
      for (let j = 0; j < 3; j++) want[t * 3 + j] = a.data[2 * t]! * b.data[j]! + a.data[2 * t + 1]! * b.data[3 + j]!;
    }
    assertClose(y, nd([batches, 1, 3], want), tolFor(2), 'matmul many batches');
  });

  it('matmul: the Tensor method matches the function and is deterministic [33, 65] @ [65, 17]', async () => {
    const d = await sharedDevice();
    const a = Tensor.from(d, randn([33, 65], 7).data, [33, 65]);
    const b = Tensor.from(d, randn([65, 17], 8).data, [65, 17]);
    const r1 = await a.matmul(b).toArray();
    const r2 = await matmul(a, b).toArray();
    expect([...r1]).to.deep.equal([...r2]);
  });

  describe('matmul errors (raised before any dispatch)', () => {
    const bad: [string, (d: Device) => Tensor, RegExp][] = [
      ['inner dimensions that differ', (d) => matmul(Tensor.empty(d, [2, 3]), Tensor.empty(d, [4, 5])), /^matmul: \[2, 3\] @ \[4, 5\]: inner dimensions 3 and 4 differ$/],
      ['batch dims that do not broadcast', (d) => matmul(Tensor.empty(d, [2, 3, 4]), Tensor.empty(d, [3, 4, 5])), /matmul: \[2, 3, 4\] @ \[3, 4, 5\]: batch dimensions \[2\] and \[3\] do not broadcast/],
      ['a 1-D left operand', (d) => matmul(Tensor.empty(d, [3]), Tensor.empty(d, [3, 4])), /matmul: \[3\] @ \[3, 4\]: 1-D operands are not supported/],
      ['a 1-D right operand', (d) => matmul(Tensor.empty(d, [2, 3]), Tensor.empty(d, [3])), /matmul: \[2, 3\] @ \[3\]: 1-D operands are not supported/],
      ['transposed inner dimensions that differ', (d) => matmulRaw(Tensor.empty(d, [2, 3]), Tensor.empty(d, [2, 5]), { transB: true }), /matmul: \[2, 3\] @ \[2, 5\]\^T: inner dimensions 3 and 5 differ/],
      ['a reduceTo that is not a sum of the batch', (d) => matmulRaw(Tensor.empty(d, [2, 3, 4]), Tensor.empty(d, [4, 5]), { reduceTo: [3] }), /matmul: \[2, 3, 4\] @ \[4, 5\]: the batch shape \[2\] cannot be summed down to \[3\]/],
      ['an i32 operand', (d) => matmul(Tensor.empty(d, [2, 3]), Tensor.from(d, new Int32Array(6), [3, 2])), /matmul: expects f32 inputs/],
    ];
    for (const [what, call, msg] of bad) {
      it(`matmul: ${what} is an error naming the op and shapes`, async () => {
        const d = await sharedDevice();
        const before = d.counters.dispatches;
        expect(() => call(d)).to.throw(msg);
        expect(d.counters.dispatches).to.equal(before);
      });
    }
  });
});
