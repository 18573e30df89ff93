// Bilinear affine warp of a batch of uint8 RGB images with a constant grey border, as
// cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT) but with exact (not 5-bit fixed-point) weights.
//
// Pixels are packed one per u32: r | g << 8 | b << 16 (the top byte is ignored on read, zero on
// write). Images are [B, H, W] row-major. `inv_m` holds, per image, the INVERSE map (output pixel
// -> source pixel) as six f32 [a, b, c, d, e, f]: u = a x + b y + c, v = d x + e y + f. Each of the
// four bilinear taps outside the source reads the border value; the result is rounded half up and
// clamped to 0..255.
//
// Names of locals and parameters never repeat a global's: wgsl_reflect matches resources by name.

override WG: u32 = 256u;

struct Params {
  // output pixels in the batch: B * out_h * out_w
  total: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  // border value (0..255) of every channel
  border: f32,
}

@group(0) @binding(0) var<uniform> wp: Params;
@group(0) @binding(1) var<storage, read> src_px: array<u32>;
@group(0) @binding(2) var<storage, read> inv_m: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst_px: array<u32>;

fn unpack_rgb(word: u32) -> vec3<f32> {
  return vec3<f32>(f32(word & 0xffu), f32((word >> 8u) & 0xffu), f32((word >> 16u) & 0xffu));
}

fn pack_rgb(c: vec3<f32>) -> u32 {
  let q = vec3<u32>(clamp(floor(c + vec3<f32>(0.5)), vec3<f32>(0.0), vec3<f32>(255.0)));
  return q.x | (q.y << 8u) | (q.z << 16u);
}

// One tap: the source pixel (xi, yi) of image `img`, or the border outside the image.
fn tap(img: u32, xi: i32, yi: i32) -> vec3<f32> {
  if (xi < 0 || yi < 0 || xi >= i32(wp.in_w) || yi >= i32(wp.in_h)) {
    return vec3<f32>(wp.border);
  }
  return unpack_rgb(src_px[(img * wp.in_h + u32(yi)) * wp.in_w + u32(xi)]);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= wp.total) {
    return;
  }
  let ox = i % wp.out_w;
  let rest = i / wp.out_w;
  let oy = rest % wp.out_h;
  let img = rest / wp.out_h;
  let mb = img * 6u;
  let xf = f32(ox);
  let yf = f32(oy);
  let u = inv_m[mb] * xf + inv_m[mb + 1u] * yf + inv_m[mb + 2u];
  let v = inv_m[mb + 3u] * xf + inv_m[mb + 4u] * yf + inv_m[mb + 5u];
  let u0 = floor(u);
  let v0 = floor(v);
  let fx = u - u0;
  let fy = v - v0;
  // far outside: every tap is border (also keeps the i32 conversion in range)
  if (u0 < -2.0 || v0 < -2.0 || u0 > f32(wp.in_w) + 1.0 || v0 > f32(wp.in_h) + 1.0) {
    dst_px[i] = pack_rgb(vec3<f32>(wp.border));
    return;
  }
  let xi = i32(u0);
  let yi = i32(v0);
  let top = mix(tap(img, xi, yi), tap(img, xi + 1, yi), fx);
  let bottom = mix(tap(img, xi, yi + 1), tap(img, xi + 1, yi + 1), fx);
  dst_px[i] = pack_rgb(mix(top, bottom, fy));
}
