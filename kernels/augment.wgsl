// Two-view augmentation of a batch of uint8 RGB images (src/data/augment.ts): per view, crop and
// bilinear resize to S x S (half-pixel centres, sample points clamped to the crop), horizontal
// flip, colour jitter (brightness, contrast, saturation, hue in the view's own order), grayscale,
// separable Gaussian blur with reflect padding, and per-channel normalisation. Values are floats in
// [0, 1] until the normalisation (no uint8 rounding between steps).
//
// Four entry points, run in this order:
//   contrast_mean  one workgroup per view: the mean grey level of the view as it is when contrast
//                  is applied (after the jitter ops that precede contrast in its order)
//   colour         one thread per output pixel: geometry, jitter, grayscale -> col [V, 3, S, S]
//   blur_h         one thread per pixel: horizontal blur col -> tmp (a copy when sigma is 0)
//   blur_v         one thread per pixel: vertical blur and normalisation tmp -> views_out [V, 3, S, S]
//
// Source pixels: one u32 each, r | g << 8 | b << 16, images [B, H, W]. View parameters: 16 f32
// per view (see P_* below). Locals and parameters never repeat a global's name (wgsl_reflect
// matches resources by name).

override WG: u32 = 256u;
override MEAN_WG: u32 = 64u;

struct Params {
  views: u32,
  in_h: u32,
  in_w: u32,
  // output size S
  size: u32,
  // blur radius r (kernel 2 r + 1)
  radius: u32,
  // V * S * S
  total: u32,
  mean_r: f32,
  mean_g: f32,
  mean_b: f32,
  std_r: f32,
  std_g: f32,
  std_b: f32,
}

// offsets into a view's 16 parameters
const P_IMAGE: u32 = 0u;
const P_X0: u32 = 1u;
const P_Y0: u32 = 2u;
const P_W: u32 = 3u;
const P_H: u32 = 4u;
const P_FLIP: u32 = 5u;
const P_JITTER: u32 = 6u;
// order code: op k (0 brightness, 1 contrast, 2 saturation, 3 hue) at bits 2k..2k+1
const P_ORDER: u32 = 7u;
const P_BRIGHT: u32 = 8u;
const P_CONTRAST: u32 = 9u;
const P_SAT: u32 = 10u;
const P_HUE: u32 = 11u;
const P_GRAY: u32 = 12u;
const P_SIGMA: u32 = 13u;
const P_STRIDE: u32 = 16u;

@group(0) @binding(0) var<uniform> ap: Params;
@group(0) @binding(1) var<storage, read> src_px: array<u32>;
@group(0) @binding(2) var<storage, read> vp: array<f32>;
@group(0) @binding(3) var<storage, read_write> means: array<f32>;
@group(0) @binding(3) var<storage, read> means_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> col: array<f32>;
@group(0) @binding(1) var<storage, read> col_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> tmp: array<f32>;
@group(0) @binding(1) var<storage, read> tmp_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> views_out: array<f32>;

var<workgroup> partial: array<f32, MEAN_WG>;

fn texel(img: u32, xi: u32, yi: u32) -> vec3<f32> {
  let word = src_px[(img * ap.in_h + yi) * ap.in_w + xi];
  return vec3<f32>(f32(word & 0xffu), f32((word >> 8u) & 0xffu), f32((word >> 16u) & 0xffu)) * (1.0 / 255.0);
}

// source coordinate of output index o along an axis of the crop [start, start + len)
fn crop_coord(o: u32, start: f32, len: f32) -> f32 {
  let c = start + (f32(o) + 0.5) * len / f32(ap.size) - 0.5;
  return clamp(c, start, start + len - 1.0);
}

