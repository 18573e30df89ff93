/**
 * Windowed multi-head self-attention (Swin W-MSA / SW-MSA) as one fused tape node
 * (kernels/window_attention.wgsl):
 *
 *   S = q kᵀ · scale + bias[h] + mask[b mod nW],  P = softmax(S) over the last axis,  out = P v
 *
 * windowAttentionPacked takes q, k, v as one [3, Bw, heads, T, dh] tensor and returns one packed
 * gradient; windowAttentionTokens reads Swin's qkv Linear output [Bw, T, 3, heads, dh] in place and
 * writes [Bw, T, heads, dh] (the kernels take row strides), so Swin copies neither.
 * q, k, v and out are [Bw, heads, T, dh] with Bw = batch · nW windows (window b uses mask row
 * b mod nW, as the released Swin code's `view(B_ // nW, nW, ...)` does). T ≤ 64 and dh ≤ 64.
 * The forward pass makes one pass over the keys (online softmax: running row maximum, rescaled
 * accumulator) and, when a gradient is wanted, saves the scores S and each row's log-sum-exp
 * ([Bw, heads, T, T] + [Bw, heads, T] in one buffer), not P: the backward recomputes
 * P = exp(S − lse). It runs one kernel over query rows (dS = P ⊙ (dP − rowsum(dP ⊙ P)) and dq) and
 * one over key rows (dk, dv);
 * the bias gradient is dS summed over windows by the fixed-order sum of reduce.ts (no atomics:
 * the same inputs give bit-identical gradients). The mask is a constant: it gets no gradient.
 *
 * Two families of kernels compute it, with the same saved layouts (`kernels` option):
 *   'subgroup'   kernels/window_attention.wgsl: share loaded rows among the 8 lanes of a subgroup
 *                by subgroupBroadcast (the fast pattern on lavapipe, WEBGPU_ON_CPU.md); they need
 *                subgroups of exactly 8 lanes. The default where the device has them.
 *   'workgroup'  kernels/window_attention_wg.wgsl: one workgroup per (window, head) with k and v in
 *                workgroup memory, the GPU way; they need dh % 4 == 0 and 2·T·dh·4 + 256 bytes of
 *                workgroup memory. The default elsewhere.
 * Where neither can run, windowAttention throws and attentionUnfused (src/nn/attention_unfused.ts)
 * computes the same.
 * Swin helpers (relative-position index, bias gather, shift mask): src/ops/window_attention_swin.ts.
 */
import type { Device } from '../runtime/device.js';
import { shapeStr } from '../tensor/shape.js';
import { needsGrad, record } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { sum } from './reduce.js';
import { sliceAxis } from './slice.js';
import { checkInputs, grid1d, kernel } from './support.js';

const FILE = 'window_attention.wgsl';
const WG_FILE = 'window_attention_wg.wgsl';
/** invocations per workgroup: 8 subgroups of 8 lanes, each owning 8 or 16 rows of one (window, head) */
const WG = 64;
const LANES = 8;
/** storage buffers bound by the forward and backward_rows entry points */
const STORAGE_BUFFERS = 9;
/** limits of the kernels: a lane keeps a row of T scores and of dh values in private memory */
export const WINDOW_ATTENTION_MAX_T = 64;
export const WINDOW_ATTENTION_MAX_DH = 64;

export interface WindowAttentionOptions {
  /** multiplies q kᵀ (Swin: head_dim ** -0.5) */
  scale: number;
  /** [heads, T, T] added to every window's scores (the gathered relative-position bias); differentiable */
  bias?: Tensor;
  /** [nW, T, T] added to window b's scores at row b mod nW (the shift mask, 0 / -100); constant */
  mask?: Tensor;
  /** read rows as vec4 (default: when dh % 4 == 0; false forces the scalar loads, for tests and benchmarks) */
  vec4?: boolean;
  /** rows per lane in every kernel, 1 or 2 (default: defaultRows); for tests and benchmarks */
  rows?: 1 | 2;
  /** which kernels (default: windowAttentionKernels); for tests and benchmarks */
  kernels?: WindowAttentionKernels;
}

/** The two kernel families (see the file comment). */
export type WindowAttentionKernels = 'subgroup' | 'workgroup';

