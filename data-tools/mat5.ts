/**
 * A minimal reader of MATLAB Level 5 MAT-files (the `-v6`/`-v7` format, not v7.3 = HDF5): top-level
 * numeric matrices, compressed (miCOMPRESSED, zlib) or not, little- or big-endian. Enough for DISFA's
 * `Landmark_Points/**\/*_lm.mat` (variable `pts`, 66 x 2 doubles). Errors name the file.
 */
import { inflateSync } from 'node:zlib';

export interface MatMatrix {
  /** dimensions as MATLAB gives them (rows, columns, ...) */
  dims: number[];
  /** column-major real values */
  data: Float64Array;
}

const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
/** bytes per element of the numeric data types */
const SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };

function numbers(dv: DataView, off: number, type: number, n: number, le: boolean, file: string): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = off + i * SIZES[type]!;
    switch (type) {
      case 1: out[i] = dv.getInt8(o); break;
      case 2: out[i] = dv.getUint8(o); break;
      case 3: out[i] = dv.getInt16(o, le); break;
      case 4: out[i] = dv.getUint16(o, le); break;
      case 5: out[i] = dv.getInt32(o, le); break;
      case 6: out[i] = dv.getUint32(o, le); break;
      case 7: out[i] = dv.getFloat32(o, le); break;
      case 9: out[i] = dv.getFloat64(o, le); break;
      case 12: out[i] = Number(dv.getBigInt64(o, le)); break;
      case 13: out[i] = Number(dv.getBigUint64(o, le)); break;
      default: throw new Error(`${file}: unsupported MAT data type ${type}`);
    }
  }
  return out;
}

/** One data element at `off`: its type, payload range and the offset of the next element. */
function element(dv: DataView, off: number, le: boolean, file: string) {
  if (off + 8 > dv.byteLength) throw new Error(`${file}: truncated MAT element at byte ${off}`);
  const first = dv.getUint32(off, le);
  if (first >>> 16 !== 0) return { type: first & 0xffff, start: off + 4, bytes: first >>> 16, next: off + 8 };
  const bytes = dv.getUint32(off + 4, le);
  if (off + 8 + bytes > dv.byteLength) throw new Error(`${file}: MAT element at byte ${off} runs past the end of the file`);
  return { type: first, start: off + 8, bytes, next: off + 8 + ((bytes + 7) & ~7) };
}

function readMatrix(dv: DataView, start: number, end: number, le: boolean, file: string): { name: string; m: MatMatrix } | null {
  const flags = element(dv, start, le, file);
  const cls = dv.getUint32(flags.start, le) & 0xff;
  const dimsEl = element(dv, flags.next, le, file);
  const dims = [...numbers(dv, dimsEl.start, dimsEl.type, dimsEl.bytes / SIZES[dimsEl.type]!, le, file)];
  const nameEl = element(dv, dimsEl.next, le, file);
  const name = new TextDecoder().decode(new Uint8Array(dv.buffer, dv.byteOffset + nameEl.start, nameEl.bytes));
  if (cls < 6 || cls > 15) return null; // cells, structs, chars, sparse: not numeric
  if (nameEl.next >= end) throw new Error(`${file}: variable ${name} has no data`);
  const re = element(dv, nameEl.next, le, file);
  const n = dims.reduce((a, b) => a * b, 1);
  const size = SIZES[re.type];
  if (size === undefined || re.bytes !== n * size) throw new Error(`${file}: variable ${name}: ${re.bytes} data bytes for ${dims.join('x')} values of type ${re.type}`);
  return { name, m: { dims, data: numbers(dv, re.start, re.type, n, le, file) } };
}

/** Every top-level numeric matrix of a MAT v5 file, by name. */
export function readMat5(bytes: Uint8Array, file: string): Map<string, MatMatrix> {
  if (bytes.length < 128) throw new Error(`${file}: too short for a MAT-file (${bytes.length} bytes)`);
  const text = new TextDecoder().decode(bytes.subarray(0, 116));
  if (text.startsWith('MATLAB 7.3') || (bytes[0] === 0x89 && bytes[1] === 0x48)) throw new Error(`${file}: a MATLAB v7.3 (HDF5) file: not readable here`);
  const endian = String.fromCharCode(bytes[126]!, bytes[127]!);
  if (endian !== 'IM' && endian !== 'MI') throw new Error(`${file}: not a MATLAB 5 MAT-file (no endian indicator at byte 126)`);
  const le = endian === 'IM';
  const out = new Map<string, MatMatrix>();
  const walk = (buf: Uint8Array, from: number) => {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let off = from; off + 8 <= buf.length;) {
      const el = element(dv, off, le, file);
      if (el.type === MI_COMPRESSED) walk(inflateSync(buf.subarray(el.start, el.start + el.bytes)), 0);
      else if (el.type === MI_MATRIX && el.bytes > 0) {
        const got = readMatrix(dv, el.start, el.start + el.bytes, le, file);
        if (got) out.set(got.name, got.m);
      }
      off = el.type === MI_COMPRESSED ? el.start + el.bytes : el.next;
    }
  };
  walk(bytes, 128);
  return out;
}
