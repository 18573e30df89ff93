/**
 * Face alignment from 49 inner landmarks (docs: ../shared/DATASETS.md, "Alignment from 49 inner
 * landmarks", the JAA-Net-style procedure): the eyes are made horizontal by a rotation R, the box
 * around five rotated points (eye centres, nose tip, mouth corners) is enlarged and scaled to the
 * output size. M = [[s, 0, s(half - cx)], [0, s, s(half - cy)]] · R maps source pixels to aligned
 * pixels. Also: the 68 -> 49 and 66 -> 49 landmark mappings, the left/right permutation a horizontal
 * flip needs, and a least-squares similarity fit (Umeyama's closed form) between two point sets.
 *
 * Matrices are gl-matrix `mat2d` values held in Float64Arrays: [a, b, c, d, tx, ty] maps
 * (x, y) to (a x + c y + tx, b x + d y + ty). `matrixRows` gives the 2x3 row form
 * [[a, c, tx], [b, d, ty]] that cv2.warpAffine and `aunce align` use.
 */
import { mat2d, vec2 } from 'gl-matrix';

/** 0-based indices, into the 68-point iBUG layout, of the 49 inner points (drops jaw 1-17 and 61, 65 1-based). */
export const MAP_68_TO_49: readonly number[] = Object.freeze([
  ...range(17, 60), // brows, nose, eyes, outer mouth
  61, 62, 63, // inner upper lip without its corner 60
  65, 66, 67, // inner lower lip without its corner 64
]);

/** 0-based indices, into the 66-point layout (no inner-mouth corners), of the 49 inner points: 18..66 1-based. */
export const MAP_66_TO_49: readonly number[] = Object.freeze(range(17, 66));

/** FLIP_68[i]: the point that point i becomes under a horizontal flip (iBUG 68, 0-based). */
export const FLIP_68: readonly number[] = Object.freeze(flip68());

/** 0-based indices, into the 68-point layout, of the 66 points of DISFA-style files (no inner-mouth corners 61, 65 1-based). */
export const MAP_66_TO_68: readonly number[] = Object.freeze([...range(0, 60), 61, 62, 63, 65, 66, 67]);

/** The flip permutation of a subset of the 68 points, given as its indices into the 68. */
function subsetFlip(map: readonly number[]): number[] {
  return map.map((p) => {
    const j = map.indexOf(FLIP_68[p]!);
    if (j < 0) throw new Error(`align: the flip partner of 68-point ${p} is not in the subset`);
    return j;
  });
}

/** FLIP_49[i]: the same for the 49 inner points, derived from FLIP_68 through MAP_68_TO_49. */
export const FLIP_49: readonly number[] = Object.freeze(subsetFlip(MAP_68_TO_49));

/** FLIP_66[i]: the same for the 66-point layout. */
export const FLIP_66: readonly number[] = Object.freeze(subsetFlip(MAP_66_TO_68));

/** Indices, in the 49-point set, that define the alignment box (DATASETS.md steps 2 and 4). */
export const LEFT_EYE_49 = Object.freeze(range(19, 25));
export const RIGHT_EYE_49 = Object.freeze(range(25, 31));
export const NOSE_TIP_49 = 13;
export const MOUTH_CORNERS_49 = Object.freeze([31, 37]);

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo }, (_, i) => lo + i);
}

function flip68(): number[] {
  const p = range(0, 68);
  const swap = (a: number, b: number) => {
    p[a] = b;
    p[b] = a;
  };
  for (let i = 0; i < 8; i++) swap(i, 16 - i); // jaw
  for (let i = 0; i < 5; i++) swap(17 + i, 26 - i); // brows
  swap(31, 35); // nostrils
  swap(32, 34);
  for (const [a, b] of [[36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46]] as const) swap(a, b); // eyes
  for (const [a, b] of [[48, 54], [49, 53], [50, 52], [55, 59], [56, 58]] as const) swap(a, b); // outer lips
  for (const [a, b] of [[60, 64], [61, 63], [65, 67]] as const) swap(a, b); // inner lips
  return p;
}

