// Two-view augmentation (kernels/augment.wgsl, src/data/augment.ts) against the float64 reference
// (src/ref/augment.ts) on identical parameters: each step alone, then whole recipes; determinism by
// seed; the distributions of the drawn parameters.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { runPreview } from '../../src/cli/augment_preview.js';
import {
  augment,
  drawViews,
  packViews,
  recipePlan,
  RELEASED_RECIPE,
  SIMCLR_RECIPE,
  twoViews,
  type AugmentPlan,
  type ViewParams,
} from '../../src/data/augment.js';
import { NativeWriter } from '../../src/data/native.js';
import { packRgb } from '../../src/ops/warp.js';
import { augmentRef, blurRef, colourRef, gaussianWeights, geometryRef, hsvToRgb, rgbToHsv } from '../../src/ref/augment.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, sharedDevice } from '../helpers.js';

// Values in [0, 1] before normalisation. f32 bilinear weights and colour arithmetic err by a few
// ulps (~1e-7); hue divides by the chroma and multiplies it back, and contrast sums S^2 grey values
// in f32 (relative 1e-6): 2e-5 covers them with margin. The full pipeline divides by std ~0.2
// (x5) and adds blur sums: 2e-4 after normalisation.
const TOL = { step: { atol: 2e-5, rtol: 0 }, full: { atol: 2e-4, rtol: 0 } };

const IDENTITY_PLAN = (size: number, radius = 0): AugmentPlan => ({ size, radius, mean: [0, 0, 0], std: [1, 1, 1] });

function randomRgb(n: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n * 3 }, () => r.int(256));
}

function view(over: Partial<ViewParams> & { crop: ViewParams['crop'] }): ViewParams {
  return { image: 0, flip: false, jitter: null, gray: false, sigma: 0, ...over };
}

const NEUTRAL = { order: [0, 1, 2, 3] as [number, number, number, number], brightness: 1, contrast: 1, saturation: 1, hue: 0 };

async function runGpu(rgb: Uint8Array, B: number, H: number, W: number, views: ViewParams[], plan: AugmentPlan): Promise<Float32Array> {
  const d = await sharedDevice();
  const img = Tensor.from(d, packRgb(rgb), [B, H, W], { dtype: 'i32' });
  const y = augment(img, views, plan);
  expect([...y.shape]).to.deep.equal([views.length, 3, plan.size, plan.size]);
  const out = await y.toFloat32();
  img.dispose();
  y.dispose();
  return out;
}

/** Reference of the steps up to colour (and blur) for each view, concatenated. */
function refSteps(rgb: Uint8Array, H: number, W: number, views: ViewParams[], plan: AugmentPlan): Float64Array {
  const S = plan.size;
  const out = new Float64Array(views.length * 3 * S * S);
  views.forEach((v, k) => out.set(blurRef(colourRef(geometryRef(rgb, H, W, v, S), v, S), v.sigma, plan.radius, S), k * 3 * S * S));
  return out;
}

