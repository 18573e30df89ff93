/**
 * The face region each AU acts on: landmarks (iBUG 68 indices) whose bounding box, padded by the given
 * margins in face units, contains every landmark move and every shading the renderer draws for that AU.
 * Used by the tests (an AU must change pixels inside its region and not outside) and usable as ROIs.
 */
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);
const BROWS = range(17, 26), EYES = range(36, 47), NOSE = range(27, 35), MOUTH = range(48, 67);

/** pad: [left, top, right, bottom] in face units (about 0.32 * image size pixels each) */
export const AU_REGIONS: Record<number, { points: number[]; pad: [number, number, number, number] }> = {
  1: { points: BROWS, pad: [0.05, 0.45, 0.05, 0.06] },
  2: { points: BROWS, pad: [0.05, 0.45, 0.05, 0.06] },
  4: { points: [...BROWS, 37, 38, 43, 44], pad: [0.05, 0.25, 0.05, 0.06] },
  6: { points: EYES, pad: [0.2, 0.08, 0.2, 0.65] },
  7: { points: EYES, pad: [0.08, 0.08, 0.08, 0.1] },
  9: { points: [20, 21, 22, 23, ...NOSE, ...range(48, 54)], pad: [0.15, 0.08, 0.15, 0.15] },
  10: { points: [...range(31, 35), ...MOUTH], pad: [0.15, 0.08, 0.15, 0.12] },
  12: { points: [...range(31, 35), ...MOUTH], pad: [0.15, 0.08, 0.15, 0.12] },
  14: { points: MOUTH, pad: [0.1, 0.08, 0.1, 0.1] },
  15: { points: MOUTH, pad: [0.1, 0.08, 0.1, 0.12] },
  17: { points: [...MOUTH, ...range(6, 10)], pad: [0.1, 0.06, 0.1, 0.06] },
  23: { points: MOUTH, pad: [0.08, 0.08, 0.08, 0.12] },
  24: { points: MOUTH, pad: [0.08, 0.08, 0.08, 0.12] },
  25: { points: MOUTH, pad: [0.08, 0.08, 0.08, 0.12] },
  26: { points: [...MOUTH, ...range(3, 13)], pad: [0.08, 0.08, 0.08, 0.08] },
};

/** Pixel box [x0, y0, x1, y1] of an AU's region over one or more landmark sets (flat x, y pixels). */
export function auRegionBox(au: number, landmarks: ArrayLike<number>[], unitPx: number): [number, number, number, number] {
  const r = AU_REGIONS[au];
  if (!r) throw new RangeError(`synth: no region for AU${au}`);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const lm of landmarks) {
    for (const i of r.points) {
      x0 = Math.min(x0, lm[2 * i]!);
      x1 = Math.max(x1, lm[2 * i]!);
      y0 = Math.min(y0, lm[2 * i + 1]!);
      y1 = Math.max(y1, lm[2 * i + 1]!);
    }
  }
  const [l, t, rr, b] = r.pad;
  return [x0 - l * unitPx, y0 - t * unitPx, x1 + rr * unitPx, y1 + b * unitPx];
}