/** storage buffers bound by the workgroup kernels' forward */
const WG_STORAGE_BUFFERS = 7;
/** workgroup memory of the workgroup kernels, in bytes: the two [T, dh] blocks and 64 row values */
const wgSharedBytes = (t: number, dh: number) => 2 * t * dh * 4 + 256;

type Entry = 'forward' | 'backward_rows' | 'backward_cols';

/**
 * Rows per lane of each kernel (ROWS): 2 puts 16 rows on a subgroup, so that each loaded and
 * broadcast k/v/q/dO value feeds two rows, at the price of twice the accumulators per lane. On
 * lavapipe at T = 49, dh = 32 (one thread, same run) it made backward_cols ~1.2x faster and
 * forward and backward_rows ~5% slower; so 2 for backward_cols only, where T > 8.
 */
export function defaultRows(entry: Entry, t: number): 1 | 2 {
  return entry === 'backward_cols' && t > LANES ? 2 : 1;
}

/** Why one kernel family cannot run a [.., T, dh] problem on a device, or null when it can. */
export function windowAttentionKernelsUnsupported(device: Device, kernels: WindowAttentionKernels, t: number, dh: number): string | null {
  const buffers = device.limits.maxStorageBuffersPerShaderStage ?? 8;
  if (kernels === 'subgroup') {
    const min = device.adapter.subgroupMinSize;
    const max = device.adapter.subgroupMaxSize;
    if (!device.has('subgroups') || min === null) return 'the subgroup window attention kernels need the subgroups feature';
    if (min !== LANES || max !== LANES) return `the subgroup window attention kernels need subgroups of exactly ${LANES} lanes (this adapter: ${min}-${max})`;
    if (buffers < STORAGE_BUFFERS) return `the subgroup window attention kernels bind ${STORAGE_BUFFERS} storage buffers; this device allows ${buffers}`;
    return null;
  }
  if (dh % 4 !== 0) return `the workgroup window attention kernels need dh % 4 == 0, got dh = ${dh}`;
  const shared = device.limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (wgSharedBytes(t, dh) > shared) return `the workgroup window attention kernels need ${wgSharedBytes(t, dh)} bytes of workgroup memory at T = ${t}, dh = ${dh}; this device allows ${shared}`;
  const invocations = device.limits.maxComputeInvocationsPerWorkgroup ?? 256;
  if (invocations < WG) return `the workgroup window attention kernels need workgroups of ${WG} invocations; this device allows ${invocations}`;
  if (buffers < WG_STORAGE_BUFFERS) return `the workgroup window attention kernels bind ${WG_STORAGE_BUFFERS} storage buffers; this device allows ${buffers}`;
  return null;
}

/** The kernel family windowAttention uses by default: 'subgroup' where it can run, else 'workgroup'. */
export function windowAttentionKernels(device: Device, t: number, dh: number): WindowAttentionKernels {
  return windowAttentionKernelsUnsupported(device, 'subgroup', t, dh) === null ? 'subgroup' : 'workgroup';
}

/**
 * Why the fused kernels cannot run on a device, or null when one family can: for a [.., T, dh]
 * problem, or without a shape for Swin's usual windows (T = 49, dh = 32).
 */
export function windowAttentionUnsupported(device: Device, shape: { t: number; dh: number } = { t: 49, dh: 32 }): string | null {
  const sub = windowAttentionKernelsUnsupported(device, 'subgroup', shape.t, shape.dh);
  if (sub === null) return null;
  const wg = windowAttentionKernelsUnsupported(device, 'workgroup', shape.t, shape.dh);
  return wg === null ? null : `${sub}; ${wg}`;
}

interface Dims {
  bw: number;
  heads: number;
  t: number;
  dh: number;
  nw: number;
}

/** Checks every shape and option before anything is dispatched; returns the dimensions. */
function checkShapes(q: Tensor, k: Tensor, v: Tensor, opts: WindowAttentionOptions): Dims {
  const op = 'windowAttention';
  const all = `q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`;
  if (q.rank !== 4) throw new RangeError(`${op}: q must be [Bw, heads, T, dh], got ${all}`);
  if (!q.shape.every((d, i) => d === k.shape[i] && d === v.shape[i]) || k.rank !== 4 || v.rank !== 4) {
    throw new RangeError(`${op}: q, k and v must have the same shape [Bw, heads, T, dh], got ${all}`);
  }
  return checkDims(q.shape, opts, op, all);
}

