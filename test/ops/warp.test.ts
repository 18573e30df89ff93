// warpAffine (kernels/warp.wgsl, src/ops/warp.ts) against the float64 reference src/ref/warp.ts.
// Identity and whole-pixel translations sample pixel centres exactly, so they must match bit for
// bit. Other maps: the GPU inverts nothing (the host does, in float64) but evaluates u, v and the
// bilinear weights in f32 (coordinate error ~1e-5 px for images of a few hundred pixels), so a value
// that falls within ~1e-3 of a .5 rounding boundary may round the other way: TOL allows 1 level
// anywhere and asks that >= 99% of values be exact.
import { expect } from 'chai';
import { alignmentMatrix, matrixRows } from '../../src/data/align.js';
import { invertAffine, packRgb, unpackRgb, warpAffine, type Matrix2x3 } from '../../src/ops/warp.js';
import { roundPixels, warpAffineRef } from '../../src/ref/warp.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { sharedDevice } from '../helpers.js';

const TOL = { maxLevels: 1, exactFraction: 0.99 };

function randomRgb(n: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n * 3 }, () => r.int(256));
}

/** A smooth image (so bilinear values are not all near .5 boundaries by accident) plus noise. */
function smoothRgb(B: number, H: number, W: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  const out = new Uint8Array(B * H * W * 3);
  for (let i = 0; i < B * H * W; i++) {
    const x = i % W;
    const y = Math.floor(i / W) % H;
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.min(255, Math.max(0, Math.round(128 + 100 * Math.sin(0.2 * x + c) * Math.cos(0.13 * y) + r.uniform(-20, 20))));
  }
  return out;
}

async function runWarp(rgb: Uint8Array, B: number, H: number, W: number, ms: Matrix2x3[], oh: number, ow: number, border?: number): Promise<Uint8Array> {
  const d = await sharedDevice();
  const img = Tensor.from(d, packRgb(rgb), [B, H, W], { dtype: 'i32' });
  const y = warpAffine(img, ms, oh, ow, border === undefined ? {} : { border });
  expect([...y.shape]).to.deep.equal([B, oh, ow]);
  const out = unpackRgb(await y.toArray());
  img.dispose();
  y.dispose();
  return out;
}

function compare(got: Uint8Array, want: Uint8Array, what: string): void {
  expect(got.length, `${what}: length`).to.equal(want.length);
  let exact = 0;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!);
    if (e === 0) exact++;
    if (e > worst) [worst, worstAt] = [e, i];
  }
  expect(worst, `${what}: worst error ${worst} at ${worstAt} (got ${got[worstAt]}, want ${want[worstAt]})`).to.be.at.most(TOL.maxLevels);
  expect(exact / Math.max(1, got.length), `${what}: exact fraction`).to.be.at.least(TOL.exactFraction);
}

const rot = (theta: number, s: number, tx: number, ty: number): Matrix2x3 => [
  [s * Math.cos(theta), -s * Math.sin(theta), tx],
  [s * Math.sin(theta), s * Math.cos(theta), ty],
];

