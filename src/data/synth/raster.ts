/**
 * A tiny anti-aliased rasteriser for the synthetic faces: an RGB float canvas (values in [0, 1],
 * pixel centres at integer coordinates) and primitives that each produce a coverage over their
 * bounding box (polygons by scanline with 4 sub-rows and exact horizontal coverage; strokes, ellipses
 * and blobs by distance), then composite it. No canvas library, no native code.
 */

import { Rng } from '../../util/rng.js';

export type Rgb = readonly [number, number, number];

/** Coverage in [0, 1] over the box [x0, x0 + w) x [y0, y0 + h) of the canvas. */
export interface Coverage {
  x0: number;
  y0: number;
  w: number;
  h: number;
  cov: Float32Array;
}

export interface Box {
  x0: number;
  y0: number;
  w: number;
  h: number;
}

const SUB_ROWS = [-0.375, -0.125, 0.125, 0.375];

/** 65536 standard normal draws (fixed seed), indexed pseudo-randomly per frame for sensor noise */
let NORMALS: Float32Array | null = null;
function normals(): Float32Array {
  if (!NORMALS) {
    const rng = new Rng(0x5eed);
    NORMALS = new Float32Array(65536);
    for (let i = 0; i < NORMALS.length; i++) NORMALS[i] = rng.normal();
  }
  return NORMALS;
}

const RING = 4;

export class Canvas {
  readonly px: Float32Array;
  private readonly tmp: Float32Array;
  /** scratch coverage buffers, reused round-robin (a coverage lives until RING more are made) */
  private readonly ring: Float32Array[] = [];
  private next = 0;

  constructor(readonly size: number) {
    this.px = new Float32Array(size * size * 3);
    this.tmp = new Float32Array(size * size * 3);
    for (let i = 0; i < RING; i++) this.ring.push(new Float32Array(size * size));
  }

  private scratch(n: number): Float32Array {
    const buf = this.ring[this.next]!.subarray(0, n);
    this.next = (this.next + 1) % RING;
    buf.fill(0);
    return buf;
  }

