import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeReader } from '../../src/data/native.js';
import {
  ALL_AUS, AU_REGIONS, FLIP_68, TABLE_I, auRegionBox, makeSubject, neutralLandmarks, planSynth, profileAus, renderFace,
  renderSynthFrame, synthFrames, writeSynth, type FrameLook,
} from '../../src/data/synth/index.js';
import { unitPixels } from '../../src/data/synth/face.js';
import { Rng } from '../../src/util/rng.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aunce-synth-'));

const FRONTAL: FrameLook = {
  pose: { roll: 0, yaw: 0, scale: 1, tx: 0, ty: 0 },
  bgTop: [0.6, 0.6, 0.6], bgBottom: [0.5, 0.5, 0.5],
  ambient: 1, light: 0, lightDir: [1, 0], blur: 0, noise: 0.01, gaze: [0, 0],
};

function rates(labels: Uint8Array, n: number, A: number): number[] {
  const r = new Array<number>(A).fill(0);
  for (let i = 0; i < n; i++) for (let a = 0; a < A; a++) r[a]! += labels[i * A + a]! / n;
  return r;
}

describe('synthetic AU benchmark', () => {
  it('synth determinism: same seed gives the same bytes, streamed or random access [32 px]', () => {
    const opts = { profile: 'bp4d' as const, subjects: 3, framesPerSubject: 12, seed: 11, size: 32, labelNoise: 0.1 };
    const a = [...synthFrames(opts)];
    const plan = planSynth(opts);
    for (const i of [0, 7, 20, 35]) {
      const b = renderSynthFrame(plan, i);
      expect(Buffer.from(b.image).equals(Buffer.from(a[i]!.image)), `frame ${i} image`).to.equal(true);
      expect([...b.labels]).to.deep.equal([...a[i]!.labels]);
      expect([...b.landmarks]).to.deep.equal([...a[i]!.landmarks]);
    }
    const other = renderSynthFrame(planSynth({ ...opts, seed: 12 }), 0);
    expect(Buffer.from(other.image).equals(Buffer.from(a[0]!.image))).to.equal(false);
  });

  it('synth rates: a bp4d run matches Table I within 3 points, overall and on every fold\'s train split [32 px]', async () => {
    const dir = tmp();
    await writeSynth({ profile: 'bp4d', subjects: 12, framesPerSubject: 100, seed: 5, size: 32 }, dir);
    const r = await NativeReader.open(dir);
    const aus = r.manifest.meta.aus;
    expect(aus).to.deep.equal([1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]);
    const target = aus.map((a) => TABLE_I.bp4d[a as 1]! / 100);
    for (const split of [undefined, 0, 1, 2]) {
      const pos = new Array<number>(aus.length).fill(0);
      let n = 0;
      for await (const f of r.frames(split === undefined ? {} : { fold: split, split: 'train' })) {
        n++;
        f.labels.forEach((l, a) => (pos[a]! += l));
      }
      pos.forEach((p, a) => {
        expect(Math.abs(p / n - target[a]!), `AU${aus[a]} ${split === undefined ? 'all' : `fold ${split} train`}: ${(100 * p / n).toFixed(1)} vs ${(100 * target[a]!).toFixed(1)}`).to.be.at.most(0.03);
      });
    }
    await r.close();
  });

  it('synth rates: every profile hits its own AU set and Table I exactly over the whole run (labels only)', () => {
    for (const profile of ['bp4d', 'disfa', 'gft', 'affwild2'] as const) {
      const plan = planSynth({ profile, subjects: 9, framesPerSubject: 200, seed: 2, size: 32 });
      const aus = profileAus(profile);
      expect(plan.meta.aus).to.deep.equal(aus);
      const got = rates(plan.labels.clean, plan.labels.n, aus.length);
      aus.forEach((a, i) => expect(Math.abs(got[i]! - TABLE_I[profile][a as 1]! / 100), `${profile} AU${a}`).to.be.at.most(3 / plan.labels.n + 1e-9));
    }
  });

  it('synth labels: co-occurrence (AU6 with AU12, AU25 with AU26) and smooth sequences', () => {
    const plan = planSynth({ profile: 'bp4d', subjects: 12, framesPerSubject: 300, seed: 4, size: 32 });
    const { clean, n } = plan.labels;
    const A = plan.meta.aus.length;
    const i6 = plan.meta.aus.indexOf(6), i12 = plan.meta.aus.indexOf(12), i15 = plan.meta.aus.indexOf(15);
    let both = 0, six = 0, twelve = 0, c15 = 0, c15and12 = 0;
    for (let t = 0; t < n; t++) {
      six += clean[t * A + i6]!;
      twelve += clean[t * A + i12]!;
      both += clean[t * A + i6]! & clean[t * A + i12]!;
      c15 += clean[t * A + i15]!;
      c15and12 += clean[t * A + i15]! & clean[t * A + i12]!;
    }
    expect(both / six).to.be.above(twelve / n + 0.2); // P(12 | 6) well above P(12)
    expect(c15and12 / c15).to.be.below(twelve / n); // AU15 (depressor) rarely with AU12
    // mean length of active runs of AU12 within sequences: several frames
    let runs = 0, on = 0;
    for (const q of plan.sequences) {
      for (let t = 0; t < q.length; t++) {
        const v = clean[(q.start + t) * A + i12]!;
        on += v;
        if (v && (t === 0 || !clean[(q.start + t - 1) * A + i12])) runs++;
      }
    }
    expect(on / runs).to.be.above(5);
    const d = planSynth({ profile: 'disfa', subjects: 12, framesPerSubject: 300, seed: 4, size: 32 });
    const B = d.meta.aus.length, i25 = d.meta.aus.indexOf(25), i26 = d.meta.aus.indexOf(26);
    let n26 = 0, n2526 = 0;
    for (let t = 0; t < d.labels.n; t++) {
      n26 += d.labels.clean[t * B + i26]!;
      n2526 += d.labels.clean[t * B + i26]! & d.labels.clean[t * B + i25]!;
    }
    expect(n2526 / n26).to.be.above(0.6); // jaw drop mostly with parted lips (P(25) is 0.28)
  });

  it('synth label noise: exactly the requested fraction flipped, clean labels unchanged', () => {
    const base = planSynth({ profile: 'gft', subjects: 4, framesPerSubject: 100, seed: 9, size: 32 });
    const noisy = planSynth({ profile: 'gft', subjects: 4, framesPerSubject: 100, seed: 9, size: 32, labelNoise: 0.05 });
    expect(Buffer.from(noisy.labels.clean).equals(Buffer.from(base.labels.clean))).to.equal(true);
    expect(Buffer.from(base.labels.labels).equals(Buffer.from(base.labels.clean))).to.equal(true);
    let diff = 0;
    noisy.labels.labels.forEach((l, i) => (diff += l !== noisy.labels.clean[i] ? 1 : 0));
    const cells = noisy.labels.labels.length;
    expect(diff).to.equal(Math.round(0.05 * cells));
    expect(noisy.labels.flipped).to.equal(diff);
    const f = renderSynthFrame(noisy, 17);
    expect([...f.clean!]).to.deep.equal([...noisy.labels.clean.subarray(17 * 10, 18 * 10)]);
    expect(() => planSynth({ profile: 'gft', subjects: 1, framesPerSubject: 1, seed: 1, size: 32, labelNoise: 1.5 })).to.throw(/label noise/);
  });

  it('synth pose: the in-the-wild profile varies pose more than the frontal one (affwild2 > bp4d > disfa)', () => {
    const spread = (profile: 'disfa' | 'bp4d' | 'affwild2') => {
      const looks = planSynth({ profile, subjects: 12, framesPerSubject: 100, seed: 6, size: 32 }).looks;
      return Math.sqrt(looks.reduce((acc, l) => acc + l.pose.yaw ** 2 + l.pose.roll ** 2, 0) / looks.length);
    };
    const [d, b, a] = [spread('disfa'), spread('bp4d'), spread('affwild2')];
    expect(b).to.be.above(d * 1.2);
    expect(a).to.be.above(b * 1.4);
  });

  it('synth folds: three subject-exclusive folds covering every subject', () => {
    const plan = planSynth({ profile: 'affwild2', subjects: 10, framesPerSubject: 2, seed: 1, size: 32 });
    const all = plan.meta.folds.flat().sort((a, b) => a - b);
    expect(plan.meta.folds).to.have.length(3);
    expect(all).to.deep.equal([...Array(10).keys()]);
  });

  for (const au of ALL_AUS) {
    it(`synth AU${au}: changes pixels in its own region, not elsewhere [64 px]`, () => {
      const size = 64;
      let inside = 0, outside = 0;
      for (const s of [0, 1, 2]) {
        const subject = makeSubject(new Rng(100 + s));
        const neutral = neutralLandmarks(subject);
        const off = new Float32Array(ALL_AUS.length);
        const on = off.slice();
        on[ALL_AUS.indexOf(au)] = 1;
        const a = renderFace(subject, neutral, off, FRONTAL, size, 1, 7);
        const b = renderFace(subject, neutral, on, FRONTAL, size, 1, 7);
        const [x0, y0, x1, y1] = auRegionBox(au, [a.landmarks, b.landmarks], unitPixels(FRONTAL.pose, size));
        let si = 0, ni = 0, so = 0, no = 0;
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            let d = 0;
            for (let c = 0; c < 3; c++) d += Math.abs(a.image[(y * size + x) * 3 + c]! - b.image[(y * size + x) * 3 + c]!);
            const inBox = x >= x0 && x <= x1 && y >= y0 && y <= y1;
            if (inBox) (si += d), ni++;
            else (so += d), no++;
          }
        }
        inside += si / ni / 3;
        outside += so / no / 3;
      }
      inside /= 3;
      outside /= 3;
      expect(inside, `AU${au}: mean |diff| inside ${inside.toFixed(2)}, outside ${outside.toFixed(3)}`).to.be.above(1);
      expect(outside, `AU${au}: mean |diff| inside ${inside.toFixed(2)}, outside ${outside.toFixed(3)}`).to.be.below(inside / 10);
    });
  }

  it('synth subtlety: smaller subtlety moves pixels less, 0 removes every AU effect', () => {
    const subject = makeSubject(new Rng(3));
    const neutral = neutralLandmarks(subject);
    const off = new Float32Array(ALL_AUS.length);
    const on = new Float32Array(ALL_AUS.length).fill(1);
    const base = renderFace(subject, neutral, off, FRONTAL, 48, 1, 1).image;
    const diff = (k: number) => renderFace(subject, neutral, on, FRONTAL, 48, k, 1).image.reduce((s, v, i) => s + Math.abs(v - base[i]!), 0);
    expect(diff(0)).to.equal(0);
    expect(diff(0.3)).to.be.above(0).and.below(diff(1));
  });

  it('synth landmarks: 68 iBUG points inside the image, left-right permutation consistent', () => {
    const plan = planSynth({ profile: 'bp4d', subjects: 2, framesPerSubject: 3, seed: 8, size: 64 });
    const f = renderSynthFrame(plan, 1);
    expect(f.landmarks).to.have.length(136);
    for (const v of f.landmarks) expect(v).to.be.within(0, 63);
    const L = (i: number) => [f.landmarks[2 * i]!, f.landmarks[2 * i + 1]!] as const;
    expect(L(36)[0]).to.be.below(L(39)[0]); // right eye: outer corner at image left
    expect(L(39)[0]).to.be.below(L(42)[0]);
    expect(L(42)[0]).to.be.below(L(45)[0]);
    expect(L(30)[1]).to.be.below(L(51)[1]); // nose tip above the upper lip
    expect(L(8)[1]).to.be.above(L(57)[1]); // chin below the lower lip
    // a neutral face is symmetric: mirroring x maps landmark j onto landmark FLIP_68[j]
    const n = neutralLandmarks(makeSubject(new Rng(1)));
    expect(FLIP_68.every((j, i) => FLIP_68[j] === i)).to.equal(true);
    for (let i = 0; i < 68; i++) {
      const j = FLIP_68[i]!;
      expect(-n[2 * i]!).to.be.closeTo(n[2 * j]!, 1e-9);
      expect(n[2 * i + 1]!).to.be.closeTo(n[2 * j + 1]!, 1e-9);
    }
    expect(Object.keys(AU_REGIONS).map(Number).sort((a, b) => a - b)).to.deep.equal([...ALL_AUS]);
  });

  it('synth options: bad profile, size and counts are errors naming the option', () => {
    expect(() => planSynth({ profile: 'ck+' as 'bp4d', subjects: 1, framesPerSubject: 1, seed: 1, size: 32 })).to.throw(/unknown profile 'ck\+'/);
    expect(() => planSynth({ profile: 'bp4d', subjects: 1, framesPerSubject: 1, seed: 1, size: 8 })).to.throw(/size must be an integer in \[16, 1024\], got 8/);
    expect(() => planSynth({ profile: 'bp4d', subjects: 0, framesPerSubject: 1, seed: 1, size: 32 })).to.throw(/subjects/);
    expect(() => planSynth({ profile: 'bp4d', subjects: 1, framesPerSubject: 1.5, seed: 1, size: 32 })).to.throw(/frames per subject/);
  });

  it('synth cli: writes a native dataset and prints its rates as JSON; bad input exits 1', () => {
    const dir = tmp();
    const run = (args: string[]) => spawnSync(process.execPath, ['bin/aunce.js', 'synth', ...args], { encoding: 'utf8', timeout: 120000 });
    const r = run(['--profile', 'disfa', '--subjects', '3', '--frames-per-subject', '20', '--size', '32', '--seed', '4', '--label-noise', '0.1', '--out', dir, '--json']);
    expect(r.status, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout);
    expect(s.frames).to.equal(60);
    expect(s.aus).to.deep.equal([1, 2, 4, 6, 9, 12, 25, 26]);
    expect(s.flippedLabels).to.equal(Math.round(0.1 * 60 * 8));
    s.occurrenceClean.forEach((v: number, i: number) => expect(v).to.be.closeTo(s.target[i], 3 / 60 + 1e-9));
    const bad = run(['--profile', 'ckplus', '--out', dir]);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/unknown profile 'ckplus'/);
  });

  it('synth cli: the written dataset reads back with landmarks, clean labels and folds', async () => {
    const dir = tmp();
    const m = await writeSynth({ profile: 'gft', subjects: 4, framesPerSubject: 5, seed: 3, size: 24, framesPerShard: 7 }, dir);
    const r = await NativeReader.open(dir);
    expect(r.length).to.equal(20);
    expect(m.shards.map((s) => s.frames)).to.deep.equal([7, 7, 6]);
    expect(r.manifest.meta.landmarks).to.equal(68);
    expect(r.manifest.meta.dataset).to.equal('synth-gft');
    const f = await r.get(13);
    const g = renderSynthFrame(planSynth({ profile: 'gft', subjects: 4, framesPerSubject: 5, seed: 3, size: 24 }), 13);
    expect(Buffer.from(f.image).equals(Buffer.from(g.image))).to.equal(true);
    expect([...f.landmarks]).to.deep.equal([...g.landmarks]);
    expect(r.indices({ fold: 0, split: 'test' }).every((i) => r.subjectOfFrame(i) % 3 === 0)).to.equal(true);
    await r.close();
  });

  it('synth align: eye line level and the eye-nose-mouth box at a fixed place, whatever the pose; labels unchanged', () => {
    const opts = { profile: 'bp4d' as const, subjects: 3, framesPerSubject: 4, seed: 5, size: 96, sequenceLength: 1 };
    const raw = planSynth(opts);
    const aligned = planSynth({ ...opts, align: 2.2 });
    expect(aligned.meta.extra).to.deep.include({ aligned: { enlarge: 2.2, procedure: 'DATASETS.md, alignment from 49 inner landmarks' } });
    const eye = (lm: ArrayLike<number>, idx: number[]) => [0, 1].map((c) => idx.reduce((s, i) => s + lm[2 * i + c]!, 0) / idx.length);
    const centres: number[][] = [];
    let rawRoll = 0;
    for (let i = 0; i < raw.labels.n; i++) {
      const r = renderSynthFrame(raw, i), a = renderSynthFrame(aligned, i);
      expect([...a.labels]).to.deep.equal([...r.labels]);
      // 68-point eyes: 36-41 and 42-47
      const [lr, la] = [r.landmarks, a.landmarks].map((lm) => [eye(lm, [36, 37, 38, 39, 40, 41]), eye(lm, [42, 43, 44, 45, 46, 47])]);
      rawRoll = Math.max(rawRoll, Math.abs(Math.atan2(lr![1]![1]! - lr![0]![1]!, lr![1]![0]! - lr![0]![0]!)));
      expect(Math.abs(la![1]![1]! - la![0]![1]!), `frame ${i}: aligned eye line level`).to.be.below(1e-3);
      centres.push([(la![0]![0]! + la![1]![0]!) / 2, (la![0]![1]! + la![1]![1]!) / 2]);
      // the warp moved the pixels with the landmarks: the images differ, and the aligned one is still a face (not border grey)
      expect(Buffer.from(a.image).equals(Buffer.from(r.image))).to.equal(false);
      const centre = a.image.subarray(3 * (48 * 96 + 48), 3 * (48 * 96 + 48) + 3);
      expect([...centre].some((v) => v !== 128)).to.equal(true);
    }
    expect(rawRoll, 'the raw frames do roll').to.be.above(0.02);
    // the eye midpoint sits at the same place up to the box shape (within a few pixels at 96 px)
    const xs = centres.map((c) => c[0]!), ys = centres.map((c) => c[1]!);
    expect(Math.max(...xs) - Math.min(...xs)).to.be.below(6);
    expect(Math.max(...ys) - Math.min(...ys)).to.be.below(8);
    expect(() => planSynth({ ...opts, align: 0.5 })).to.throw(/align must be 0 \(off\) or an enlarge factor/);
  });
});
