import { expect } from 'chai';
import { openDevice, Tensor, type Device } from '../../src/index.js';
import { splitK } from '../../src/ops/matmul_subgroup.js';
import { makeTiledMatmul, tiledMatmul, tileSizesUnsupported } from '../../src/ops/matmul_tiled.js';
import { matmulVariants, type MatmulProblem, type MatmulVariant } from '../../src/ops/matmul_variants.js';
import { nd } from '../../src/ref/ndarray.js';
import { assertClose, randn, sharedDevice, type Tol } from '../helpers.js';

/**
 * Tolerances per dot product of length K over N(0, 1) inputs (entries of magnitude ~sqrt(K)).
 * f32 variants: f32 rounding of the partial sums adds errors of random sign, so the absolute error
 * grows like sqrt(K): atol = 1e-5 * sqrt(K) (measured errors are ~10x smaller).
 * f16: each input is rounded to f16 (relative error up to 2^-11 = 4.9e-4), the products and sums
 * are f32, so each term carries an error ~|a b| * 4e-4 of random sign and an entry's error has a
 * standard deviation of about 4e-4 * sqrt(K); atol = 4e-3 * sqrt(K) is ten of those (the largest
 * errors measured over 65536 entries are 4-5 of them, see src/ops/matmul_f16.ts). For small K a
 * single large product dominates; its error is at most 2 * 2^-11 of it: rtol = 1e-3.
 */
function tolFor(variant: string, k: number): Tol {
  const scale = Math.sqrt(Math.max(k, 1));
  return variant === 'f16' ? { atol: 4e-3 * scale, rtol: 1e-3 } : { atol: 1e-5 * scale, rtol: 0 };
}

/** A reason an unsupported() gives: names the variant and the limitation it hit. */
const LIMITATION = /\b(features?|shader-f16|subgroups?|lanes?|workgroups?|invocations|bytes|limit|exceeds?|more than|allows)\b/i;

interface Case {
  name: string;
  p: MatmulProblem;
}

function problem(m: number, n: number, k: number, o: Partial<MatmulProblem> = {}): MatmulProblem {
  return { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: m * k, bBatchStride: k * n, ...o };
}

const label = (p: MatmulProblem) =>
  `${p.batch > 1 ? `${p.batch} x ` : ''}${p.m}x${p.n}x${p.k} ${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'}` +
  `${p.batch > 1 ? ` strides ${p.aBatchStride}/${p.bBatchStride}` : ''}`;

const c = (name: string, p: MatmulProblem): Case => ({ name: `${name}: ${label(p)}`, p });

const SQUARES = [1, 64, 256].map((s) => problem(s, s, s));

const CASES: Case[] = [
  c('square', problem(1, 1, 1)),
  c('square, whole tiles', problem(64, 64, 64)),
  c('square', problem(256, 256, 256)),
  c('odd sizes', problem(67, 33, 129)),
  c('small', problem(16, 4, 32)),
  ...[
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ].map(([ta, tb]) => c('transposes', problem(129, 67, 33, { transA: ta!, transB: tb! }))),
  c('aligned with edge tiles', problem(68, 132, 36, { transA: true })),
  c('aligned with edge tiles', problem(132, 68, 36, { transB: true })),
  c('K = 1', problem(37, 45, 1)),
  c('K = 1', problem(37, 45, 1, { transA: true, transB: true })),
  c('K = 0 gives zeros', problem(5, 6, 0)),
  c('m = 1', problem(1, 70, 40)),
  c('n = 1', problem(70, 1, 40, { transB: true })),
  c('batch of 1', problem(20, 24, 16, { batch: 1 })),
  c('batch, A broadcast', problem(20, 18, 12, { batch: 3, aBatchStride: 0 })),
  c('batch, B broadcast', problem(20, 18, 12, { batch: 3, bBatchStride: 0, transB: true })),
  c('batch, strides with gaps', problem(8, 12, 8, { batch: 2, aBatchStride: 8 * 8 + 4, bBatchStride: 8 * 12 + 3 })),
  // k and n multiples of 4, untransposed: the subgroup variant's vec4 path
  c('aligned, edge tiles (vec4 loads)', problem(67, 132, 36)),
  c('aligned batch, A broadcast (vec4 loads)', problem(20, 24, 16, { batch: 3, aBatchStride: 0 })),
  c('aligned batch, B broadcast (vec4 loads)', problem(21, 8, 12, { batch: 3, bBatchStride: 0 })),
  c('aligned batch, strides with gaps (vec4 loads)', problem(8, 12, 8, { batch: 2, aBatchStride: 8 * 8 + 4, bBatchStride: 8 * 12 + 8 })),
  // more tile rows than one group of the subgroup variant's tile order (16 tile rows of 16), plus a partial group
  c('tall, two groups of tile rows', problem(275, 70, 20)),
  c('tall, two groups of tile rows (vec4 loads)', problem(275, 72, 20)),
  // the same for subgroup32's 32-row tiles (groups of 8 tile rows: 256 rows), with a partial tile
  c('taller, two groups of 32-row tiles', problem(545, 70, 20)),
  c('taller, two groups of 32-row tiles (vec4 loads)', problem(545, 72, 20)),
  c('taller, two groups of 32-row tiles, k tail', problem(545, 70, 22)),
  c('huge batch, B broadcast', problem(2, 3, 4, { batch: 70000, bBatchStride: 0 })),
  // few output tiles and a long K: the subgroup variants split K (see splitK)
  c('split K', problem(20, 24, 1000)),
  c('split K, k tail, A transposed (vec4 across rows)', problem(36, 40, 1001, { transA: true })),
  c('split K, batch, B transposed (vec4 along k)', problem(12, 20, 600, { batch: 2, transB: true, aBatchStride: 12 * 600, bBatchStride: 20 * 600 })),
];

