import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parseSafetensors, serializeSafetensors, tensorsToDevice, tensorsToHost, type HostTensor } from '../../src/io/safetensors.js';
import { sharedDevice } from '../helpers.js';

/** A file written by hand: header length, JSON header, raw bytes (what any writer produces). */
function handMade(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function bytesOf(fill: (v: DataView) => void, n: number): Uint8Array {
  const b = new Uint8Array(n);
  fill(new DataView(b.buffer));
  return b;
}

describe('safetensors', () => {
  it('safetensors: write then read keeps names, order, shapes, values and metadata', () => {
    const tensors = new Map<string, HostTensor>([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 7]) }],
      ['a.num_batches_tracked', { shape: [], data: Int32Array.from([12]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = serializeSafetensors(tensors, { format: 'pt' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8, 'data starts 8-byte aligned').to.equal(0);
    const back = parseSafetensors(bytes);
    expect([...back.tensors.keys()]).to.deep.equal(['b.weight', 'a.num_batches_tracked', 'empty']);
    expect(back.metadata).to.deep.equal({ format: 'pt' });
    expect(back.tensors.get('b.weight')!.dtype).to.equal('F32');
    expect([...back.tensors.get('b.weight')!.data]).to.deep.equal([...tensors.get('b.weight')!.data]);
    const n = back.tensors.get('a.num_batches_tracked')!;
    expect(n.dtype).to.equal('I64');
    expect(n.shape).to.deep.equal([]);
    expect(n.data).to.be.instanceOf(Int32Array);
    expect([...n.data]).to.deep.equal([12]);
    expect(back.tensors.get('empty')!.shape).to.deep.equal([0, 4]);
  });

  it('safetensors: F64, F16, BF16 convert to f32 and I64, I32, U8, BOOL to i32', () => {
    const f64 = bytesOf((v) => [1.5, -1e-3].forEach((x, i) => v.setFloat64(8 * i, x, true)), 16);
    // F16: 1.0 = 0x3c00, -2.5 = 0xc100, 2^-24 (smallest subnormal) = 0x0001; BF16: 1.0 = 0x3f80, -3.0 = 0xc040
    const f16 = bytesOf((v) => [0x3c00, 0xc100, 0x0001].forEach((x, i) => v.setUint16(2 * i, x, true)), 6);
    const bf16 = bytesOf((v) => [0x3f80, 0xc040].forEach((x, i) => v.setUint16(2 * i, x, true)), 4);
    const i64 = bytesOf((v) => [-5n, 2147483647n].forEach((x, i) => v.setBigInt64(8 * i, x, true)), 16);
    const u8 = Uint8Array.from([0, 255]);
    const parts = [f64, f16, bf16, i64, u8];
    const data = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let off = 0;
    const header: Record<string, unknown> = {};
    for (const [name, dtype, shape, p] of [['f64', 'F64', [2], f64], ['f16', 'F16', [3], f16], ['bf16', 'BF16', [2], bf16], ['i64', 'I64', [2, 1], i64], ['u8', 'BOOL', [2], u8]] as const) {
      header[name] = { dtype, shape, data_offsets: [off, off + p.length] };
      data.set(p, off);
      off += p.length;
    }
    const t = parseSafetensors(handMade(header, data)).tensors;
    expect([...t.get('f64')!.data]).to.deep.equal([1.5, Math.fround(-1e-3)]);
    expect([...t.get('f16')!.data]).to.deep.equal([1, -2.5, 2 ** -24]);
    expect([...t.get('bf16')!.data]).to.deep.equal([1, -3]);
    expect([...t.get('i64')!.data]).to.deep.equal([-5, 2147483647]);
    expect(t.get('i64')!.shape).to.deep.equal([2, 1]);
    expect([...t.get('u8')!.data]).to.deep.equal([0, 255]);
  });

  const bad: [string, () => Uint8Array, RegExp][] = [
    ['a truncated file', () => Uint8Array.from([1, 2, 3]), /safetensors \(t\): 3 bytes is too short/],
    ['a header length past the end', () => bytesOf((v) => v.setBigUint64(0, 100n, true), 16), /header length 100 runs past the end of the 16-byte file/],
    ['an unknown dtype', () => handMade({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'w' has unsupported dtype "C64"/],
    ['offsets that disagree with the shape', () => handMade({ 'layer.w': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12)), /tensor 'layer.w' \(F32 \[2, 2\]\) needs 16 bytes, its data_offsets \[0, 12\] give 12/],
    ['data past the end', () => handMade({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /tensor 'w' ends at byte 8, past the 4 data bytes/],
    ['an I64 outside the i32 range', () => handMade({ idx: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, bytesOf((v) => v.setBigInt64(0, 1n << 40n, true), 8)), /tensor 'idx' \(I64\) holds 1099511627776 at index 0, outside the i32 range/],
    ['a bad shape', () => handMade({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)), /tensor 'w' has a bad shape \[-1\]/],
  ];
  for (const [what, file, msg] of bad) {
    it(`safetensors: ${what} is an error naming the tensor`, () => {
      expect(() => parseSafetensors(file(), 't')).to.throw(msg);
    });
  }

  it('safetensors: a length mismatch on writing is an error naming the tensor', () => {
    expect(() => serializeSafetensors(new Map([['w', { shape: [3], data: new Float32Array(2) }]]))).to.throw(/tensor 'w' has 2 values for shape \[3\]/);
  });

  it('safetensors: reads the file PyTorch wrote (scripts/torch_export) and round-trips it through the device', async () => {
    const file = parseSafetensors(readFileSync('test/data/encoder/head_state.safetensors'), 'head_state');
    expect(file.metadata.format).to.equal('pt');
    expect(file.tensors.get('head.gnn.U.weight')!.shape).to.deep.equal([32, 32]);
    expect(file.tensors.get('head.class_linears.3.bn.num_batches_tracked')!.data[0]).to.equal(3);
    const d = await sharedDevice();
    const onDevice = tensorsToDevice(d, file.tensors);
    expect(onDevice.get('head.class_linears.3.bn.num_batches_tracked')!.dtype).to.equal('i32');
    const back = await tensorsToHost(onDevice);
    for (const [k, t] of file.tensors) expect([...back.get(k)!.data], k).to.deep.equal([...t.data]);
    for (const t of onDevice.values()) t.dispose();
  });
});