/** The checks of one [Bw, heads, T, dh] shape and of the options; `all` describes the operands. */
function checkDims(shape: readonly number[], opts: WindowAttentionOptions, op: string, all: string): Dims {
  const [bw, heads, t, dh] = shape as [number, number, number, number];
  if (t < 1 || t > WINDOW_ATTENTION_MAX_T) throw new RangeError(`${op}: T must be in 1..${WINDOW_ATTENTION_MAX_T}, got ${all}`);
  if (dh < 1 || dh > WINDOW_ATTENTION_MAX_DH) throw new RangeError(`${op}: dh must be in 1..${WINDOW_ATTENTION_MAX_DH}, got ${all}`);
  if (heads < 1) throw new RangeError(`${op}: heads must be >= 1, got ${all}`);
  if (!Number.isFinite(opts.scale)) throw new RangeError(`${op}: scale must be finite, got ${opts.scale}`);
  const b = opts.bias;
  if (b && (b.rank !== 3 || b.shape[0] !== heads || b.shape[1] !== t || b.shape[2] !== t)) {
    throw new RangeError(`${op}: bias must be [heads, T, T] = [${heads}, ${t}, ${t}], got ${shapeStr(b.shape)} (${all})`);
  }
  const m = opts.mask;
  let nw = 1;
  if (m) {
    if (m.rank !== 3 || m.shape[1] !== t || m.shape[2] !== t || m.shape[0]! < 1) {
      throw new RangeError(`${op}: mask must be [nW, T, T] with T = ${t}, got ${shapeStr(m.shape)} (${all})`);
    }
    nw = m.shape[0]!;
    if (bw % nw !== 0) throw new RangeError(`${op}: Bw = ${bw} windows is not a multiple of the mask's nW = ${nw} (mask ${shapeStr(m.shape)}, ${all})`);
  }
  return { bw, heads, t, dh, nw };
}

/** Attention over windows; see the file comment. Returns [Bw, heads, T, dh]. */
export function windowAttention(q: Tensor, k: Tensor, v: Tensor, opts: WindowAttentionOptions): Tensor {
  const op = 'windowAttention';
  const extra = [opts.bias, opts.mask].filter((x): x is Tensor => x !== undefined);
  const device = checkInputs(op, [q, k, v, ...extra]);
  const d = checkShapes(q, k, v, opts);
  const layout = { kOff: 0, vOff: 0, qStrides: headsMajor(d), oStrides: headsMajor(d), outShape: [...q.shape] };
  return fused(device, d, opts, [q, k, v], { q: q.buffer, k: k.buffer, v: v.buffer, ...layout }, () => {
    const dq = Tensor.empty(device, q.shape);
    const dk = Tensor.empty(device, q.shape);
    const dv = Tensor.empty(device, q.shape);
    const keepIf = (g: Tensor, t: Tensor) => (t.requiresGrad ? g : (g.dispose(), null));
    return { dq: dq.buffer, dk: dk.buffer, dv: dv.buffer, grads: () => [keepIf(dq, q), keepIf(dk, k), keepIf(dv, v)] };
  });
}

/**
 * windowAttention of q, k, v packed as one [3, Bw, heads, T, dh] tensor (q, k, v = qkv[0], [1],
 * [2]: the layout Swin's qkv Linear gives after its permute). The kernels read the three parts
 * at offsets in the one buffer and write one [3, Bw, heads, T, dh] gradient, where splitting
 * qkv into three tensors would cost, in the backward, a zero-filled full-size gradient per part,
 * a strided write into each and two additions.
 */