/** Flat [x1, y1, x2, y2, ...] of 68, 66 or 49 points, as the 49 inner points (a new array). */
export function to49(points: ArrayLike<number>): Float64Array {
  const n = points.length / 2;
  const map = n === 68 ? MAP_68_TO_49 : n === 66 ? MAP_66_TO_49 : n === 49 ? range(0, 49) : null;
  if (!map || points.length % 2 !== 0) throw new RangeError(`align: expected 49, 66 or 68 points (98, 132 or 136 numbers), got ${points.length} numbers`);
  const out = new Float64Array(98);
  map.forEach((src, i) => {
    out[2 * i] = points[2 * src]!;
    out[2 * i + 1] = points[2 * src + 1]!;
  });
  return out;
}

/** Landmarks of an image flipped horizontally: x -> width - 1 - x, and left/right points swapped (49, 66 or 68 points). */
export function flipLandmarks(points: ArrayLike<number>, width: number): Float64Array {
  const n = points.length / 2;
  const perm = n === 68 ? FLIP_68 : n === 66 ? FLIP_66 : n === 49 ? FLIP_49 : null;
  if (!perm) throw new RangeError(`flipLandmarks: expected 49, 66 or 68 points, got ${points.length} numbers`);
  const out = new Float64Array(points.length);
  for (let i = 0; i < n; i++) {
    const j = perm[i]!;
    out[2 * j] = width - 1 - points[2 * i]!;
    out[2 * j + 1] = points[2 * i + 1]!;
  }
  return out;
}

function mean(points: ArrayLike<number>, idx: readonly number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of idx) {
    x += points[2 * i]!;
    y += points[2 * i + 1]!;
  }
  return [x / idx.length, y / idx.length];
}

/**
 * The alignment matrix (gl-matrix mat2d, source -> aligned pixels) of DATASETS.md for 49 points
 * (0-based pixel coordinates), an output of size x size and a box enlarge factor.
 */
export function alignmentMatrix(points49: ArrayLike<number>, size: number, enlarge: number): Float64Array {
  if (points49.length !== 98) throw new RangeError(`alignmentMatrix: expected 49 points (98 numbers), got ${points49.length}`);
  if (!(size >= 2) || !Number.isFinite(size)) throw new RangeError(`alignmentMatrix: size must be a number >= 2, got ${size}`);
  if (!(enlarge > 0) || !Number.isFinite(enlarge)) throw new RangeError(`alignmentMatrix: enlarge must be positive, got ${enlarge}`);
  const le = mean(points49, LEFT_EYE_49);
  const re = mean(points49, RIGHT_EYE_49);
  const dx = re[0] - le[0];
  const dy = re[1] - le[1];
  const l = Math.hypot(dx, dy);
  if (!(l > 0)) throw new RangeError('alignmentMatrix: the two eye centres coincide');
  const cos = dx / l;
  const sin = dy / l;
  // R = [[cos, sin], [-sin, cos]] (rows), i.e. x' = cos x + sin y, y' = -sin x + cos y
  const rot = new Float64Array([cos, -sin, sin, cos, 0, 0]);
  const five: [number, number][] = [le, re, [points49[2 * NOSE_TIP_49]!, points49[2 * NOSE_TIP_49 + 1]!]];
  for (const m of MOUTH_CORNERS_49) five.push([points49[2 * m]!, points49[2 * m + 1]!]);
  const r = five.map((p) => vec2.transformMat2d(new Float64Array(2), p, rot));
  const xs = r.map((p) => p[0]!);
  const ys = r.map((p) => p[1]!);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const half = 0.5 * enlarge * Math.max(x1 - x0, y1 - y0);
  const s = (size - 1) / 2 / half;
  const place = new Float64Array([s, 0, 0, s, s * (half - cx), s * (half - cy)]);
  return mat2d.multiply(new Float64Array(6), place, rot) as Float64Array;
}

/** [[a, c, tx], [b, d, ty]]: the 2x3 row form of a gl-matrix mat2d. */
export function matrixRows(m: ArrayLike<number>): [[number, number, number], [number, number, number]] {
  return [
    [m[0]!, m[2]!, m[4]!],
    [m[1]!, m[3]!, m[5]!],
  ];
}

