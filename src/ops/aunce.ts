/**
 * The AUNCE contrastive loss as one fused tape node (kernels/aunce.wgsl; spec
 * ../shared/AUNCE_SPEC.md §3-§5): a forward kernel that forms each AU's Gram matrix and every
 * anchor's log P, log Q and ℓ, a finalize kernel for the per-AU means and the scalar, and a backward
 * kernel that builds G + Gᵀ from the saved statistics and multiplies it with Z. Saved between the
 * passes: C [K, N, N] and five numbers per anchor and AU (spec §5.8). With `normalize` the input
 * is the raw encoder output f and z = f / max(‖f‖, eps) happens inside (spec §5.6).
 *
 * Both semantics and every option of src/ref/aunce.ts except `centroidRenormalise` (not bilinear
 * in Z, spec §5.5): that one is available in src/losses/aunce_unfused.ts.
 */
import type { Device } from '../runtime/device.js';
import type { AunceOptions } from '../ref/aunce.js';
import { resolveAunce, type Labels } from '../losses/aunce_options.js';
import { record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'aunce.wgsl';
const WG = 64;
const ROWS = 16;
const STAT = 5;
/** storage buffers bound by the backward entry point */
const STORAGE_BUFFERS = 9;

/** How the fused kernels share values inside a subgroup (see kernels/aunce.wgsl). */
export type AunceVariant = 'broadcast' | 'shuffle';

export interface AunceGpuOptions extends AunceOptions {
  /** z is the raw encoder output: normalise each row inside the kernels (F.normalize, eps below) */
  normalize?: boolean;
  /** F.normalize's eps (default 1e-12) */
  eps?: number;
  /** force a variant (default: broadcast on subgroups of exactly 8 lanes, shuffle otherwise) */
  variant?: AunceVariant;
}

/** What the forward pass saved, read back (for explanations and checks). */
export interface AunceInspect {
  loss: number;
  /** [K] unweighted mean of ℓ over the N anchors */
  perAU: Float32Array;
  /** [N*K], index a*K + k */
  perAnchor: Float32Array;
  /** [K*N*N]: C_k[a][b] at k*N*N + a*N + b (of the normalised rows with `normalize`) */
  gram: Float32Array;
  /** [N*K] each; logQ is -Infinity for an anchor without negatives */
  logP: Float32Array;
  logQ: Float32Array;
  logD: Float32Array;
  /** [N*K] selected positive for max, min and aug; -1 for centroid and mean */
  argIdx: Int32Array;
}

export interface AunceGpuResult {
  /** rank 0, differentiable with respect to z */
  loss: Tensor;
  /** [K] unweighted mean of ℓ over the anchors (no gradient) */
  perAU: Tensor;
  /** rejects, naming view, image and AU, if a feature row was not finite (or its norm overflowed) */
  check(): Promise<void>;
  inspect(): Promise<AunceInspect>;
  dispose(): void;
}

/** The variant the fused kernels can use on a device, or why they cannot run there. */
export function aunceVariant(device: Device, forced?: AunceVariant): AunceVariant | string {
  const min = device.adapter.subgroupMinSize;
  const max = device.adapter.subgroupMaxSize;
  if (!device.has('subgroups') || min === null || max === null) return 'the fused AUNCE kernels need the subgroups feature';
  if (min < 8 || max % 8 !== 0 || min % 8 !== 0) return `the fused AUNCE kernels need subgroups of a multiple of 8 lanes (this adapter: ${min}-${max})`;
  const buffers = device.limits.maxStorageBuffersPerShaderStage ?? 8;
  if (buffers < STORAGE_BUFFERS) return `the fused AUNCE kernels bind ${STORAGE_BUFFERS} storage buffers; this device allows ${buffers}`;
  if (forced === 'broadcast' && !(min === 8 && max === 8)) return `the broadcast variant needs subgroups of exactly 8 lanes (this adapter: ${min}-${max})`;
  return forced ?? (min === 8 && max === 8 ? 'broadcast' : 'shuffle');
}

/** The AUNCE loss of features z [2B, K, D] (views stacked, spec §1) and labels [B][K] in {0, 1}. */
export function aunceLoss(z: Tensor, labels: Labels, opts: AunceGpuOptions): AunceGpuResult {
  const device = checkInputs('aunceLoss', [z]);
  const r = resolveAunce('aunceLoss', z.shape, labels, opts);
  if (r.centroidRenormalise) {
    throw new Error('aunceLoss: centroidRenormalise is not bilinear in Z (spec §5.5), so the fused kernels do not have it; use aunceLossUnfused');
  }
  const eps = opts.eps ?? 1e-12;
  if (!(eps > 0 && Number.isFinite(eps))) throw new RangeError(`aunceLoss: eps must be finite and > 0, got ${eps}`);
  const variant = aunceVariant(device, opts.variant);
  if (variant !== 'broadcast' && variant !== 'shuffle') throw new Error(`aunceLoss: ${variant} (${device.name}); use aunceLossUnfused`);
  const { N, B, K, D } = r;
  const normalize = !!opts.normalize;
  const np = Math.ceil(N / 4) * 4;
  const overrides = { WG, VEC4: D % 4 === 0, SHUFFLE: variant === 'shuffle' };
  const params = {
    n: N,
    nb: B,
    k: K,
    d: D,
    np,
    inv_tau: 1 / r.tau,
    log_n: Math.log(N),
    eps,
    official: r.official ? 1 : 0,
    r2: r.r2 ? 1 : 0,
    excl_partner: r.excludePartner ? 1 : 0,
    normalize: normalize ? 1 : 0,
  };
  const infoData = new Int32Array(B * K + N * K);
  infoData.set(r.labels);
  infoData.set(r.types, B * K);
  const info = Tensor.from(device, infoData, [infoData.length], { dtype: 'i32' });
  const scalData = new Float32Array(3 * K + 1);
  scalData.set(r.beta);
  scalData.set(r.coef, 2 * K);
  scalData[3 * K] = 1;
  const scal = Tensor.from(device, scalData, [scalData.length]);
  const norms = normalize ? Tensor.empty(device, [N * K]) : null;
  const cmat = Tensor.empty(device, [K, N, N]);
  const stats = Tensor.empty(device, [N * K * STAT]);
  const loss = Tensor.empty(device, []);
  const perAU = Tensor.empty(device, [K]);
  const status = Tensor.empty(device, [K], 'i32');
  const normsBuf = norms?.buffer ?? device.dummyBuffer(true);
  const shared = { z: z.buffer, z4: z.buffer, scal: scal.buffer, norms: normsBuf };
  if (norms) {
    device.dispatch(kernel(device, FILE, 'row_norms', overrides), {
      buffers: { z: z.buffer, z4: z.buffer, norms: norms.buffer },
      uniforms: { p: params },
      workgroups: grid1d(device, N * K, WG),
    });
  }
  const blocks = Math.ceil(N / ROWS);
  device.dispatch(kernel(device, FILE, 'forward', overrides), {
    buffers: { ...shared, info: info.buffer, cmat: cmat.buffer, stats: stats.buffer },
    uniforms: { p: params },
    workgroups: [blocks, K, 1],
  });
  device.dispatch(kernel(device, FILE, 'finalize', overrides), {
    buffers: { scal: scal.buffer, cmat: cmat.buffer, stats: stats.buffer, loss: loss.buffer, perau: perAU.buffer, status: status.buffer },
    uniforms: { p: params },
    workgroups: [1, 1, 1],
  });

  record('aunceLoss', [z], loss, (dy) => {
    device.copyBuffer(dy.buffer, 0, scal.buffer, 3 * K * 4, 4);
    const dz = Tensor.empty(device, z.shape);
    const hbuf = Tensor.empty(device, [K * N * np]);
    device.dispatch(kernel(device, FILE, 'backward', overrides), {
      buffers: { ...shared, info: info.buffer, cmat: cmat.buffer, stats: stats.buffer, hbuf: hbuf.buffer, dz: dz.buffer },
      uniforms: { p: params },
      workgroups: [blocks, K, 1],
    });
    hbuf.dispose();
    return [dz];
  });

  const saved = [info, scal, cmat, stats, status, ...(norms ? [norms] : [])];
  const check = async (): Promise<void> => {
    const bad = await status.toArray();
    for (let k = 0; k < K; k++) {
      const a = bad[k]!;
      if (a < N) {
        throw new RangeError(
          `aunceLoss: the feature of anchor ${a} (view ${a < B ? 1 : 2}, image ${a % B}), AU ${k} is not finite or its squared norm overflows f32; features must be finite`,
        );
      }
    }
  };
  return {
    loss,
    perAU,
    check,
    async inspect(): Promise<AunceInspect> {
      await check();
      const st = await stats.toFloat32();
      const logP = new Float32Array(N * K);
      const logQ = new Float32Array(N * K);
      const logD = new Float32Array(N * K);
      const perAnchor = new Float32Array(N * K);
      const argIdx = new Int32Array(N * K);
      for (let i = 0; i < N * K; i++) {
        logP[i] = st[i * STAT]!;
        logQ[i] = st[i * STAT + 1]!;
        perAnchor[i] = st[i * STAT + 2]!;
        logD[i] = logP[i]! + perAnchor[i]!;
        argIdx[i] = st[i * STAT + 4]!;
      }
      return { loss: await loss.item(), perAU: await perAU.toFloat32(), perAnchor, gram: await cmat.toFloat32(), logP, logQ, logD, argIdx };
    },
    dispose(): void {
      for (const t of saved) t.dispose();
      loss.dispose();
      perAU.dispose();
    },
  };
}