export function windowAttentionPacked(qkv: Tensor, opts: WindowAttentionOptions): Tensor {
  const op = 'windowAttentionPacked';
  const extra = [opts.bias, opts.mask].filter((x): x is Tensor => x !== undefined);
  const device = checkInputs(op, [qkv, ...extra]);
  if (qkv.rank !== 5 || qkv.shape[0] !== 3) throw new RangeError(`${op}: qkv must be [3, Bw, heads, T, dh], got ${shapeStr(qkv.shape)}`);
  const part = qkv.shape.slice(1);
  const d = checkDims(part, opts, op, `qkv ${shapeStr(qkv.shape)}`);
  const n = part.reduce((a, b) => a * b, 1);
  const layout = { kOff: n, vOff: 2 * n, qStrides: headsMajor(d), oStrides: headsMajor(d), outShape: part };
  return fused(device, d, opts, [qkv], { q: qkv.buffer, k: qkv.buffer, v: qkv.buffer, ...layout }, () => {
    const dqkv = Tensor.empty(device, qkv.shape);
    return { dq: dqkv.buffer, dk: dqkv.buffer, dv: null, grads: () => [dqkv] };
  });
}

/**
 * windowAttention of Swin's qkv Linear output read in place: qkv [Bw, T, 3, heads, dh] (the
 * released code's `qkv(x).reshape(B_, N, 3, heads, C // heads)` before its permute) and the output
 * [Bw, T, heads, dh] (before its `transpose(1, 2)`), so that neither the permute of qkv nor the
 * transpose of the output is copied, forward or backward. The gradient is one
 * [Bw, T, 3, heads, dh] tensor.
 */
export function windowAttentionTokens(qkv: Tensor, opts: WindowAttentionOptions): Tensor {
  const op = 'windowAttentionTokens';
  const extra = [opts.bias, opts.mask].filter((x): x is Tensor => x !== undefined);
  const device = checkInputs(op, [qkv, ...extra]);
  if (qkv.rank !== 5 || qkv.shape[2] !== 3) throw new RangeError(`${op}: qkv must be [Bw, T, 3, heads, dh], got ${shapeStr(qkv.shape)}`);
  const [bw, t, , heads, dh] = qkv.shape as [number, number, number, number, number];
  const d = checkDims([bw, heads, t, dh], opts, op, `qkv ${shapeStr(qkv.shape)}`);
  const c = heads * dh;
  const layout = { kOff: c, vOff: 2 * c, qStrides: [t * 3 * c, dh, 3 * c] as const, oStrides: [t * c, dh, c] as const, outShape: [bw, t, heads, dh] };
  return fused(device, d, opts, [qkv], { q: qkv.buffer, k: qkv.buffer, v: qkv.buffer, ...layout }, () => {
    const dqkv = Tensor.empty(device, qkv.shape);
    return { dq: dqkv.buffer, dk: dqkv.buffer, dv: null, grads: () => [dqkv] };
  });
}

interface Sources {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** where k and v start in their buffers, in values (N and 2 N in a packed qkv) */
  kOff: number;
  vOff: number;
  /** strides (in values) of window, head and row in q, k, v and their gradients */
  qStrides: Strides;
  /** the same in the output and its gradient */
  oStrides: Strides;
  outShape: number[];
}

type Strides = readonly [window: number, head: number, row: number];

/** The strides of a [Bw, heads, T, dh] tensor. */
const headsMajor = (d: Dims): Strides => [d.heads * d.t * d.dh, d.t * d.dh, d.dh];

/** The kernels' uniform fields for the layouts of a call. */
function layoutParams(src: Sources) {
  const [q_sb, q_sh, q_st] = src.qStrides;
  const [o_sb, o_sh, o_st] = src.oStrides;
  return { k_off: src.kOff, v_off: src.vOff, q_sb, q_sh, q_st, o_sb, o_sh, o_st };
}

/** The gradients' buffers (dv null: dk and dv share dk's buffer, packed) and their tensors. */
interface Targets {
  dq: GPUBuffer;
  dk: GPUBuffer;
  dv: GPUBuffer | null;
  grads: () => (Tensor | null)[];
}

/** The buffers of one fused call that both kernel families read and write. */
interface Io {
  src: Sources;
  bias: Tensor | undefined;
  mask: Tensor | undefined;
  out: GPUBuffer;
  /** the scores and row log-sum-exps, when a gradient is wanted */
  saved: GPUBuffer | null;
}

