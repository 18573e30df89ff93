/**
 * Face geometry of the synthetic benchmark: a subject's neutral 68 landmarks (iBUG order) in face units
 * (x right, y down, origin between the eyes and the nose; the face is about 2 units wide), the landmark
 * displacement of each AU, and the head pose that maps face units to image pixels.
 */
import type { Rgb } from './raster.js';
import { Rng } from '../../util/rng.js';
import { ALL_AUS } from './profiles.js';

export const LANDMARKS = 68;

export interface SubjectParams {
  faceW: number;
  jawW: number;
  chinY: number;
  foreheadY: number;
  eyeY: number;
  eyeSep: number;
  eyeW: number;
  eyeH: number;
  browOff: number;
  browArch: number;
  browThick: number;
  noseY: number;
  noseW: number;
  mouthY: number;
  mouthW: number;
  upperLip: number;
  lowerLip: number;
  skin: Rgb;
  lip: Rgb;
  hair: Rgb;
  brow: Rgb;
  iris: Rgb;
  /** hair volume around the head (0 = bald) and how far the fringe comes down the forehead */
  hairVolume: number;
  fringe: number;
  /** static wrinkle depth (age) and beard shadow (0 = none) */
  age: number;
  beard: number;
}

export interface Pose {
  /** in-plane rotation and yaw, radians */
  roll: number;
  yaw: number;
  /** pixels per face unit relative to the default (0.32 * size) */
  scale: number;
  /** offset of the face centre from the image centre, in pixels at size 1 (fractions of the size) */
  tx: number;
  ty: number;
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)];

const SKIN_LIGHT: Rgb = [0.96, 0.8, 0.7];
const SKIN_DARK: Rgb = [0.33, 0.21, 0.15];
const HAIR: Rgb[] = [[0.08, 0.06, 0.05], [0.25, 0.16, 0.09], [0.45, 0.3, 0.16], [0.78, 0.64, 0.4], [0.55, 0.24, 0.1], [0.62, 0.62, 0.6]];
const IRIS: Rgb[] = [[0.25, 0.15, 0.08], [0.12, 0.08, 0.05], [0.3, 0.45, 0.65], [0.35, 0.45, 0.3]];

export function makeSubject(rng: Rng): SubjectParams {
  const u = (lo: number, hi: number) => rng.uniform(lo, hi);
  const pick = <T>(xs: T[]) => xs[rng.int(xs.length)]!;
  const tone = rng.next();
  const skin = mix(SKIN_LIGHT, SKIN_DARK, tone);
  const red = u(-0.03, 0.04);
  const hair = pick(HAIR);
  return {
    faceW: u(0.86, 1.0),
    jawW: u(0.55, 0.8),
    chinY: u(1.05, 1.25),
    foreheadY: u(-1.2, -1.0),
    eyeY: u(-0.3, -0.2),
    eyeSep: u(0.34, 0.42),
    eyeW: u(0.15, 0.19),
    eyeH: u(0.05, 0.075),
    browOff: u(0.19, 0.26),
    browArch: u(0.02, 0.07),
    browThick: u(0.035, 0.065),
    noseY: u(0.2, 0.32),
    noseW: u(0.13, 0.19),
    mouthY: u(0.56, 0.68),
    mouthW: u(0.24, 0.31),
    upperLip: u(0.04, 0.065),
    lowerLip: u(0.05, 0.085),
    skin: [skin[0] + red, skin[1], skin[2] - red / 2],
    lip: mix(skin, [0.62, 0.22, 0.24], u(0.35, 0.6)),
    hair,
    brow: mix(hair, [0.05, 0.04, 0.03], u(0.2, 0.6)),
    iris: pick(IRIS),
    hairVolume: rng.next() < 0.1 ? 0 : u(0.6, 1.3),
    fringe: u(0.05, 0.35),
    age: u(0, 1),
    beard: rng.next() < 0.2 ? u(0.1, 0.3) : 0,
  };
}

/** depth (towards the camera) of a face point, for yaw foreshortening */
export function depth(p: SubjectParams, x: number, y: number): number {
  const r = Math.min(1, Math.abs(x) / (p.faceW * 1.05));
  const nose = y > p.eyeY - 0.05 && y < p.noseY + 0.12 ? 0.35 * Math.exp(-((x / 0.12) ** 2)) : 0;
  return 0.55 * Math.sqrt(1 - r * r) + nose;
}

