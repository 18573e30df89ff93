/**
 * Draws one synthetic face: hair, face, brows, eyes, nose, lips, and the shading each AU adds in its own
 * region (forehead lines for AU1/AU2, glabella furrows for AU4, cheek bulge, infraorbital furrow and
 * crow's feet for AU6, lower-lid bulge for AU7, nose wrinkles for AU9, nasolabial folds for AU10/AU12,
 * dimples for AU14, chin boss for AU17, lip bulges and pale lips for AU23/AU24, teeth for AU25/AU26),
 * then lighting, blur and sensor noise.
 */
import { ALL_AUS } from './profiles.js';
import { applyAus, LANDMARKS, project, unitPixels, type Pose, type SubjectParams } from './face.js';
import { Canvas, type Rgb } from './raster.js';

/** Everything about a frame's appearance that is not the subject or the AUs. */
export interface FrameLook {
  pose: Pose;
  bgTop: Rgb;
  bgBottom: Rgb;
  /** lighting: ambient factor, gradient strength and direction (unit vector in the image plane) */
  ambient: number;
  light: number;
  lightDir: [number, number];
  /** number of [1 2 1] blur passes */
  blur: number;
  /** sensor noise standard deviation (fraction of full scale) */
  noise: number;
  /** gaze offset, fractions of the eye width */
  gaze: [number, number];
}

export interface RenderedFace {
  image: Uint8Array;
  /** [136] x, y pixels, iBUG 68 order */
  landmarks: Float32Array;
}

/** one scratch canvas per image size (rendering is synchronous, and the bytes returned are fresh) */
const CANVASES = new Map<number, Canvas>();
const DARK: Rgb = [0.08, 0.05, 0.05];
const SCLERA: Rgb = [0.93, 0.9, 0.87];
const MOUTH: Rgb = [0.3, 0.08, 0.08];
const TEETH: Rgb = [0.92, 0.9, 0.84];
const mixRgb = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);

/**
 * Renders a face. `intensity` holds one value in [0, 1] per AU of ALL_AUS; `subtlety` scales every AU
 * effect (landmark moves and shading). `noiseSeed` seeds the sensor noise only.
 */