describe('augment', () => {
  it('augment reference: HSV round trip, primary hues, neutral jitter is the identity', () => {
    const r = new Rng(1);
    for (let i = 0; i < 200; i++) {
      const c = [r.next(), r.next(), r.next()] as const;
      const back = hsvToRgb(...rgbToHsv(...c));
      back.forEach((x, k) => expect(x).to.be.closeTo(c[k]!, 1e-12));
    }
    expect(rgbToHsv(1, 0, 0)[0]).to.equal(0);
    expect(rgbToHsv(0, 1, 0)[0]).to.be.closeTo(1 / 3, 1e-15);
    expect(rgbToHsv(0, 0, 1)[0]).to.be.closeTo(2 / 3, 1e-15);
    const img = Float64Array.from({ length: 3 * 25 }, () => r.next());
    const same = colourRef(Float64Array.from(img), view({ crop: [0, 0, 5, 5], jitter: NEUTRAL }), 5);
    same.forEach((x, i) => expect(x).to.be.closeTo(img[i]!, 1e-12));
    const w = gaussianWeights(0.8, 1);
    expect(w.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-15);
    expect(w[0]).to.be.closeTo(Math.exp(-1 / 1.28) / (1 + 2 * Math.exp(-1 / 1.28)), 1e-15);
  });

  it('augment geometry: crops, resizes (up and down) and flips match the reference [2, 37, 41] -> 29', async () => {
    const [B, H, W, S] = [2, 37, 41, 29];
    const rgb = randomRgb(B * H * W, 2);
    const views = [
      view({ crop: [0, 0, 41, 37] }),
      view({ image: 1, crop: [5, 3, 29, 29], flip: true }),
      view({ crop: [10, 7, 13, 9] }),
      view({ image: 1, crop: [20, 20, 21, 17], flip: true }),
      view({ crop: [40, 36, 1, 1] }),
    ];
    const plan = IDENTITY_PLAN(S);
    assertClose(await runGpu(rgb, B, H, W, views, plan), refSteps(rgb, H, W, views, plan), TOL.step, 'geometry');
  });

  it('augment geometry: a 224-of-256-style place crop copies pixels (to 1 ulp of x / 255) [1, 16, 16] -> 14', async () => {
    const rgb = randomRgb(256, 3);
    const got = await runGpu(rgb, 1, 16, 16, [view({ crop: [2, 1, 14, 14] })], IDENTITY_PLAN(14));
    for (let y = 0; y < 14; y++) for (let x = 0; x < 14; x++) expect(got[y * 14 + x]).to.be.closeTo(rgb[((y + 1) * 16 + x + 2) * 3]! / 255, 1.2e-7);
  });

  const single: [string, Partial<typeof NEUTRAL>][] = [
    ['brightness', { brightness: 1.37 }],
    ['contrast', { contrast: 0.62 }],
    ['saturation', { saturation: 1.4 }],
    ['hue', { hue: -0.093 }],
  ];
  for (const [name, f] of single) {
    it(`augment jitter ${name}: alone matches the reference [2, 19, 23] -> 17`, async () => {
      const [B, H, W, S] = [2, 19, 23, 17];
      const rgb = randomRgb(B * H * W, 4);
      const views = [0, 1].map((image) => view({ image, crop: [image, 2, 17, 17], jitter: { ...NEUTRAL, ...f } }));
      const plan = IDENTITY_PLAN(S);
      const want = refSteps(rgb, H, W, views, plan);
      assertClose(await runGpu(rgb, B, H, W, views, plan), want, TOL.step, name);
      const plain = refSteps(rgb, H, W, views.map((v) => ({ ...v, jitter: null })), plan);
      expect(want.some((x, i) => Math.abs(x - plain[i]!) > 1e-3), `${name} changes the image`).to.equal(true);
    });
  }

  it('augment jitter: all 24 orders with strong factors, then grayscale on some [3, 21, 21] -> 15', async () => {
    const [B, H, W, S] = [3, 21, 21, 15];
    const rgb = randomRgb(B * H * W, 5);
    const r = new Rng(6);
    const orders: [number, number, number, number][] = [];
    const perm = (rest: number[], acc: number[]) => (rest.length === 0 ? orders.push(acc as [number, number, number, number]) : rest.forEach((x) => perm(rest.filter((y) => y !== x), [...acc, x])));
    perm([0, 1, 2, 3], []);
    expect(orders).to.have.length(24);
    const views = orders.map((order, k) =>
      view({
        image: k % B,
        crop: [r.int(5), r.int(5), 15 + r.int(2), 15 + r.int(2)],
        flip: k % 2 === 0,
        jitter: { order, brightness: r.uniform(0.2, 1.8), contrast: r.uniform(0.2, 1.8), saturation: r.uniform(0.2, 1.8), hue: r.uniform(-0.2, 0.2) },
        gray: k % 5 === 0,
      }),
    );
    const plan = IDENTITY_PLAN(S);
    assertClose(await runGpu(rgb, B, H, W, views, plan), refSteps(rgb, H, W, views, plan), TOL.step, 'jitter orders');
  });

  it('augment grayscale: three equal planes of 0.299 r + 0.587 g + 0.114 b [1, 9, 9] -> 9', async () => {
    const rgb = randomRgb(81, 7);
    const got = await runGpu(rgb, 1, 9, 9, [view({ crop: [0, 0, 9, 9], gray: true })], IDENTITY_PLAN(9));
    for (let i = 0; i < 81; i++) {
      const g = (0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!) / 255;
      for (let c = 0; c < 3; c++) expect(got[c * 81 + i]).to.be.closeTo(g, TOL.step.atol);
    }
  });

  for (const radius of [1, 5]) {
    it(`augment blur: radius ${radius}, sigmas 0.1-2 and none, reflect edges match the reference [2, 13, 13] -> 13`, async () => {
      const [B, H, W, S] = [2, 13, 13, 13];
      const rgb = randomRgb(B * H * W, 8);
      const views = [0.1, 0.7, 2.0, 0].map((sigma, k) => view({ image: k % 2, crop: [0, 0, 13, 13], sigma }));
      const plan = IDENTITY_PLAN(S, radius);
      assertClose(await runGpu(rgb, B, H, W, views, plan), refSteps(rgb, H, W, views, plan), TOL.step, `blur r ${radius}`);
    });
  }

  for (const [recipe, B, H, W] of [[RELEASED_RECIPE, 3, 40, 40], [SIMCLR_RECIPE, 2, 48, 40]] as const) {
    it(`augment ${recipe.name} recipe: the whole pipeline matches the reference [${B}, ${H}, ${W}]`, async () => {
      const rgb = randomRgb(B * H * W, 9);
      const plan = recipePlan(recipe, H, W);
      const views = drawViews(recipe, new Rng(10), B, H, W);
      // every step occurs somewhere in these views
      expect(views.some((v) => v.jitter) && views.some((v) => v.flip) && views.some((v) => v.sigma > 0)).to.equal(true);
      assertClose(await runGpu(rgb, B, H, W, views, plan), augmentRef(rgb, H, W, views, plan), TOL.full, recipe.name);
    });
  }

  it('augment twoViews: one seed reproduces the batch bit for bit; another seed does not [2, 32, 32]', async () => {
    const d = await sharedDevice();
    const img = Tensor.from(d, packRgb(randomRgb(2 * 32 * 32, 11)), [2, 32, 32], { dtype: 'i32' });
    const a = twoViews(img, RELEASED_RECIPE, new Rng(42));
    const b = twoViews(img, RELEASED_RECIPE, new Rng(42));
    const c = twoViews(img, RELEASED_RECIPE, new Rng(43));
    expect([...a.views.shape]).to.deep.equal([4, 3, 28, 28]);
    expect(a.params).to.deep.equal(b.params);
    expect(a.params.map((p) => p.image)).to.deep.equal([0, 1, 0, 1]);
    const [xa, xb, xc] = await Promise.all([a.views.toFloat32(), b.views.toFloat32(), c.views.toFloat32()]);
    expect(Buffer.from(xa.buffer).equals(Buffer.from(xb.buffer))).to.equal(true);
    expect(Buffer.from(xa.buffer).equals(Buffer.from(xc.buffer))).to.equal(false);
    for (const t of [img, a.views, b.views, c.views]) t.dispose();
  });

  it('augment released parameters: offsets U{0..32}, flip 0.5, jitter 0.8, gray 0.2, sigma U(0.1, 2), factors and 24 orders [4000 views of 256]', () => {
    const vs = drawViews(RELEASED_RECIPE, new Rng(12), 2000, 256, 256);
    const n = vs.length;
    const rate = (f: (v: ViewParams) => boolean) => vs.filter(f).length / n;
    const near = (x: number, p: number, what: string) => expect(Math.abs(x - p), what).to.be.below(4 * Math.sqrt((p * (1 - p)) / n));
    near(rate((v) => v.flip), 0.5, 'flip');
    near(rate((v) => v.jitter !== null), 0.8, 'jitter');
    near(rate((v) => v.gray), 0.2, 'gray');
    const xs = vs.map((v) => v.crop[0]);
    expect(new Set(xs).size).to.equal(33);
    expect(Math.min(...xs)).to.equal(0);
    expect(Math.max(...xs)).to.equal(32);
    expect(vs.every((v) => v.crop[2] === 224 && v.crop[3] === 224)).to.equal(true);
    const sig = vs.map((v) => v.sigma);
    expect(Math.min(...sig)).to.be.at.least(0.1);
    expect(Math.max(...sig)).to.be.at.most(2);
    expect(sig.reduce((a, b) => a + b, 0) / n).to.be.closeTo(1.05, 4 * (1.9 / Math.sqrt(12 * n)));
    const js = vs.flatMap((v) => (v.jitter ? [v.jitter] : []));
    for (const k of ['brightness', 'contrast', 'saturation'] as const) {
      expect(Math.min(...js.map((j) => j[k]))).to.be.at.least(0.6);
      expect(Math.max(...js.map((j) => j[k]))).to.be.at.most(1.4);
    }
    expect(Math.max(...js.map((j) => Math.abs(j.hue)))).to.be.at.most(0.1);
    const orders = new Map<string, number>();
    for (const j of js) orders.set(j.order.join(), (orders.get(j.order.join()) ?? 0) + 1);
    expect(orders.size).to.equal(24);
    for (const [o, c] of orders) near(c / js.length, 1 / 24, `order ${o}`);
  });

  it('augment simclr parameters: area 8-100%, aspect 3/4-4/3, blur p 0.5, kernel 10% odd [3000 views of 256]', () => {
    const vs = drawViews(SIMCLR_RECIPE, new Rng(13), 1500, 256, 256);
    const n = vs.length;
    for (const v of vs) {
      const [x0, y0, w, h] = v.crop;
      expect(x0 + w).to.be.at.most(256);
      expect(y0 + h).to.be.at.most(256);
      expect((w * h) / 65536).to.be.within(0.07, 1);
      expect(w / h).to.be.within(0.74, 1.36);
    }
    const blurred = vs.filter((v) => v.sigma > 0).length / n;
    expect(Math.abs(blurred - 0.5)).to.be.below(4 * Math.sqrt(0.25 / n));
    expect(recipePlan(SIMCLR_RECIPE, 256, 256)).to.include({ size: 224, radius: 11 });
    expect(recipePlan(RELEASED_RECIPE, 256, 256)).to.include({ size: 224, radius: 1 });
    expect(recipePlan(RELEASED_RECIPE, 128, 128)).to.include({ size: 112, radius: 1 });
  });

  it('augment packViews: 16 floats per view with the order code o0 + 4 o1 + 16 o2 + 64 o3', () => {
    const p = packViews([view({ image: 1, crop: [1, 2, 3, 4], flip: true, jitter: { order: [3, 1, 0, 2], brightness: 1.1, contrast: 0.9, saturation: 1.2, hue: 0.05 }, gray: true, sigma: 0.5 })]);
    expect([...p.slice(0, 14)].map((x) => Math.round(x * 100) / 100)).to.deep.equal([1, 1, 2, 3, 4, 1, 1, 3 + 4 + 0 + 128, 1.1, 0.9, 1.2, 0.05, 1, 0.5]);
  });

  it('augment errors: dtype, rank, image index, crop outside, order, radius, before any dispatch', async () => {
    const d = await sharedDevice();
    const img = Tensor.from(d, packRgb(randomRgb(2 * 8 * 8, 14)), [2, 8, 8], { dtype: 'i32' });
    const ok = view({ crop: [0, 0, 8, 8] });
    const plan = IDENTITY_PLAN(6, 1);
    const before = d.counters.dispatches;
    expect(() => augment(Tensor.from(d, new Float32Array(128), [2, 8, 8]), [ok], plan)).to.throw(TypeError, /augment: expects i32/);
    expect(() => augment(img.view([128]), [ok], plan)).to.throw(RangeError, /\[B, H, W\].*\[128\]/);
    expect(() => augment(img, [ok, { ...ok, image: 2 }], plan)).to.throw(RangeError, /view 1: image 2 is out of range \(images \[2, 8, 8\]\)/);
    expect(() => augment(img, [{ ...ok, crop: [1, 0, 8, 8] }], plan)).to.throw(RangeError, /view 0: crop \[1, 0, 8, 8\]/);
    expect(() => augment(img, [{ ...ok, jitter: { ...NEUTRAL, order: [0, 0, 1, 2] } }], plan)).to.throw(RangeError, /not a permutation/);
    expect(() => augment(img, [ok], IDENTITY_PLAN(6, 6))).to.throw(RangeError, /radius 6/);
    expect(() => augment(img, [{ ...ok, sigma: -1 }], plan)).to.throw(RangeError, /sigma -1/);
    expect(d.counters.dispatches).to.equal(before);
    const empty = augment(img, [], plan);
    expect([...empty.shape]).to.deep.equal([0, 3, 6, 6]);
    img.dispose();
    empty.dispose();
  });

  it('augment-preview: a PNG input gives a grid with the original first and N views, reproducible by seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aunce-preview-'));
    const src = new PNG({ width: 24, height: 20 });
    const r = new Rng(15);
    for (let i = 0; i < src.data.length; i++) src.data[i] = i % 4 === 3 ? 255 : r.int(256);
    writeFileSync(join(dir, 'in.png'), PNG.sync.write(src));
    const device = await sharedDevice();
    const opts = { input: join(dir, 'in.png'), out: join(dir, 'grid.png'), recipe: 'simclr', views: 3, images: 4, seed: 5, device };
    const res = await runPreview(opts);
    expect(res).to.include({ images: 1, views: 3, viewSize: 18, recipe: 'simclr' });
    const grid = PNG.sync.read(readFileSync(opts.out));
    // cells are max(H, W, S) = 24 square with 4 px gaps
    expect([grid.width, grid.height]).to.deep.equal([4 + 4 * (24 + 4), 4 + 24 + 4]);
    expect([grid.width, grid.height]).to.deep.equal(res.grid);
    // the original sits at (4, 4)
    for (const [x, y] of [[0, 0], [23, 19], [7, 11]] as const) {
      for (let c = 0; c < 3; c++) expect(grid.data[((4 + y) * grid.width + 4 + x) * 4 + c]).to.equal(src.data[(y * 24 + x) * 4 + c]);
    }
    const again = await runPreview({ ...opts, out: join(dir, 'again.png') });
    expect(again.params).to.deep.equal(res.params);
    expect(readFileSync(join(dir, 'again.png')).equals(readFileSync(opts.out))).to.equal(true);
    await runPreview({ ...opts, recipe: 'nope' }).then(
      () => expect.fail('accepted an unknown recipe'),
      (e: Error) => expect(e.message).to.match(/unknown recipe 'nope' \(have released, simclr\)/),
    );
  });

  it('augment-preview: a native dataset folder gives one row per frame [3 frames of 16 px]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aunce-preview-native-'));
    const w = await NativeWriter.create(join(dir, 'ds'), { dataset: 'test', aus: [1, 2], imageSize: 16, landmarks: 0, subjects: ['a'], folds: [[0]] });
    for (let f = 0; f < 3; f++) {
      await w.write({ subject: 0, sequence: 0, frame: f, labels: Uint8Array.of(1, 0), mask: Uint8Array.of(1, 1), landmarks: new Float32Array(0), image: randomRgb(256, 20 + f) });
    }
    await w.close();
    const res = await runPreview({ input: join(dir, 'ds'), out: join(dir, 'grid.png'), recipe: 'released', views: 2, images: 5, seed: 1, device: await sharedDevice() });
    expect(res).to.include({ images: 3, views: 2, viewSize: 14 });
    expect(res.params.map((p) => p.image)).to.deep.equal([0, 1, 2, 0, 1, 2]);
    const grid = PNG.sync.read(readFileSync(join(dir, 'grid.png')));
    expect([grid.width, grid.height]).to.deep.equal([4 + 3 * 20, 4 + 3 * 20]);
  });
});