/** The mat2d of a 2x3 row matrix. */
export function fromRows(rows: readonly (readonly number[])[]): Float64Array {
  return new Float64Array([rows[0]![0]!, rows[1]![0]!, rows[0]![1]!, rows[1]![1]!, rows[0]![2]!, rows[1]![2]!]);
}

/** Points (flat xy) moved by a mat2d. */
export function transformPoints(m: ArrayLike<number>, points: ArrayLike<number>): Float64Array {
  const out = new Float64Array(points.length);
  const p = new Float64Array(2);
  for (let i = 0; i < points.length; i += 2) {
    vec2.transformMat2d(p, [points[i]!, points[i + 1]!], m as Float64Array);
    out[i] = p[0]!;
    out[i + 1] = p[1]!;
  }
  return out;
}

export interface AlignedFace {
  /** 2x3 row form, source -> aligned pixels */
  matrix: [[number, number, number], [number, number, number]];
  /** the 49 aligned landmarks, flat xy */
  landmarks: number[];
}

/** Aligns one face given 49, 66 or 68 points; `oneBased` subtracts 1 from every coordinate first (MATLAB files). */
export function alignFace(points: ArrayLike<number>, size: number, enlarge: number, oneBased = false): AlignedFace {
  const p49 = to49(points);
  if (oneBased) for (let i = 0; i < p49.length; i++) p49[i]! -= 1;
  const m = alignmentMatrix(p49, size, enlarge);
  return { matrix: matrixRows(m), landmarks: [...transformPoints(m, p49)] };
}

/**
 * The similarity (rotation, uniform scale, translation) that maps `src` onto `dst` in least squares
 * (Umeyama 1991, 2-D, no reflection), as a mat2d. Both are flat xy of the same length.
 */
export function similarityFit(src: ArrayLike<number>, dst: ArrayLike<number>): Float64Array {
  const n = src.length / 2;
  if (src.length !== dst.length || n < 2 || src.length % 2 !== 0) {
    throw new RangeError(`similarityFit: need two point sets of the same size (>= 2 points), got ${src.length} and ${dst.length} numbers`);
  }
  const all = range(0, n);
  const [sx, sy] = mean(src, all);
  const [tx, ty] = mean(dst, all);
  // With complex numbers p = src - mean, q = dst - mean: z = sum(conj(p) q) / sum(|p|^2) = s e^{i theta}.
  let re = 0;
  let im = 0;
  let pp = 0;
  for (let i = 0; i < n; i++) {
    const px = src[2 * i]! - sx;
    const py = src[2 * i + 1]! - sy;
    const qx = dst[2 * i]! - tx;
    const qy = dst[2 * i + 1]! - ty;
    re += px * qx + py * qy;
    im += px * qy - py * qx;
    pp += px * px + py * py;
  }
  if (!(pp > 0)) throw new RangeError('similarityFit: the source points all coincide');
  const a = re / pp;
  const b = im / pp;
  // x' = a x - b y + t, y' = b x + a y + t
  return new Float64Array([a, b, -b, a, tx - (a * sx - b * sy), ty - (b * sx + a * sy)]);
}

/** A landmark line that cannot be read; the message names file:line and the field. */
export class LandmarkError extends Error {}

/** Numbers of one landmark line (whitespace or comma separated); errors name file:line and the field (1-based). */
export function parseLandmarkLine(line: string, file: string, lineNo: number): number[] {
  const fields = line.trim().split(/[\s,]+/).filter((f) => f.length > 0);
  const values = fields.map((f, i) => {
    const v = Number(f);
    if (!Number.isFinite(v)) throw new LandmarkError(`${file}:${lineNo}: field ${i + 1} ('${f}') is not a finite number`);
    return v;
  });
  if (![98, 132, 136].includes(values.length)) {
    throw new LandmarkError(`${file}:${lineNo}: expected 98, 132 or 136 numbers (49, 66 or 68 points as x y pairs), got ${values.length} fields`);
  }
  return values;
}