/** What one kernel family dispatches: the forward now, the backward on the tape. */
interface Family {
  forward(io: Io): void;
  backward(io: Io, dy: GPUBuffer, ds: GPUBuffer, t: Targets): void;
}

/** The fused forward, and the backward on the tape: `qkvInputs` are the tensors q, k, v come from. */
function fused(device: Device, d: Dims, opts: WindowAttentionOptions, qkvInputs: Tensor[], src: Sources, targets: () => Targets): Tensor {
  const op = 'windowAttention';
  const kind = opts.kernels ?? windowAttentionKernels(device, d.t, d.dh);
  if (kind !== 'subgroup' && kind !== 'workgroup') throw new RangeError(`${op}: kernels must be 'subgroup' or 'workgroup', got ${String(kind)}`);
  const why = opts.kernels ? windowAttentionKernelsUnsupported(device, kind, d.t, d.dh) : windowAttentionUnsupported(device, d);
  if (why) throw new Error(`${op}: ${why} (${device.name}); use attentionUnfused`);
  if (opts.rows !== undefined && opts.rows !== 1 && opts.rows !== 2) throw new RangeError(`${op}: rows must be 1 or 2, got ${String(opts.rows)}`);
  const bias = opts.bias;
  const inputs = bias ? [...qkvInputs, bias] : qkvInputs;
  // row stride of the saved scores and of dscore (see kernels/window_attention.wgsl)
  const tp = Math.ceil(d.t / 4) * 4;
  const train = needsGrad(inputs);
  const family = kind === 'subgroup' ? subgroupFamily(device, d, opts, src, tp, train) : workgroupFamily(device, d, opts, src, tp, train);
  const out = Tensor.empty(device, src.outShape);
  const saved = train ? Tensor.empty(device, [d.bw * d.heads * d.t * (tp + 1)]) : null;
  const io: Io = { src, bias, mask: opts.mask, out: out.buffer, saved: saved?.buffer ?? null };
  if (d.bw > 0) family.forward(io);
  return record(op, inputs, out, (dy) => {
    const t = targets();
    const ds = Tensor.empty(device, [d.bw, d.heads, d.t, tp]);
    if (d.bw > 0) family.backward(io, dy.buffer, ds.buffer, t);
    const dbias = bias?.requiresGrad ? biasGrad(ds, d, bias) : null;
    ds.dispose();
    return [...t.grads(), ...(bias ? [dbias] : [])];
  });
}

/** The bias gradient: dscore ([Bw, heads, T, tp]) summed over windows, 4 values at a time, then the padding dropped. */
function biasGrad(ds: Tensor, d: Dims, bias: Tensor): Tensor {
  const tp = ds.shape[3]!;
  const flat = ds.view([d.bw, d.heads * d.t * tp]);
  const summed = sum(flat, 0);
  const rows = summed.view([d.heads, d.t, tp]);
  const cut = tp === d.t ? rows : sliceAxis(rows, 2, 0, d.t);
  const dbias = cut.view(bias.shape);
  for (const x of new Set([summed, rows, cut])) x.dispose();
  flat.dispose();
  return dbias;
}