/** neutral landmarks of a subject, flat [x0, y0, ...] in face units (iBUG 68 order) */
export function neutralLandmarks(p: SubjectParams): Float64Array {
  const L = new Float64Array(2 * LANDMARKS);
  const set = (i: number, x: number, y: number) => {
    L[2 * i] = x;
    L[2 * i + 1] = y;
  };
  const mirror = (i: number, j: number) => set(i, -L[2 * j]!, L[2 * j + 1]!);
  // jaw 0..16, from the subject's right ear (image left) round the chin
  const top = p.eyeY + 0.05;
  for (let k = 0; k <= 16; k++) {
    const phi = (Math.PI * k) / 16;
    const s = Math.sin(phi);
    const w = p.faceW * (1 - (1 - p.jawW) * s * s);
    set(k, -Math.cos(phi) * w, top + (p.chinY - top) * Math.pow(s, 0.85));
  }
  // brows 17..21 (image left, outer to inner), 22..26 mirrored
  const browY = p.eyeY - p.browOff;
  for (let k = 0; k < 5; k++) {
    const t = k / 4;
    set(17 + k, -(p.eyeSep + p.eyeW + 0.04) + t * (2 * p.eyeW - 0.02), browY - p.browArch * Math.sin(Math.PI * (0.25 + 0.6 * t)) + 0.02 * t);
  }
  for (let k = 0; k < 5; k++) mirror(22 + k, 21 - k);
  // nose bridge 27..30 and base 31..35
  for (let k = 0; k < 4; k++) set(27 + k, 0, p.eyeY + ((p.noseY - p.eyeY) * k) / 3);
  const nb = p.noseY + 0.06;
  set(31, -p.noseW, nb - 0.02);
  set(32, -p.noseW / 2, nb + 0.005);
  set(33, 0, nb + 0.015);
  mirror(34, 32);
  mirror(35, 31);
  // eyes 36..41 (image left: outer, upper x2, inner, lower x2) and 42..47 mirrored
  const cx = -p.eyeSep, cy = p.eyeY;
  set(36, cx - p.eyeW, cy);
  set(37, cx - p.eyeW / 3, cy - p.eyeH);
  set(38, cx + p.eyeW / 3, cy - p.eyeH);
  set(39, cx + p.eyeW, cy + 0.008);
  set(40, cx + p.eyeW / 3, cy + p.eyeH * 0.75);
  set(41, cx - p.eyeW / 3, cy + p.eyeH * 0.75);
  mirror(42, 39);
  mirror(43, 38);
  mirror(44, 37);
  mirror(45, 36);
  mirror(46, 41);
  mirror(47, 40);
  // outer lips 48..59 and inner lips 60..67
  const my = p.mouthY, mw = p.mouthW, ul = p.upperLip, ll = p.lowerLip;
  const outer: [number, number][] = [[-1, 0], [-0.6, -0.8], [-0.25, -1], [0, -0.82], [0.25, -1], [0.6, -0.8], [1, 0], [0.6, 0.85], [0.25, 1], [0, 1.02], [-0.25, 1], [-0.6, 0.85]];
  outer.forEach(([x, y], k) => set(48 + k, x * mw, my + y * (y < 0 ? ul : ll)));
  const inner: [number, number][] = [[-0.85, 0], [-0.35, -1], [0, -1], [0.35, -1], [0.85, 0], [0.35, 1], [0, 1], [-0.35, 1]];
  inner.forEach(([x, y], k) => set(60 + k, x * mw, my + y * 0.004));
  return L;
}

