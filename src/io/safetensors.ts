/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
 * bytes of JSON { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {..} },
 * then the raw little-endian tensor bytes, offsets relative to the end of the header.
 *
 * Reading converts every tensor to what our Tensors hold: floating dtypes (F32, F64, F16, BF16)
 * to f32, integer and boolean dtypes (I64, I32, I16, I8, U8, BOOL, ...) to i32 when every value
 * fits. Writing emits f32 as F32 and i32 as I64 (PyTorch's dtype for index buffers and
 * num_batches_tracked). Pure: no file system, no device (see stateDictToSafetensors for those).
 */
import type { Device } from '../runtime/device.js';
import { Tensor } from '../tensor/tensor.js';

export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

const BYTES: Record<SafeDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };
const FLOAT = new Set<SafeDType>(['F64', 'F32', 'F16', 'BF16']);

/** A tensor on the host: f32 or i32 values in row-major order, and the dtype the file stored. */
export interface HostTensor {
  shape: number[];
  data: Float32Array | Int32Array;
  /** dtype in the file (what was read) or to write; default F32 for Float32Array, I64 for Int32Array */
  dtype?: SafeDType;
}

export interface SafetensorsContents {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(source: string, message: string) {
    super(`safetensors (${source}): ${message}`);
    this.name = 'SafetensorsError';
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes one tensor's bytes; `name` goes into every error. */
function decode(source: string, name: string, dtype: SafeDType, bytes: Uint8Array, n: number): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (FLOAT.has(dtype)) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (dtype === 'F32') out[i] = view.getFloat32(4 * i, true);
      else if (dtype === 'F64') out[i] = view.getFloat64(8 * i, true);
      else if (dtype === 'F16') out[i] = halfToFloat(view.getUint16(2 * i, true));
      else {
        const scratch = new DataView(new ArrayBuffer(4));
        scratch.setUint32(0, view.getUint16(2 * i, true) << 16, true);
        out[i] = scratch.getFloat32(0, true);
      }
    }
    return out;
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number | bigint;
    switch (dtype) {
      case 'I64': v = view.getBigInt64(8 * i, true); break;
      case 'U64': v = view.getBigUint64(8 * i, true); break;
      case 'I32': v = view.getInt32(4 * i, true); break;
      case 'U32': v = view.getUint32(4 * i, true); break;
      case 'I16': v = view.getInt16(2 * i, true); break;
      case 'U16': v = view.getUint16(2 * i, true); break;
      case 'I8': v = view.getInt8(i); break;
      default: v = view.getUint8(i);
    }
    const num = Number(v);
    if (num > 2147483647 || num < -2147483648) throw new SafetensorsError(source, `tensor '${name}' (${dtype}) holds ${v} at index ${i}, outside the i32 range`);
    out[i] = num;
  }
  return out;
}

/** Parses a safetensors file's bytes. */
export function parseSafetensors(bytes: Uint8Array, source = 'input'): SafetensorsContents {
  if (bytes.byteLength < 8) throw new SafetensorsError(source, `${bytes.byteLength} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.byteLength) throw new SafetensorsError(source, `header length ${headerLen} runs past the end of the ${bytes.byteLength}-byte file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(source, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError(source, 'the header is not a JSON object');
  const data = bytes.subarray(8 + headerLen);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, HostTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) metadata[k] = String(v);
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info?.dtype as SafeDType;
    if (!(typeof dtype === 'string' && dtype in BYTES)) throw new SafetensorsError(source, `tensor '${name}' has unsupported dtype ${JSON.stringify(info?.dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(source, `tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) throw new SafetensorsError(source, `tensor '${name}' has bad data_offsets ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== n * BYTES[dtype]) throw new SafetensorsError(source, `tensor '${name}' (${dtype} [${shape.join(', ')}]) needs ${n * BYTES[dtype]} bytes, its data_offsets [${begin}, ${end}] give ${end - begin}`);
    if (end > data.byteLength) throw new SafetensorsError(source, `tensor '${name}' ends at byte ${end}, past the ${data.byteLength} data bytes`);
    tensors.set(name, { shape: shape as number[], dtype, data: decode(source, name, dtype, data.subarray(begin, end), n) });
  }
  return { tensors, metadata };
}

/** Serialises host tensors (in the map's order) and string metadata. */
export function serializeSafetensors(tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: [HostTensor, SafeDType, number][] = [];
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('output', "a tensor cannot be named '__metadata__'");
    const dtype = t.dtype ?? (t.data instanceof Int32Array ? 'I64' : 'F32');
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError('output', `tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const ok = t.data instanceof Float32Array ? dtype === 'F32' : dtype === 'I64' || dtype === 'I32';
    if (!ok) throw new SafetensorsError('output', `tensor '${name}' cannot be written as ${dtype} (f32 writes as F32, i32 as I64 or I32)`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * BYTES[dtype]] };
    parts.push([t, dtype, offset]);
    offset += n * BYTES[dtype];
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data starts 8-byte aligned (as the reference writer does)
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).byteLength) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  const base = 8 + head.byteLength;
  for (const [t, dtype, off] of parts) {
    for (let i = 0; i < t.data.length; i++) {
      const at = base + off + i * BYTES[dtype];
      if (dtype === 'F32') view.setFloat32(at, t.data[i]!, true);
      else if (dtype === 'I64') view.setBigInt64(at, BigInt(t.data[i]!), true);
      else view.setInt32(at, t.data[i]!, true);
    }
  }
  return out;
}

/** Uploads host tensors as device Tensors (f32 or i32), by name. */
export function tensorsToDevice(device: Device, tensors: ReadonlyMap<string, HostTensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) out.set(name, Tensor.from(device, t.data, t.shape, { dtype: t.data instanceof Int32Array ? 'i32' : 'f32' }));
  return out;
}

/** Reads device Tensors back as host tensors (for serializeSafetensors). */
export async function tensorsToHost(tensors: ReadonlyMap<string, Tensor>): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors) out.set(name, { shape: [...t.shape], data: await t.toArray() });
  return out;
}

/** A module's state dict (or any named tensors) as safetensors bytes: f32 as F32, i32 as I64. */
export async function stateDictToSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = { format: 'pt' }): Promise<Uint8Array> {
  return serializeSafetensors(await tensorsToHost(tensors), metadata);
}