// crop, resize and flip: the view's pixel (ox, oy) in [0, 1]
fn sample_view(pb: u32, ox: u32, oy: u32) -> vec3<f32> {
  let x0 = vp[pb + P_X0];
  let y0 = vp[pb + P_Y0];
  let cw = vp[pb + P_W];
  let ch = vp[pb + P_H];
  var fx_out = ox;
  if (vp[pb + P_FLIP] > 0.5) {
    fx_out = ap.size - 1u - ox;
  }
  let sx = crop_coord(fx_out, x0, cw);
  let sy = crop_coord(oy, y0, ch);
  let xa = floor(sx);
  let ya = floor(sy);
  let fx = sx - xa;
  let fy = sy - ya;
  let xb = min(xa + 1.0, x0 + cw - 1.0);
  let yb = min(ya + 1.0, y0 + ch - 1.0);
  let img = u32(vp[pb + P_IMAGE]);
  let top = mix(texel(img, u32(xa), u32(ya)), texel(img, u32(xb), u32(ya)), fx);
  let bottom = mix(texel(img, u32(xa), u32(yb)), texel(img, u32(xb), u32(yb)), fx);
  return mix(top, bottom, fy);
}

fn grey(c: vec3<f32>) -> f32 {
  return dot(c, vec3<f32>(0.299, 0.587, 0.114));
}

fn rgb_to_hsv(c: vec3<f32>) -> vec3<f32> {
  let mx = max(c.r, max(c.g, c.b));
  let mn = min(c.r, min(c.g, c.b));
  let chroma = mx - mn;
  var s = 0.0;
  if (mx > 0.0) {
    s = chroma / mx;
  }
  var h = 0.0;
  if (chroma > 0.0) {
    if (mx == c.r) {
      h = (c.g - c.b) / chroma;
    } else if (mx == c.g) {
      h = 2.0 + (c.b - c.r) / chroma;
    } else {
      h = 4.0 + (c.r - c.g) / chroma;
    }
    h = fract(h / 6.0 + 1.0);
  }
  return vec3<f32>(h, s, mx);
}

fn hsv_to_rgb(hsv: vec3<f32>) -> vec3<f32> {
  let h6 = hsv.x * 6.0;
  let sector = floor(h6);
  let f = h6 - sector;
  let v = hsv.z;
  let p = v * (1.0 - hsv.y);
  let q = v * (1.0 - hsv.y * f);
  let t = v * (1.0 - hsv.y * (1.0 - f));
  let k = u32(sector) % 6u;
  switch (k) {
    case 0u: { return vec3<f32>(v, t, p); }
    case 1u: { return vec3<f32>(q, v, p); }
    case 2u: { return vec3<f32>(p, v, t); }
    case 3u: { return vec3<f32>(p, q, v); }
    case 4u: { return vec3<f32>(t, p, v); }
    default: { return vec3<f32>(v, p, q); }
  }
}

// The jitter ops in the view's order. With `before_contrast`, stops where contrast would apply
// (for the mean pass); otherwise contrast blends with `grey_mean`.
fn jitter(c_in: vec3<f32>, pb: u32, grey_mean: f32, before_contrast: bool) -> vec3<f32> {
  var c = c_in;
  if (vp[pb + P_JITTER] < 0.5) {
    return c;
  }
  let code = u32(vp[pb + P_ORDER]);
  for (var k = 0u; k < 4u; k++) {
    let op = (code >> (2u * k)) & 3u;
    if (op == 0u) {
      c = clamp(c * vp[pb + P_BRIGHT], vec3<f32>(0.0), vec3<f32>(1.0));
    } else if (op == 1u) {
      if (before_contrast) {
        return c;
      }
      let fc = vp[pb + P_CONTRAST];
      c = clamp(fc * c + vec3<f32>((1.0 - fc) * grey_mean), vec3<f32>(0.0), vec3<f32>(1.0));
    } else if (op == 2u) {
      let fs = vp[pb + P_SAT];
      c = clamp(fs * c + vec3<f32>((1.0 - fs) * grey(c)), vec3<f32>(0.0), vec3<f32>(1.0));
    } else {
      let hsv = rgb_to_hsv(c);
      c = hsv_to_rgb(vec3<f32>(fract(hsv.x + vp[pb + P_HUE] + 1.0), hsv.y, hsv.z));
    }
  }
  return c;
}

