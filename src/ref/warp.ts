/**
 * Float64 reference of the bilinear affine warp with a constant border (src/ops/warp.ts), written
 * from the definition: output pixel (x, y) samples the source at M^-1 (x, y) with bilinear weights;
 * each of the four taps outside the source reads the border value.
 */

/** Images as interleaved RGB bytes [B, H, W, 3]; forward 2x3 row matrices; result float64 [B, outH, outW, 3], not rounded. */
export function warpAffineRef(
  rgb: ArrayLike<number>,
  B: number,
  H: number,
  W: number,
  matrices: readonly (readonly number[])[][],
  outH: number,
  outW: number,
  border = 128,
): Float64Array {
  const out = new Float64Array(B * outH * outW * 3);
  for (let b = 0; b < B; b++) {
    const [[a, c, tx], [d, e, ty]] = matrices[b]! as [number[], number[]];
    const det = a! * e! - c! * d!;
    const at = (xi: number, yi: number, ch: number) =>
      xi < 0 || yi < 0 || xi >= W || yi >= H ? border : rgb[((b * H + yi) * W + xi) * 3 + ch]!;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        // solve [a c; d e] [u; v] = [x - tx; y - ty]
        const px = x - tx!;
        const py = y - ty!;
        const u = (e! * px - c! * py) / det;
        const v = (a! * py - d! * px) / det;
        const u0 = Math.floor(u);
        const v0 = Math.floor(v);
        const fx = u - u0;
        const fy = v - v0;
        for (let ch = 0; ch < 3; ch++) {
          const top = (1 - fx) * at(u0, v0, ch) + fx * at(u0 + 1, v0, ch);
          const bottom = (1 - fx) * at(u0, v0 + 1, ch) + fx * at(u0 + 1, v0 + 1, ch);
          out[((b * outH + y) * outW + x) * 3 + ch] = (1 - fy) * top + fy * bottom;
        }
      }
    }
  }
  return out;
}

/** Rounded half up and clamped to 0..255, as the GPU op stores pixels. */
export function roundPixels(v: Float64Array): Uint8Array {
  return Uint8Array.from(v, (x) => Math.min(255, Math.max(0, Math.floor(x + 0.5))));
}