/** Elements an operand needs: the last batch's offset plus one matrix. */
const extent = (batch: number, stride: number, size: number) => Math.max((batch - 1) * stride + size, 1);

/** float64 product of the f32 operands, written from the problem's definition. */
function reference(p: MatmulProblem, a: Float32Array, b: Float32Array): Float64Array {
  const out = new Float64Array(p.batch * p.m * p.n);
  for (let t = 0; t < p.batch; t++) {
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let s = 0;
        for (let l = 0; l < p.k; l++) {
          const x = a[t * p.aBatchStride + (p.transA ? l * p.m + i : i * p.k + l)]!;
          const y = b[t * p.bBatchStride + (p.transB ? j * p.k + l : l * p.n + j)]!;
          s += x * y;
        }
        out[(t * p.m + i) * p.n + j] = s;
      }
    }
  }
  return out;
}

/** Runs a variant on random N(0, 1) operands into an output pre-filled with NaN; returns result and reference. */
async function run(device: Device, v: MatmulVariant, p: MatmulProblem, seed: number): Promise<{ got: Float32Array; want: Float64Array }> {
  const aData = Float32Array.from(randn([extent(p.batch, p.aBatchStride, p.m * p.k)], seed).data);
  const bData = Float32Array.from(randn([extent(p.batch, p.bBatchStride, p.k * p.n)], seed + 1).data);
  const a = Tensor.empty(device, [aData.length]);
  const b = Tensor.empty(device, [bData.length]);
  const out = Tensor.empty(device, [p.batch * p.m * p.n]);
  device.writeBuffer(a.buffer, 0, aData);
  device.writeBuffer(b.buffer, 0, bData);
  device.writeBuffer(out.buffer, 0, new Float32Array(out.size).fill(NaN));
  v.record(device, p, a.buffer, b.buffer, out.buffer);
  const got = (await out.toArray()) as Float32Array;
  for (const x of [a, b, out]) x.dispose();
  return { got, want: reference(p, aData, bData) };
}