@compute @workgroup_size(MEAN_WG)
fn contrast_mean(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let view = wid.x;
  let pb = view * P_STRIDE;
  let npx = ap.size * ap.size;
  var acc = 0.0;
  for (var q = lid; q < npx; q += MEAN_WG) {
    acc += grey(jitter(sample_view(pb, q % ap.size, q / ap.size), pb, 0.0, true));
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var half = MEAN_WG / 2u; half > 0u; half = half / 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    means[view] = partial[0] / f32(npx);
  }
}

@compute @workgroup_size(WG)
fn colour(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= ap.total) {
    return;
  }
  let npx = ap.size * ap.size;
  let view = i / npx;
  let q = i % npx;
  let pb = view * P_STRIDE;
  var c = jitter(sample_view(pb, q % ap.size, q / ap.size), pb, means_in[view], false);
  if (vp[pb + P_GRAY] > 0.5) {
    c = vec3<f32>(grey(c));
  }
  let base = view * 3u * npx + q;
  col[base] = c.r;
  col[base + npx] = c.g;
  col[base + 2u * npx] = c.b;
}

fn reflect_index(j: i32) -> u32 {
  let last = i32(ap.size) - 1;
  if (j < 0) {
    return u32(-j);
  }
  if (j > last) {
    return u32(2 * last - j);
  }
  return u32(j);
}

fn blur_weight(j: i32, sigma: f32) -> f32 {
  let d = f32(j) / sigma;
  return exp(-0.5 * d * d);
}

// Blur along x; one thread per pixel, all three channels (the weights are computed once per tap).
// A copy for views without blur.
@compute @workgroup_size(WG)
fn blur_h(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= ap.total) {
    return;
  }
  let s = ap.size;
  let npx = s * s;
  let view = i / npx;
  let q = i % npx;
  let x = q % s;
  // first element of this pixel's row in channel 0; channels are npx apart
  let row = view * 3u * npx + (q - x);
  let sigma = vp[view * P_STRIDE + P_SIGMA];
  if (sigma <= 0.0 || ap.radius == 0u) {
    for (var c = 0u; c < 3u; c++) {
      tmp[row + c * npx + x] = col_in[row + c * npx + x];
    }
    return;
  }
  let r = i32(ap.radius);
  var acc = vec3<f32>(0.0);
  var wsum = 0.0;
  for (var j = -r; j <= r; j++) {
    let w = blur_weight(j, sigma);
    wsum += w;
    let at = row + reflect_index(i32(x) + j);
    acc += w * vec3<f32>(col_in[at], col_in[at + npx], col_in[at + 2u * npx]);
  }
  let res = acc / wsum;
  tmp[row + x] = res.r;
  tmp[row + npx + x] = res.g;
  tmp[row + 2u * npx + x] = res.b;
}

// Blur along y, then (x - mean) / std per channel; one thread per pixel.
@compute @workgroup_size(WG)
fn blur_v(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= ap.total) {
    return;
  }
  let s = ap.size;
  let npx = s * s;
  let view = i / npx;
  let q = i % npx;
  let x = q % s;
  let y = q / s;
  let plane0 = view * 3u * npx;
  let sigma = vp[view * P_STRIDE + P_SIGMA];
  var val = vec3<f32>(tmp_in[plane0 + q], tmp_in[plane0 + npx + q], tmp_in[plane0 + 2u * npx + q]);
  if (sigma > 0.0 && ap.radius > 0u) {
    let r = i32(ap.radius);
    var acc = vec3<f32>(0.0);
    var wsum = 0.0;
    for (var j = -r; j <= r; j++) {
      let w = blur_weight(j, sigma);
      wsum += w;
      let at = plane0 + reflect_index(i32(y) + j) * s + x;
      acc += w * vec3<f32>(tmp_in[at], tmp_in[at + npx], tmp_in[at + 2u * npx]);
    }
    val = acc / wsum;
  }
  let norm = (val - vec3<f32>(ap.mean_r, ap.mean_g, ap.mean_b)) / vec3<f32>(ap.std_r, ap.std_g, ap.std_b);
  views_out[plane0 + q] = norm.r;
  views_out[plane0 + npx + q] = norm.g;
  views_out[plane0 + 2u * npx + q] = norm.b;
}