  /** integer box covering [minX - pad, maxX + pad] x [minY - pad, maxY + pad], clipped to the canvas */
  box(minX: number, minY: number, maxX: number, maxY: number, pad = 1): Box | null {
    const x0 = Math.max(0, Math.floor(minX - pad));
    const y0 = Math.max(0, Math.floor(minY - pad));
    const x1 = Math.min(this.size - 1, Math.ceil(maxX + pad));
    const y1 = Math.min(this.size - 1, Math.ceil(maxY + pad));
    if (x1 < x0 || y1 < y0) return null;
    return { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
  }

  /** bounding box of flat [x0, y0, x1, y1, ...] points */
  boxOf(pts: ArrayLike<number>, pad = 1): Box | null {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < pts.length; i += 2) {
      const x = pts[i]!, y = pts[i + 1]!;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    return this.box(minX, minY, maxX, maxY, pad);
  }

  /** even-odd polygon coverage of flat points, over `box` (default: the polygon's bounds) */
  polygon(pts: ArrayLike<number>, box: Box | null = this.boxOf(pts)): Coverage | null {
    if (!box) return null;
    const { x0, y0, w, h } = box;
    const cov = this.scratch(w * h);
    const n = pts.length >> 1;
    const xs = new Float64Array(n + 1);
    for (let r = 0; r < h; r++) {
      const row = r * w;
      for (const dy of SUB_ROWS) {
        const ys = y0 + r + dy;
        let m = 0;
        for (let i = 0, j = n - 1; i < n; j = i++) {
          const yi = pts[2 * i + 1]!, yj = pts[2 * j + 1]!;
          if ((yi <= ys && ys < yj) || (yj <= ys && ys < yi)) {
            const xi = pts[2 * i]!, xj = pts[2 * j]!;
            // insertion into the sorted crossings
            const v = xi + ((ys - yi) * (xj - xi)) / (yj - yi);
            let q = m++;
            while (q > 0 && xs[q - 1]! > v) {
              xs[q] = xs[q - 1]!;
              q--;
            }
            xs[q] = v;
          }
        }
        for (let k = 0; k + 1 < m; k += 2) {
          // pixel c covers [c - 0.5, c + 0.5): shift so that local pixel i covers [i, i + 1)
          const ua = Math.max(0, xs[k]! + 0.5 - x0);
          const ub = Math.min(w, xs[k + 1]! + 0.5 - x0);
          if (ub <= ua) continue;
          const ia = Math.floor(ua), ib = Math.floor(ub);
          if (ia === ib) {
            cov[row + ia]! += 0.25 * (ub - ua);
            continue;
          }
          cov[row + ia]! += 0.25 * (ia + 1 - ua);
          for (let c = ia + 1; c < ib; c++) cov[row + c]! += 0.25;
          if (ib < w) cov[row + ib]! += 0.25 * (ub - ib);
        }
      }
    }
    return { x0, y0, w, h, cov };
  }

  /** coverage of a polyline of half-width hw (pixels), with soft 1-px edges */
  stroke(pts: ArrayLike<number>, hw: number): Coverage | null {
    const box = this.boxOf(pts, hw + 1.5);
    if (!box) return null;
    const { x0, y0, w, h } = box;
    const cov = this.scratch(w * h);
    const r = Math.max(hw, 0.35);
    // thin lines fade instead of shrinking below a pixel
    const fade = Math.min(1, hw / 0.35);
    const n = pts.length >> 1;
    for (let y = 0; y < h; y++) {
      const py = y0 + y;
      for (let x = 0; x < w; x++) {
        const pxx = x0 + x;
        let best = Infinity;
        for (let i = 0; i + 1 < n; i++) {
          const ax = pts[2 * i]!, ay = pts[2 * i + 1]!;
          const bx = pts[2 * i + 2]! - ax, by = pts[2 * i + 3]! - ay;
          const l2 = bx * bx + by * by;
          let t = l2 > 0 ? ((pxx - ax) * bx + (py - ay) * by) / l2 : 0;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const dx = pxx - ax - t * bx, dy = py - ay - t * by;
          const d = dx * dx + dy * dy;
          if (d < best) best = d;
        }
        const c = r + 0.5 - Math.sqrt(best);
        if (c > 0) cov[y * w + x] = (c > 1 ? 1 : c) * fade;
      }
    }
    return { x0, y0, w, h, cov };
  }

  /** coverage of an axis-aligned ellipse with soft edges */
  ellipse(cx: number, cy: number, rx: number, ry: number): Coverage | null {
    const box = this.box(cx - rx, cy - ry, cx + rx, cy + ry, 1.5);
    if (!box || rx <= 0 || ry <= 0) return null;
    const { x0, y0, w, h } = box;
    const cov = this.scratch(w * h);
    const rm = Math.min(rx, ry);
    for (let y = 0; y < h; y++) {
      const dy = (y0 + y - cy) / ry;
      for (let x = 0; x < w; x++) {
        const dx = (x0 + x - cx) / rx;
        const c = (1 - Math.sqrt(dx * dx + dy * dy)) * rm + 0.5;
        if (c > 0) cov[y * w + x] = c > 1 ? 1 : c;
      }
    }
    return { x0, y0, w, h, cov };
  }

  /** a Gaussian blob exp(-(dx/sx)^2/2 - (dy/sy)^2/2) out to 3 sigma */
  blob(cx: number, cy: number, sx: number, sy: number): Coverage | null {
    const box = this.box(cx - 3 * sx, cy - 3 * sy, cx + 3 * sx, cy + 3 * sy, 0);
    if (!box || sx <= 0 || sy <= 0) return null;
    const { x0, y0, w, h } = box;
    const cov = this.scratch(w * h);
    const ex = new Float32Array(w);
    for (let x = 0; x < w; x++) ex[x] = Math.exp(-0.5 * ((x0 + x - cx) / sx) ** 2);
    for (let y = 0; y < h; y++) {
      const ey = Math.exp(-0.5 * ((y0 + y - cy) / sy) ** 2);
      for (let x = 0; x < w; x++) cov[y * w + x] = ey * ex[x]!;
    }
    return { x0, y0, w, h, cov };
  }

  /** multiplies a coverage by another (computed over the same box): an intersection */
  static clip(a: Coverage | null, b: Coverage | null): Coverage | null {
    if (!a || !b) return null;
    for (let y = 0; y < a.h; y++) {
      const by = a.y0 + y - b.y0;
      for (let x = 0; x < a.w; x++) {
        const bx = a.x0 + x - b.x0;
        a.cov[y * a.w + x]! *= by >= 0 && by < b.h && bx >= 0 && bx < b.w ? b.cov[by * b.w + bx]! : 0;
      }
    }
    return a;
  }

  /** paints colour over the coverage with the given opacity */
  fill(c: Coverage | null, color: Rgb, opacity = 1): void {
    if (!c || opacity <= 0) return;
    const { x0, y0, w, h, cov } = c;
    const S = this.size, px = this.px;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const a = cov[y * w + x]! * opacity;
        if (a <= 0) continue;
        const a1 = a > 1 ? 1 : a;
        const p = ((y0 + y) * S + x0 + x) * 3;
        px[p] = px[p]! + (color[0] - px[p]!) * a1;
        px[p + 1] = px[p + 1]! + (color[1] - px[p + 1]!) * a1;
        px[p + 2] = px[p + 2]! + (color[2] - px[p + 2]!) * a1;
      }
    }
  }

  /** multiplies the pixels by (1 + amount * coverage): darkens for amount < 0, lightens for > 0 */
  shade(c: Coverage | null, amount: number): void {
    if (!c || amount === 0) return;
    const { x0, y0, w, h, cov } = c;
    const S = this.size, px = this.px;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = 1 + amount * cov[y * w + x]!;
        const p = ((y0 + y) * S + x0 + x) * 3;
        px[p]! *= k;
        px[p + 1]! *= k;
        px[p + 2]! *= k;
      }
    }
  }

  /** vertical two-colour gradient over the whole canvas */
  background(top: Rgb, bottom: Rgb): void {
    const S = this.size, px = this.px;
    for (let y = 0; y < S; y++) {
      const t = y / Math.max(1, S - 1);
      const r = top[0] + (bottom[0] - top[0]) * t, g = top[1] + (bottom[1] - top[1]) * t, b = top[2] + (bottom[2] - top[2]) * t;
      for (let x = 0; x < S; x++) {
        const p = (y * S + x) * 3;
        px[p] = r;
        px[p + 1] = g;
        px[p + 2] = b;
      }
    }
  }

  /** `passes` separable [1 2 1]/4 blurs (edges clamp) */
  blur(passes: number): void {
    const S = this.size, src = this.px, tmp = this.tmp;
    for (let p = 0; p < passes; p++) {
      Canvas.blurLines(src, tmp, S, 3, 3 * S);
      Canvas.blurLines(tmp, src, S, 3 * S, 3);
    }
  }

  /** blurs S lines of S pixels: `step` between pixels of a line, `stride` between lines */
  private static blurLines(src: Float32Array, dst: Float32Array, S: number, step: number, stride: number): void {
    for (let l = 0; l < S; l++) {
      const base = l * stride;
      for (let c = 0; c < 3; c++) {
        const b = base + c;
        const last = b + (S - 1) * step;
        dst[b] = 0.75 * src[b]! + 0.25 * src[b + step]!;
        for (let i = b + step; i < last; i += step) dst[i] = 0.5 * src[i]! + 0.25 * (src[i - step]! + src[i + step]!);
        dst[last] = 0.75 * src[last]! + 0.25 * src[last - step]!;
      }
    }
  }

  /**
   * 8-bit RGB after lighting (a factor ambient + strength * ((x, y) - centre) . dir / size) and sensor
   * noise of standard deviation sigma (table draws at a seeded offset and stride).
   */
  toBytes(ambient: number, strength: number, dirX: number, dirY: number, sigma: number, seed: number, out = new Uint8Array(this.px.length)): Uint8Array {
    const S = this.size, px = this.px, c = (S - 1) / 2, N = normals();
    const rng = new Rng(seed);
    let at = rng.int(65536);
    const stride = 2 * rng.int(16384) + 1;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const k = 255 * (ambient + (strength * ((x - c) * dirX + (y - c) * dirY)) / S);
        for (let ch = 0; ch < 3; ch++) {
          const i = (y * S + x) * 3 + ch;
          at = (at + stride) & 0xffff;
          const v = k * px[i]! + 255 * sigma * N[at]! + 0.5;
          out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v;
        }
      }
    }
    return out;
  }
}
