// Face alignment (src/data/align.ts, DATASETS.md "Alignment from 49 inner landmarks"): a worked
// example by hand, invariance to any similarity of the input, the 68/66 -> 49 mappings, the flip
// permutations, Umeyama's fit, and `aunce align` end to end with its errors.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alignText } from '../../src/cli/align.js';
import {
  alignFace,
  alignmentMatrix,
  FLIP_49,
  FLIP_66,
  FLIP_68,
  flipLandmarks,
  LandmarkError,
  MAP_66_TO_49,
  MAP_66_TO_68,
  MAP_68_TO_49,
  matrixRows,
  similarityFit,
  to49,
  transformPoints,
} from '../../src/data/align.js';
import { Rng } from '../../src/util/rng.js';

/** A plausible frontal 49-point face: random points, with eyes, nose tip and mouth corners placed. */
function face49(seed: number): Float64Array {
  const r = new Rng(seed);
  const p = new Float64Array(98);
  for (let i = 0; i < 49; i++) {
    p[2 * i] = r.uniform(30, 70);
    p[2 * i + 1] = r.uniform(30, 85);
  }
  const set = (i: number, x: number, y: number) => {
    p[2 * i] = x;
    p[2 * i + 1] = y;
  };
  for (let i = 0; i < 6; i++) {
    const a = (i / 6) * 2 * Math.PI;
    set(19 + i, 30 + 4 * Math.cos(a), 40 + 2 * Math.sin(a));
    set(25 + i, 70 + 4 * Math.cos(a), 40 + 2 * Math.sin(a));
  }
  set(13, 50, 60);
  set(31, 35, 80);
  set(37, 65, 80);
  return p;
}

function similarity(theta: number, s: number, tx: number, ty: number): Float64Array {
  return new Float64Array([s * Math.cos(theta), s * Math.sin(theta), -s * Math.sin(theta), s * Math.cos(theta), tx, ty]);
}