describe('matmul variants', () => {
  const variants = matmulVariants();

  it('matmul variants: the tiled and f16 variants are registered', () => {
    const names = variants.map((v) => v.name);
    expect(names).to.include.members(['tiled', 'f16']);
  });

  it('matmul subgroup split-K: few tiles and a long K split into chunks of a multiple of 4 [96x32x50176]', () => {
    // a Linear's weight gradient: 6 tiles of 16x32 over 50176 tokens -> 6 chunks, 36 slices
    expect(splitK(problem(96, 32, 50176, { transA: true }), 6, false)).to.deep.equal({ splits: 6, kchunk: 8364 });
    // the chunks cover K exactly once: the last one is shorter
    for (const [k, tiles] of [[1001, 2], [50176, 1], [600, 3], [4096, 31]] as const) {
      const { splits, kchunk } = splitK(problem(16, 16, k), tiles, false);
      expect(kchunk % 4, `k ${k}`).to.equal(0);
      expect((splits - 1) * kchunk).to.be.below(k);
      expect(splits * kchunk).to.be.at.least(k);
      expect(splits * tiles, `k ${k}`).to.be.at.most(32 + tiles);
    }
    // no split: enough tiles, a short K, or an epilogue (it applies to the sum)
    expect(splitK(problem(1024, 1024, 1024), 1024, false).splits).to.equal(1);
    expect(splitK(problem(16, 32, 511), 1, false).splits).to.equal(1);
    expect(splitK(problem(16, 32, 50176), 1, true).splits).to.equal(1);
  });

  for (const v of variants) {
    it(`matmul ${v.name}: supported on this device for square problems [1, 64, 256]`, async () => {
      const d = await sharedDevice();
      expect(d.has('subgroups') && d.has('shader-f16'), 'this adapter lacks subgroups or shader-f16').to.equal(true);
      for (const p of SQUARES) expect(v.unsupported(d, p), `${v.name} on ${label(p)}`).to.equal(null);
    });

    CASES.forEach(({ name, p }, i) => {
      it(`matmul ${v.name}: matches the float64 reference [${name}]`, async () => {
        const d = await sharedDevice();
        const why = v.unsupported(d, p);
        if (why !== null) {
          // Not a skip: a variant that declines must say which limitation the problem hits.
          expect(why, `${v.name} declined ${label(p)}`).to.match(new RegExp(`^${v.name}: \\S`));
          expect(why).to.match(LIMITATION);
          return;
        }
        const { got, want } = await run(d, v, p, 100 + 7 * i);
        assertClose(got, nd([p.batch, p.m, p.n], want), tolFor(v.name, p.k), `matmul ${v.name} ${label(p)}`);
      });
    });
  }

  describe('without optional features', () => {
    let bare: Device;
    before(async () => {
      bare = await openDevice({ disableFeatures: ['shader-f16', 'subgroups'] });
    });
    after(() => bare.destroy());

    it('matmul f16: declines without shader-f16, naming the feature [67x33x129]', () => {
      const f16 = variants.find((v) => v.name === 'f16')!;
      expect(f16.unsupported(bare, problem(67, 33, 129))).to.equal('f16: the device lacks the shader-f16 feature');
    });

    for (const v of variants) {
      it(`matmul ${v.name}: without shader-f16 and subgroups, declines with a reason or matches the reference [67x33x129 NT]`, async () => {
        const p = problem(67, 33, 129, { transB: true });
        const why = v.unsupported(bare, p);
        if (why !== null) {
          expect(why).to.match(new RegExp(`^${v.name}: \\S`));
          expect(why).to.match(/shader-f16|subgroups/);
          return;
        }
        const { got, want } = await run(bare, v, p, 5);
        assertClose(got, nd([p.m, p.n], want), tolFor(v.name, p.k), `matmul ${v.name} ${label(p)} without features`);
      });
    }
  });

  describe('tiled tile sizes', () => {
    const SIZES = [
      { TILE_M: 32, TILE_N: 64, TILE_K: 32 },
      { TILE_M: 64, TILE_N: 32, TILE_K: 8 },
      { TILE_M: 16, TILE_N: 16, TILE_K: 4 },
    ];
    for (const t of SIZES) {
      const v = makeTiledMatmul(`tiled ${t.TILE_M}x${t.TILE_N}x${t.TILE_K}`, t);
      for (const { name, p } of CASES.filter((x) => /odd|transposes|edge|gaps/.test(x.name))) {
        it(`matmul ${v.name}: matches the float64 reference [${name}]`, async () => {
          const d = await sharedDevice();
          expect(v.unsupported(d, p)).to.equal(null);
          const { got, want } = await run(d, v, p, 31);
          assertClose(got, nd([p.batch, p.m, p.n], want), tolFor('tiled', p.k), `matmul ${v.name} ${label(p)}`);
        });
      }
    }

    it('matmul tiled: tile sizes beyond the device limits are declined with the limit [256x256x16, 64x64x6]', async () => {
      const d = await sharedDevice();
      const big = makeTiledMatmul('tiled big', { TILE_M: 256, TILE_N: 256, TILE_K: 16 });
      expect(big.unsupported(d, problem(8, 8, 8))).to.match(/^tiled big: a 256x256 tile needs 4096 invocations per workgroup; the device allows \d+/);
      expect(tileSizesUnsupported(d, { TILE_M: 64, TILE_N: 64, TILE_K: 6 })).to.match(/must be positive multiples of 4/);
    });

    it('matmul tiled: too many column tiles are declined, and record throws before dispatch [1x4194368x1]', async () => {
      const d = await sharedDevice();
      const p = problem(1, 64 * 65536 + 64, 1);
      expect(tiledMatmul.unsupported(d, p)).to.match(/^tiled: n = 4194368 needs 65537 column tiles of 64, more than the \d+ workgroups per dimension/);
      const t = Tensor.empty(d, [4]);
      const before = d.counters.dispatches;
      expect(() => tiledMatmul.record(d, p, t.buffer, t.buffer, t.buffer)).to.throw(RangeError, /^tiled: n = 4194368/);
      expect(d.counters.dispatches).to.equal(before);
      t.dispose();
    });
  });
});