export function renderFace(
  subject: SubjectParams,
  neutral: Float64Array,
  intensity: ArrayLike<number>,
  look: FrameLook,
  size: number,
  subtlety: number,
  noiseSeed: number,
): RenderedFace {
  const p = subject;
  const k = Float64Array.from({ length: ALL_AUS.length }, (_, a) => Math.min(1.5, intensity[a]! * subtlety));
  const at = (au: number) => k[ALL_AUS.indexOf(au as never)]!;
  const L = applyAus(neutral, k);
  let cv = CANVASES.get(size);
  if (!cv) CANVASES.set(size, (cv = new Canvas(size)));
  const unit = unitPixels(look.pose, size);
  const P = (pts: number[]) => project(pts, p, look.pose, size);
  const x = (i: number) => L[2 * i]!;
  const y = (i: number) => L[2 * i + 1]!;
  const pts = (idx: number[]) => idx.flatMap((i) => [x(i), y(i)]);
  const hw = (w: number) => w * unit;
  const mirrorX = (q: number[]) => q.map((v, i) => (i % 2 === 0 ? -v : v));
  /** a stroke in face units on both sides of the face */
  const both = (q: number[], w: number, amount: number) => {
    if (Math.abs(amount) < 1e-3) return;
    cv.shade(cv.stroke(P(q), hw(w)), amount);
    cv.shade(cv.stroke(P(mirrorX(q)), hw(w)), amount);
  };
  const blobBoth = (cx: number, cy: number, sx: number, sy: number, amount: number) => {
    if (Math.abs(amount) < 1e-3) return;
    for (const s of [-1, 1]) {
      const [px, py] = P([s * cx, cy]);
      cv.shade(cv.blob(px!, py!, sx * unit, sy * unit), amount);
    }
  };

  cv.background(look.bgTop, look.bgBottom);
  const top = p.eyeY + 0.05;
  // hair behind the head
  if (p.hairVolume > 0) {
    const rx = p.faceW + 0.05 + 0.1 * p.hairVolume, ry = top - p.foreheadY + 0.1 + 0.12 * p.hairVolume, rb = 0.3 + 0.8 * p.hairVolume;
    const q: number[] = [];
    for (let i = 0; i < 32; i++) {
      const t = (2 * Math.PI * i) / 32, s = Math.sin(t);
      q.push(rx * Math.cos(t), top - 0.1 - (s > 0 ? ry : rb) * s);
    }
    cv.fill(cv.polygon(P(q)), p.hair);
  }
  // neck, then the face outline: jaw 0..16 and a forehead arc back to 0
  const neck = [x(4) * 0.8, y(4), x(12) * 0.8, y(12), x(12) * 0.75, p.chinY + 1.5, x(4) * 0.75, p.chinY + 1.5];
  cv.fill(cv.polygon(P(neck)), mixRgb(p.skin, DARK, 0.2));
  const face = pts(range(0, 16));
  for (let i = 1; i < 12; i++) {
    const t = (Math.PI * i) / 12;
    face.push(p.faceW * Math.cos(t), top - (top - p.foreheadY) * Math.sin(t));
  }
  const faceCov = cv.polygon(P(face));
  cv.fill(faceCov, p.skin);
  // roundness: light centre, darker rim (inside the face only); beard shadow
  const [fcx, fcy] = P([0, 0.1]);
  cv.shade(Canvas.clip(cv.blob(fcx!, fcy!, 0.75 * unit, 0.95 * unit), faceCov), 0.1);
  if (p.beard > 0) {
    const [bx, by] = P([0, p.mouthY + 0.2]);
    cv.shade(Canvas.clip(cv.blob(bx!, by!, 0.55 * unit, 0.45 * unit), faceCov), -p.beard);
  }
  // fringe over the forehead
  if (p.hairVolume > 0) {
    const outer: number[] = [], line: number[] = [];
    for (let i = 0; i <= 12; i++) {
      const t = Math.PI * (0.06 + (0.88 * i) / 12), c = Math.cos(t), s = Math.sin(t);
      outer.push(1.06 * p.faceW * c, top - 0.1 - (top - 0.02 - p.foreheadY) * s);
      line.unshift(0.98 * p.faceW * c, p.foreheadY + p.fringe * s + (top - 0.1 - p.foreheadY) * (1 - s) ** 2);
    }
    cv.fill(cv.polygon(P([...outer, ...line])), p.hair);
  }

  // forehead lines: AU1 in the centre, AU2 at the sides, a little with age
  const browMid = p.eyeY - p.browOff - p.browArch;
  for (let j = 0; j < 3; j++) {
    for (let s = -5; s < 5; s++) {
      const x0 = 0.1 * s, x1 = x0 + 0.1, xm = x0 + 0.05;
      const w = at(1) * Math.exp(-((xm / 0.22) ** 2)) + at(2) * (1 - Math.exp(-((xm / 0.3) ** 2))) + 0.12 * p.age;
      if (w < 0.01) continue;
      const yy = (xx: number) => browMid - 0.11 - 0.065 * j + 0.05 * (xx / 0.5) ** 2;
      const seg = [x0, yy(x0), xm, yy(xm), x1, yy(x1)];
      cv.shade(cv.stroke(P(seg), hw(0.008)), -0.5 * w);
      cv.shade(cv.stroke(P(seg.map((v, i) => (i % 2 ? v - 0.018 : v))), hw(0.008)), 0.2 * w);
    }
  }
  // glabella furrows (AU4)
  both([0.05, y(21) + 0.02, 0.045, y(21) - 0.12], 0.009, -0.6 * at(4));
  both([0.065, y(21) + 0.02, 0.06, y(21) - 0.12], 0.008, 0.2 * at(4));
  // brows
  for (const side of [range(17, 21), range(22, 26)]) cv.fill(cv.stroke(P(pts(side)), hw(p.browThick / 2)), p.brow, 0.9);

  // eyes: sclera, iris and pupil clipped to the lids, lid lines, socket shadow
  for (const idx of [range(36, 41), range(42, 47)]) {
    const eyeP = P(pts(idx));
    const eyeCov = cv.polygon(eyeP);
    cv.fill(eyeCov, mixRgb(SCLERA, p.skin, 0.15));
    let ex = 0, ey = 0;
    for (let i = 0; i < 6; i++) {
      ex += eyeP[2 * i]! / 6;
      ey += eyeP[2 * i + 1]! / 6;
    }
    const ew = Math.hypot(eyeP[6]! - eyeP[0]!, eyeP[7]! - eyeP[1]!);
    const r = p.eyeH * 1.25 * unit;
    const gx = ex + look.gaze[0] * 0.2 * ew, gy = ey + look.gaze[1] * 0.1 * ew;
    const iris = cv.ellipse(gx, gy, r, r);
    cv.fill(Canvas.clip(iris, eyeCov), p.iris);
    cv.fill(Canvas.clip(cv.ellipse(gx, gy, 0.45 * r, 0.45 * r), eyeCov), DARK);
    cv.fill(cv.stroke(P(pts(idx.slice(0, 4))), hw(0.012)), DARK, 0.85);
    cv.shade(cv.stroke(P(pts([idx[3]!, idx[4]!, idx[5]!, idx[0]!])), hw(0.006)), -0.3);
  }
  blobBoth(p.eyeSep, p.eyeY - p.eyeH - 0.04, 0.12, 0.035, -0.08);
  // AU6: cheek bulge, infraorbital furrow, crow's feet; AU7: lower-lid bulge
  blobBoth(p.eyeSep + 0.05, p.eyeY + 0.3, 0.14, 0.09, 0.14 * at(6));
  blobBoth(p.eyeSep + 0.05, p.eyeY + 0.43, 0.16, 0.05, -0.1 * at(6));
  both([x(41) - 0.03, y(41) + 0.065, x(40) + 0.03, y(40) + 0.06], 0.01, -(0.4 * at(6) + 0.2 * at(7) + 0.06 * p.age));
  for (const ang of [-0.45, 0, 0.45]) {
    const x0 = x(36) - 0.035, y0 = y(36);
    both([x0, y0, x0 - 0.09 * Math.cos(ang), y0 + 0.09 * Math.sin(ang)], 0.007, -(0.5 * at(6) + 0.08 * p.age));
  }
  both([x(41), y(41) + 0.028, x(40), y(40) + 0.026], 0.009, -0.35 * at(7));

  // nose: bridge side shadow, base, nostrils; AU9 wrinkles across the bridge
  cv.shade(cv.stroke(P([0.06, y(27) + 0.05, 0.07, y(29)]), hw(0.02)), -0.1);
  cv.shade(cv.stroke(P(pts(range(31, 35))), hw(0.01)), -0.3);
  for (const [a, b] of [[31, 32], [35, 34]] as const) {
    const [nx, ny] = P([(x(a) + x(b)) / 2, (y(a) + y(b)) / 2 + 0.004]);
    cv.fill(cv.ellipse(nx!, ny!, 0.035 * unit, 0.017 * unit), DARK, 0.55);
  }
  for (let j = 0; j < 3; j++) {
    const yy = y(27) + 0.05 + ((y(28) - y(27)) * j) / 2;
    if (at(9) > 0.01) cv.shade(cv.stroke(P([-0.07, yy + 0.01, 0, yy, 0.07, yy + 0.01]), hw(0.007)), -0.55 * at(9));
  }
  // nasolabial folds (AU12, AU10, AU6, AU9 deepen them; they follow the lip corners)
  const fold = [x(31) - 0.04, y(31) - 0.01, (x(31) + x(48)) / 2 - 0.07, (y(31) + y(48)) / 2, x(48) - 0.06, y(48) + 0.05];
  both(fold, 0.008, -(0.05 + 0.3 * at(12) + 0.2 * at(10) + 0.1 * at(6) + 0.12 * at(9) + 0.05 * p.age));
  both(fold.map((v, i) => (i % 2 ? v : v - 0.02)), 0.01, 0.1 * at(12) + 0.05 * at(10));

  // lips: outer polygon (paler when tightened or pressed), open mouth, teeth, lip line
  cv.fill(cv.polygon(P(pts(range(48, 59)))), mixRgb(p.lip, p.skin, 0.4 * Math.min(1, Math.max(at(23), at(24)))));
  const innerP = P(pts(range(60, 67)));
  const inner = cv.polygon(innerP);
  cv.fill(inner, MOUTH);
  const teethPts = [...pts(range(60, 64)), ...pts([64, 63, 62, 61, 60]).map((v, i) => (i % 2 ? v + 0.03 : v))];
  cv.fill(Canvas.clip(cv.polygon(P(teethPts)), inner), TEETH);
  cv.fill(cv.stroke(P(pts(range(60, 64))), hw(0.007)), DARK, 0.6);
  cv.fill(cv.stroke(P(pts([64, 65, 66, 67, 60])), hw(0.006)), DARK, 0.45);
  const [lx, ly] = P([x(57), y(57) - p.lowerLip * 0.45]);
  cv.shade(cv.blob(lx!, ly!, 0.08 * unit, 0.02 * unit), 0.1);
  // AU14 dimples; AU24 bulges above and below the lips
  blobBoth(-x(48) + 0.045, y(48) + 0.01, 0.02, 0.03, -0.4 * at(14));
  both([x(48) - 0.045, y(48) - 0.035, x(48) - 0.04, y(48) + 0.04], 0.007, -0.3 * at(14));
  cv.shade(cv.stroke(P(pts(range(49, 53)).map((v, i) => (i % 2 ? v - 0.03 : v))), hw(0.008)), -0.35 * at(24));
  cv.shade(cv.stroke(P(pts(range(55, 59)).map((v, i) => (i % 2 ? v + 0.028 : v))), hw(0.008)), -0.3 * at(24));
  // AU17: chin boss raised and dimpled, mentolabial furrow
  const ys = y(57) + 0.075;
  cv.shade(cv.stroke(P([-0.12, ys, 0, ys + 0.012, 0.12, ys]), hw(0.01)), -(0.1 + 0.35 * at(17)));
  if (at(17) > 0.01) {
    const [cx, cy] = P([0, y(8) - 0.13]);
    cv.shade(cv.blob(cx!, cy!, 0.11 * unit, 0.06 * unit), 0.1 * at(17));
    for (let i = 0; i < 6; i++) {
      const [dx, dy] = P([-0.08 + 0.032 * i, y(8) - 0.12 - 0.03 * (i % 2)]);
      cv.shade(cv.blob(dx!, dy!, 0.012 * unit, 0.012 * unit), -0.3 * at(17));
    }
  }

  cv.blur(look.blur);
  const image = cv.toBytes(look.ambient, look.light, look.lightDir[0], look.lightDir[1], look.noise, noiseSeed);
  const lm = P(Array.from(L));
  const landmarks = new Float32Array(2 * LANDMARKS);
  for (let i = 0; i < landmarks.length; i++) landmarks[i] = lm[i]!;
  return { image, landmarks };
}