describe('warpAffine', () => {
  it('warpAffine packing: packRgb and unpackRgb round-trip every byte value', () => {
    const rgb = Uint8Array.from({ length: 256 * 3 }, (_, i) => (i * 7) % 256);
    expect([...unpackRgb(packRgb(rgb))]).to.deep.equal([...rgb]);
    expect(packRgb([255, 255, 255])[0]).to.equal(0xffffff);
    expect(() => packRgb([1, 2])).to.throw(RangeError, /packRgb/);
  });

  for (const [B, H, W] of [[2, 67, 33], [1, 1, 1], [3, 16, 129]] as const) {
    it(`warpAffine identity: output equals input exactly [${B}, ${H}, ${W}]`, async () => {
      const rgb = randomRgb(B * H * W, 1);
      const got = await runWarp(rgb, B, H, W, Array.from({ length: B }, () => [[1, 0, 0], [0, 1, 0]]), H, W);
      expect(Buffer.from(got).equals(Buffer.from(rgb))).to.equal(true);
    });
  }

  it('warpAffine translation: whole pixels shift exactly, uncovered pixels are grey [2, 40, 50]', async () => {
    const [B, H, W] = [2, 40, 50];
    const rgb = randomRgb(B * H * W, 2);
    const ms: Matrix2x3[] = [[[1, 0, 5], [0, 1, -3]], [[1, 0, -7], [0, 1, 11]]];
    const got = await runWarp(rgb, B, H, W, ms, H, W);
    const want = roundPixels(warpAffineRef(rgb, B, H, W, ms as number[][][], H, W));
    expect(Buffer.from(got).equals(Buffer.from(want))).to.equal(true);
    // image 0: output (x, y) = input (x - 5, y + 3); output column 0..4 is border
    expect(got[((0 * H + 10) * W + 2) * 3]).to.equal(128);
    expect(got[((0 * H + 10) * W + 20) * 3 + 1]).to.equal(rgb[((0 * H + 13) * W + 15) * 3 + 1]);
  });

  for (const [theta, s, oh, ow] of [[0.3, 1.0, 64, 48], [-1.1, 0.6, 33, 67], [2.5, 1.7, 50, 50]] as const) {
    it(`warpAffine rotation: matches the float64 reference within ${TOL.maxLevels} level, ${TOL.exactFraction * 100}% exact [theta ${theta}, scale ${s}, 3 -> ${oh}x${ow}]`, async () => {
      const [B, H, W] = [3, 45, 70];
      const rgb = smoothRgb(B, H, W, 3);
      const ms = [rot(theta, s, 10, -5), rot(theta + 0.2, s * 1.1, 30, 2), rot(-theta, s, 0, 20)];
      const got = await runWarp(rgb, B, H, W, ms, oh, ow);
      compare(got, roundPixels(warpAffineRef(rgb, B, H, W, ms as number[][][], oh, ow)), `theta ${theta}`);
    });
  }

  it('warpAffine alignment: a face-alignment matrix to 128x128 matches the reference [2, 96, 80]', async () => {
    const [B, H, W] = [2, 96, 80];
    const r = new Rng(4);
    const ms = [0, 1].map(() => {
      const p = Array.from({ length: 98 }, (_, i) => (i % 2 === 0 ? r.uniform(20, 60) : r.uniform(25, 80)));
      for (let i = 19; i < 25; i++) [p[2 * i], p[2 * i + 1]] = [28 + r.uniform(-2, 2), 40 + (i - 19)];
      for (let i = 25; i < 31; i++) [p[2 * i], p[2 * i + 1]] = [55 + r.uniform(-2, 2), 45 + (i - 25)];
      return matrixRows(alignmentMatrix(p, 128, 2.9));
    });
    const rgb = smoothRgb(B, H, W, 5);
    compare(await runWarp(rgb, B, H, W, ms, 128, 128), roundPixels(warpAffineRef(rgb, B, H, W, ms, 128, 128)), 'alignment');
  });

  it('warpAffine border: a custom border value, and a map far outside gives only border [1, 8, 8]', async () => {
    const rgb = randomRgb(64, 6);
    const far = await runWarp(rgb, 1, 8, 8, [[[1, 0, 1e6], [0, 1, -1e6]]], 4, 5, 7);
    expect([...far]).to.deep.equal(new Array(60).fill(7));
    const half = await runWarp(rgb, 1, 8, 8, [[[1, 0, 0.5], [0, 1, 0]]], 8, 8, 0);
    // output x = 0 samples u = -0.5: half border (0), half pixel 0
    expect(half[0]).to.equal(Math.floor(rgb[0]! / 2 + 0.5));
  });

  it('warpAffine empty: an output of size 0 dispatches nothing [2, 4, 4] -> [2, 0, 3]', async () => {
    const d = await sharedDevice();
    const img = Tensor.from(d, packRgb(randomRgb(32, 7)), [2, 4, 4], { dtype: 'i32' });
    const before = d.counters.dispatches;
    const y = warpAffine(img, [[[1, 0, 0], [0, 1, 0]], [[1, 0, 0], [0, 1, 0]]], 0, 3);
    expect([...y.shape]).to.deep.equal([2, 0, 3]);
    expect(d.counters.dispatches).to.equal(before);
    img.dispose();
    y.dispose();
  });

  it('warpAffine errors: dtype, rank, matrix count, singular or malformed matrix, sizes, border; before any dispatch', async () => {
    const d = await sharedDevice();
    const img = Tensor.from(d, packRgb(randomRgb(32, 8)), [2, 4, 4], { dtype: 'i32' });
    const id: Matrix2x3 = [[1, 0, 0], [0, 1, 0]];
    const before = d.counters.dispatches;
    expect(() => warpAffine(Tensor.from(d, new Float32Array(32), [2, 4, 4]), [id, id], 4, 4)).to.throw(TypeError, /warpAffine: expects i32/);
    expect(() => warpAffine(img.view([32]), [id], 4, 4)).to.throw(RangeError, /warpAffine: images must be \[B, H, W\].*\[32\]/);
    expect(() => warpAffine(img, [id], 4, 4)).to.throw(RangeError, /1 matrices for 2 images \[2, 4, 4\]/);
    expect(() => warpAffine(img, [id, [[1, 2, 0], [2, 4, 0]]], 4, 4)).to.throw(RangeError, /singular/);
    expect(() => warpAffine(img, [id, [[1, 0], [0, 1]]], 4, 4)).to.throw(RangeError, /2x3/);
    expect(() => warpAffine(img, [id, id], 4.5, 4)).to.throw(RangeError, /outH/);
    expect(() => warpAffine(img, [id, id], 4, 4, { border: 300 })).to.throw(RangeError, /border/);
    expect(d.counters.dispatches).to.equal(before);
    img.dispose();
  });

  it('warpAffine invertAffine: M^-1 composed with M is the identity', () => {
    const m = rot(0.7, 1.3, 4, -9);
    const [a, b, c, dd, e, f] = invertAffine(m);
    const x = 3.25;
    const y = -7.5;
    const u = m[0]![0]! * x + m[0]![1]! * y + m[0]![2]!;
    const v = m[1]![0]! * x + m[1]![1]! * y + m[1]![2]!;
    expect(a! * u + b! * v + c!).to.be.closeTo(x, 1e-12);
    expect(dd! * u + e! * v + f!).to.be.closeTo(y, 1e-12);
  });
});