type Move = [number, number, number];
/** landmark moves of each AU at full intensity, face units: [landmark, dx, dy] (image-left side; mirrored) */
const MOVES: Record<number, Move[]> = {
  1: [[21, 0, -0.08], [20, 0, -0.055], [19, 0, -0.03], [18, 0, -0.01]],
  2: [[17, 0, -0.08], [18, 0, -0.065], [19, 0, -0.035], [20, 0, -0.01]],
  4: [[21, 0.03, 0.05], [20, 0.02, 0.045], [19, 0.01, 0.04], [18, 0, 0.03], [17, 0, 0.02], [37, 0, 0.008], [38, 0, 0.01]],
  6: [[40, 0, -0.018], [41, 0, -0.02], [36, 0, -0.008]],
  7: [[40, 0, -0.028], [41, 0, -0.028], [37, 0, 0.01], [38, 0, 0.01]],
  9: [[31, 0, -0.035], [32, 0, -0.022], [33, 0, -0.018], [30, 0, -0.01], [21, 0, 0.02], [20, 0, 0.015], [50, 0, -0.01], [51, 0, -0.01]],
  10: [[49, 0, -0.035], [50, 0, -0.045], [51, 0, -0.035], [61, 0, -0.02], [62, 0, -0.02], [48, 0, -0.01]],
  12: [[48, -0.07, -0.05], [60, -0.06, -0.045], [49, -0.025, -0.025], [59, -0.025, -0.02], [61, -0.01, -0.01], [67, -0.01, -0.01]],
  14: [[48, 0.03, 0], [60, 0.025, 0], [49, 0.01, 0], [59, 0.01, 0]],
  15: [[48, 0.01, 0.05], [60, 0.01, 0.04], [59, 0, 0.025], [49, 0, 0.015]],
  17: [[55, 0, -0.03], [56, 0, -0.032], [57, 0, -0.032], [65, 0, -0.012], [66, 0, -0.012], [7, 0, -0.03], [8, 0, -0.035]],
  23: [[49, 0, 0.018], [50, 0, 0.02], [51, 0, 0.018], [57, 0, -0.02], [58, 0, -0.022], [59, 0, -0.018], [48, 0.02, 0], [60, 0.02, 0]],
  24: [[49, 0, 0.022], [50, 0, 0.026], [51, 0, 0.024], [57, 0, -0.028], [58, 0, -0.03], [59, 0, -0.026]],
  25: [],
  26: [],
};
const MIRROR = (() => {
  const m = new Int32Array(LANDMARKS).map((_, i) => i);
  const pairs: [number, number][] = [[17, 26], [18, 25], [19, 24], [20, 23], [21, 22], [31, 35], [32, 34], [36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46], [48, 54], [49, 53], [50, 52], [55, 59], [56, 58], [60, 64], [61, 63], [65, 67]];
  for (let k = 0; k < 17; k++) pairs.push([k, 16 - k]);
  for (const [a, b] of pairs) {
    m[a] = b;
    m[b] = a;
  }
  return m;
})();
/** the left-right landmark permutation of the iBUG 68 scheme */
export const FLIP_68: readonly number[] = Array.from(MIRROR);

/**
 * Applies AU intensities (indexed like ALL_AUS, already scaled by subtlety) to neutral landmarks.
 * Moves listed on one side are mirrored to the other (x negated) unless the landmark is its own mirror.
 */
export function applyAus(neutral: Float64Array, intensity: ArrayLike<number>): Float64Array {
  const L = Float64Array.from(neutral);
  ALL_AUS.forEach((au, a) => {
    const k = intensity[a]!;
    if (k === 0) return;
    for (const [i, dx, dy] of MOVES[au]!) {
      L[2 * i]! += k * dx;
      L[2 * i + 1]! += k * dy;
      const j = MIRROR[i]!;
      if (j !== i) {
        L[2 * j]! -= k * dx;
        L[2 * j + 1]! += k * dy;
      }
    }
  });
  const at = (au: number) => intensity[ALL_AUS.indexOf(au as never)]!;
  // lips part (AU25) and the jaw drops (AU26); pressing the lips (AU24) closes them
  const gap = Math.max(0, (0.05 * at(25) + 0.09 * at(26)) * (1 - at(24)));
  for (const i of [61, 62, 63]) L[2 * i + 1]! -= 0.3 * gap;
  for (const i of [65, 66, 67, 55, 56, 57, 58, 59]) L[2 * i + 1]! += 0.7 * gap;
  const drop = 0.11 * at(26);
  for (let k = 3; k <= 13; k++) L[2 * k + 1]! += drop * Math.sin((Math.PI * (k - 2)) / 12) ** 2;
  for (const i of [55, 56, 57, 58, 59, 65, 66, 67]) L[2 * i + 1]! += 0.5 * drop;
  return L;
}

/** face units to image pixels (flat points; depth from the subject's shape for yaw) */
export function project(pts: ArrayLike<number>, p: SubjectParams, pose: Pose, size: number): Float64Array {
  const out = new Float64Array(pts.length);
  const unit = 0.32 * size * pose.scale;
  const cy = 0.1;
  const cr = Math.cos(pose.roll), sr = Math.sin(pose.roll), cyw = Math.cos(pose.yaw), syw = Math.sin(pose.yaw);
  const ox = size / 2 - 0.5 + pose.tx * size, oy = size / 2 - 0.5 + pose.ty * size;
  for (let i = 0; i < pts.length; i += 2) {
    const x = pts[i]!, y = pts[i + 1]!;
    const x1 = x * cyw + depth(p, x, y) * syw;
    const y1 = y - cy;
    out[i] = ox + unit * (x1 * cr - y1 * sr);
    out[i + 1] = oy + unit * (x1 * sr + y1 * cr);
  }
  return out;
}

/** pixels per face unit under a pose */
export const unitPixels = (pose: Pose, size: number) => 0.32 * size * pose.scale;