/** The subgroup kernels (kernels/window_attention.wgsl): 8 * ROWS rows of one (window, head) per subgroup. */
function subgroupFamily(device: Device, d: Dims, opts: WindowAttentionOptions, src: Sources, tp: number, train: boolean): Family {
  const nc = Math.ceil(d.dh / 32);
  const vec4 = opts.vec4 ?? d.dh % 4 === 0;
  if (vec4 && d.dh % 4 !== 0) throw new RangeError(`windowAttention: vec4 needs dh % 4 == 0, got dh = ${d.dh}`);
  /** the work split of one kernel */
  const split = (entry: Entry) => {
    const rows = opts.rows ?? defaultRows(entry, d.t);
    const blocks = Math.ceil(d.t / (LANES * rows));
    const tasks = d.bw * d.heads * blocks;
    const params = { tasks, blocks, heads: d.heads, t: d.t, dh: d.dh, nw: d.nw, scale: opts.scale, tp, ...layoutParams(src) };
    return { rows, params, groups: grid1d(device, tasks, WG / LANES) };
  };
  return {
    forward(io) {
      const f = split('forward');
      device.dispatch(kernel(device, FILE, 'forward', { WG, NC: nc, ROWS: f.rows, HAS_BIAS: !!io.bias, HAS_MASK: !!io.mask, SAVE_P: train, VEC4: vec4 }), {
        buffers: {
          q: src.q,
          k: src.k,
          v: src.v,
          bias: io.bias?.buffer ?? device.dummyBuffer(),
          mask: io.mask?.buffer ?? device.dummyBuffer(),
          o: io.out,
          saved: io.saved ?? device.dummyBuffer(true),
          k4: src.k,
          v4: src.v,
        },
        uniforms: { p: f.params },
        workgroups: f.groups,
      });
    },
    backward(io, dy, ds, t) {
      const r = split('backward_rows');
      device.dispatch(kernel(device, FILE, 'backward_rows', { WG, NC: nc, ROWS: r.rows, VEC4: vec4 }), {
        buffers: { rk: src.k, rv: src.v, ro: io.out, rdo: dy, rs: io.saved!, dscore: ds, dq: t.dq, rk4: src.k, rv4: src.v },
        uniforms: { bp: r.params },
        workgroups: r.groups,
      });
      const c = split('backward_cols');
      device.dispatch(kernel(device, FILE, 'backward_cols', { WG, NC: nc, ROWS: c.rows, VEC4: vec4, PACKED: t.dv === null }), {
        buffers: { cq: src.q, cdo: dy, cs: io.saved!, cds: ds, dk: t.dk, dv: t.dv ?? device.dummyBuffer(true), cq4: src.q, cdo4: dy },
        uniforms: { cp: c.params },
        workgroups: c.groups,
      });
    },
  };
}

/**
 * The workgroup kernels (kernels/window_attention_wg.wgsl): one workgroup per (window, head), the
 * same saved scores, lse and dscore layouts as the subgroup kernels.
 */
function workgroupFamily(device: Device, d: Dims, opts: WindowAttentionOptions, src: Sources, tp: number, train: boolean): Family {
  const tasks = d.bw * d.heads;
  const params = { tasks, blocks: 1, heads: d.heads, t: d.t, dh: d.dh, nw: d.nw, scale: opts.scale, tp, ...layoutParams(src) };
  const groups = grid1d(device, tasks, 1);
  const kv4 = (d.t * d.dh) / 4;
  return {
    forward(io) {
      device.dispatch(kernel(device, WG_FILE, 'forward', { WG, KV4: kv4, HAS_BIAS: !!io.bias, HAS_MASK: !!io.mask, SAVE_P: train }), {
        buffers: {
          q4: src.q,
          k4: src.k,
          v4: src.v,
          bias: io.bias?.buffer ?? device.dummyBuffer(),
          mask: io.mask?.buffer ?? device.dummyBuffer(),
          o4: io.out,
          saved: io.saved ?? device.dummyBuffer(true),
        },
        uniforms: { p: params },
        workgroups: groups,
      });
    },
    backward(io, dy, ds, t) {
      device.dispatch(kernel(device, WG_FILE, 'backward_rows', { WG, KV4: kv4 }), {
        buffers: { rk4: src.k, rv4: src.v, ro4: io.out, rdo4: dy, rs: io.saved!, dscore: ds, dq4: t.dq },
        uniforms: { bp: params },
        workgroups: groups,
      });
      device.dispatch(kernel(device, WG_FILE, 'backward_cols', { WG, KV4: kv4, PACKED: t.dv === null }), {
        buffers: { cq4: src.q, cdo4: dy, cs: io.saved!, cds: ds, dk4: t.dk, dv4: t.dv ?? device.dummyBuffer(true) },
        uniforms: { cp: params },
        workgroups: groups,
      });
    },
  };
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Fused windowed attention with this tensor as q (see windowAttention()). */
    windowAttention(k: Tensor, v: Tensor, opts: WindowAttentionOptions): Tensor;
  }
}

Tensor.prototype.windowAttention = function (k: Tensor, v: Tensor, opts: WindowAttentionOptions) { return windowAttention(this, k, v, opts); };