function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length, `${what}: length`).to.equal(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${what}[${i}]: ${a[i]} vs ${b[i]}`).to.be.at.most(tol);
}

describe('align', () => {
  it('align worked example: eyes (30,40)/(70,40), nose (50,60), mouth (35,80)/(65,80), size 200, enlarge 2.9', () => {
    // Axis-aligned already: R = I; box 40 x 40 around (50, 60); half = 0.5 * 2.9 * 40 = 58;
    // s = 199 / 2 / 58; M = [[s, 0, s (58 - 50)], [0, s, s (58 - 60)]].
    const s = 199 / 2 / 58;
    const m = matrixRows(alignmentMatrix(face49(1), 200, 2.9));
    closeArrays(m.flat(), [s, 0, 8 * s, 0, s, -2 * s], 1e-12, 'matrix');
    // the box centre lands at the image centre, (size - 1) / 2
    const c = transformPoints(alignmentMatrix(face49(1), 200, 2.9), [50, 60]);
    closeArrays(c, [99.5, 99.5], 1e-12, 'centre');
  });

  it('align invariance: aligned landmarks do not depend on a similarity of the input [5 poses]', () => {
    const p = face49(2);
    const base = alignFace(p, 256, 2.9).landmarks;
    for (const [theta, s, tx, ty] of [[0.3, 1.7, 12, -40], [-0.5, 0.4, 300, 7], [1.2, 2.5, 0, 0], [Math.PI * 0.9, 1, 5, 5], [-2.8, 3.3, -100, 80]] as const) {
      const q = transformPoints(similarity(theta, s, tx, ty), p);
      closeArrays(alignFace(q, 256, 2.9).landmarks, base, 1e-9, `theta ${theta}`);
    }
  });

  it('align geometry: eyes horizontal, the five-point box is size/enlarge wide and centred', () => {
    const q = transformPoints(similarity(0.4, 2, 30, -10), face49(3));
    const { landmarks: l } = alignFace(q, 200, 2.5);
    const eye = (lo: number) => [0, 1].map((d) => [0, 1, 2, 3, 4, 5].reduce((a, i) => a + l[2 * (lo + i) + d]!, 0) / 6);
    const [le, re] = [eye(19), eye(25)];
    expect(Math.abs(le[1]! - re[1]!)).to.be.below(1e-9);
    expect(re[0]!).to.be.greaterThan(le[0]!);
    const pts = [le, re, [l[26]!, l[27]!], [l[62]!, l[63]!], [l[74]!, l[75]!]];
    const xs = pts.map((v) => v[0]!);
    const ys = pts.map((v) => v[1]!);
    const w = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    expect(w * 2.5).to.be.closeTo(199, 1e-9);
    expect((Math.max(...xs) + Math.min(...xs)) / 2).to.be.closeTo(99.5, 1e-9);
    expect((Math.max(...ys) + Math.min(...ys)) / 2).to.be.closeTo(99.5, 1e-9);
  });

  it('align one-based: subtracting 1 equals a translation of the input', () => {
    const p = face49(4);
    const shifted = p.map((v) => v + 1);
    const a = alignFace(shifted, 200, 2.9, true);
    const b = alignFace(p, 200, 2.9);
    closeArrays(a.landmarks, b.landmarks, 1e-9, 'landmarks');
    closeArrays(a.matrix.flat(), b.matrix.flat(), 1e-9, 'matrix');
  });

  it('align mappings: 68 -> 49 drops 1-17, 61 and 65 (1-based); 66 -> 49 keeps 18-66', () => {
    expect(MAP_68_TO_49).to.have.length(49);
    expect(MAP_66_TO_49).to.have.length(49);
    const dropped68 = Array.from({ length: 68 }, (_, i) => i).filter((i) => !MAP_68_TO_49.includes(i)).map((i) => i + 1);
    expect(dropped68).to.deep.equal([...Array.from({ length: 17 }, (_, i) => i + 1), 61, 65]);
    expect(MAP_66_TO_49[0]).to.equal(17);
    expect(MAP_66_TO_49[48]).to.equal(65);
    // the same face in 68 points and in 66 points (no inner-mouth corners) gives the same 49
    const p68 = Array.from({ length: 136 }, (_, i) => i * 1.5);
    const p66 = [...p68.slice(0, 120), ...p68.slice(122, 128), ...p68.slice(130, 136)];
    expect(p66).to.have.length(132);
    closeArrays(to49(p66), to49(p68), 0, '66 vs 68');
    expect(() => to49(new Array(100).fill(0))).to.throw(RangeError, /49, 66 or 68 points/);
  });

  it('align flip: permutations are involutions, swap left and right, keep the midline', () => {
    for (const [perm, n] of [[FLIP_68, 68], [FLIP_66, 66], [FLIP_49, 49]] as const) {
      expect(perm).to.have.length(n);
      expect([...perm].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
      perm.forEach((j, i) => expect(perm[j], `flip(flip(${i}))`).to.equal(i));
    }
    // 68: nose bridge 27-30, nose 33, lips 51 57 62 66 stay; eye corners 36 <-> 45; mouth corners 48 <-> 54
    for (const i of [27, 28, 29, 30, 33, 51, 57, 62, 66]) expect(FLIP_68[i]).to.equal(i);
    expect(FLIP_68[36]).to.equal(45);
    expect(FLIP_68[48]).to.equal(54);
    expect(FLIP_68[0]).to.equal(16);
    // 49: the eyes 19-24 and 25-30 swap as sets; mouth corners 31 <-> 37; nose tip 13 stays
    expect(FLIP_49.slice(19, 25).every((j) => j >= 25 && j <= 30)).to.equal(true);
    expect(FLIP_49[31]).to.equal(37);
    expect(FLIP_49[13]).to.equal(13);
    // 66: inner lips 60 <-> 62 and 63 <-> 65 (68's 61 <-> 63, 65 <-> 67); every subset flip agrees with FLIP_68
    expect([FLIP_66[60], FLIP_66[61], FLIP_66[63], FLIP_66[64]]).to.deep.equal([62, 61, 65, 64]);
    MAP_66_TO_68.forEach((p, i) => expect(MAP_66_TO_68[FLIP_66[i]!]).to.equal(FLIP_68[p]));
    MAP_68_TO_49.forEach((p, i) => expect(MAP_68_TO_49[FLIP_49[i]!]).to.equal(FLIP_68[p]));
  });

  it('align flip: a mirrored face aligns to the mirror of its alignment', () => {
    const p = face49(5);
    const f = flipLandmarks(p, 120);
    closeArrays(flipLandmarks(f, 120), p, 1e-12, 'flip twice');
    const a = alignFace(p, 200, 2.9).landmarks;
    const b = alignFace(f, 200, 2.9).landmarks;
    closeArrays(flipLandmarks(b, 200), a, 1e-9, 'aligned mirror');
  });

  it('align similarityFit: recovers a known similarity, and is least squares under noise', () => {
    const p = face49(6);
    const t = similarity(0.7, 1.3, 10, -20);
    closeArrays(similarityFit(p, transformPoints(t, p)), t, 1e-10, 'exact');
    const r = new Rng(7);
    const noisy = transformPoints(t, p).map((v) => v + r.normal() * 0.5);
    const fit = similarityFit(p, noisy);
    const sse = (m: Float64Array) => transformPoints(m, p).reduce((a, v, i) => a + (v - noisy[i]!) ** 2, 0);
    const best = sse(fit);
    for (let k = 0; k < 6; k++) {
      const d = new Float64Array(6);
      d.set(fit);
      d[k]! += 1e-3;
      expect(sse(d)).to.be.greaterThan(best);
    }
  });

  it('align errors: bad size, enlarge, coincident eyes; bad lines name file:line and field', () => {
    expect(() => alignmentMatrix(face49(1), 1, 2.9)).to.throw(RangeError, /size/);
    expect(() => alignmentMatrix(face49(1), 200, 0)).to.throw(RangeError, /enlarge/);
    expect(() => alignmentMatrix(new Float64Array(98), 200, 2.9)).to.throw(RangeError, /eye centres coincide/);
    const good = [...face49(1)].join(' ');
    const text = `# comment\n${good}\n\n${good.replace(/ \S+ /, ' 1.5x ')}\n`;
    expect(() => alignText(text, 'lm.txt', { size: 200, enlarge: 2.9 })).to.throw(LandmarkError, /^lm\.txt:4: field 2 \('1\.5x'\)/);
    expect(() => alignText(`${good}\n1 2 3\n`, 'lm.txt', { size: 200, enlarge: 2.9 })).to.throw(LandmarkError, /^lm\.txt:2: expected 98, 132 or 136 numbers.*got 3/);
    expect(alignText(text.split('\n').slice(0, 3).join('\n'), 'lm.txt', { size: 200, enlarge: 2.9 })).to.have.length(1);
  });

  it('align command: prints one JSON line per face; a bad line exits 1 naming file:line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aunce-align-'));
    const file = join(dir, 'lm.txt');
    const p68 = new Float64Array(136);
    MAP_68_TO_49.forEach((src, i) => {
      p68[2 * src] = face49(8)[2 * i]! + 1;
      p68[2 * src + 1] = face49(8)[2 * i + 1]! + 1;
    });
    writeFileSync(file, `${[...face49(1)].join(' ')}\n${[...p68].join(',')}\n`);
    const run = (args: string[]) => spawnSync(process.execPath, ['bin/aunce.js', 'align', ...args], { encoding: 'utf8' });
    const ok = run(['--landmarks', file, '--size', '200', '--enlarge', '2.9']);
    expect(ok.status, ok.stderr).to.equal(0);
    const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l) as { matrix: number[][]; landmarks: number[] });
    expect(lines).to.have.length(2);
    expect(lines[0]!.landmarks).to.have.length(98);
    expect(lines[0]!.matrix.map((r) => r.length)).to.deep.equal([3, 3]);
    closeArrays(lines[0]!.matrix.flat(), alignFace(face49(1), 200, 2.9).matrix.flat(), 1e-12, 'cli matrix');
    // the 68-point line (1-based, read as 0-based): aligned landmarks do not move under a translation
    closeArrays(lines[1]!.landmarks, alignFace(face49(8), 200, 2.9).landmarks, 1e-9, 'cli 68 points');
    writeFileSync(file, `${[...face49(1)].join(' ')}\n1 2 nan\n`);
    const bad = run(['--landmarks', file, '--size', '200', '--enlarge', '2.9']);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/lm\.txt:2: field 3 \('nan'\) is not a finite number/);
  });
});
