import { expect } from 'chai';
import { matmulCase } from '../../bench/cases.js';
import { decodeProto, IR_VERSION, matmulModel, ONNX_FLOAT, OPSET_VERSION, ProtoWriter, type ProtoField } from '../../bench/onnx.js';

const text = (f: ProtoField | undefined) => new TextDecoder().decode(f!.value as Uint8Array);
const sub = (f: ProtoField | undefined) => decodeProto(f!.value as Uint8Array);
const all = (fields: ProtoField[], n: number) => fields.filter((f) => f.field === n);
const one = (fields: ProtoField[], n: number) => {
  const found = all(fields, n);
  expect(found, `field ${n}`).to.have.length(1);
  return found[0]!;
};

/** name and dims of a ValueInfoProto */
function valueInfo(f: ProtoField): { name: string; elem: number; dims: number[] } {
  const v = sub(f);
  const tensor = sub(one(sub(one(v, 2)), 1));
  const dims = all(sub(one(tensor, 2)), 1).map((d) => Number(one(sub(d), 1).value));
  return { name: text(one(v, 1)), elem: Number(one(tensor, 1).value), dims };
}

/** op type, inputs, outputs and integer attributes of every node of a model */
function nodesOf(model: Uint8Array) {
  const graph = sub(one(decodeProto(model), 7));
  return all(graph, 1).map((n) => {
    const f = sub(n);
    const attrs: Record<string, number | number[]> = {};
    for (const a of all(f, 5)) {
      const af = sub(a);
      const ints = all(af, 8).map((x) => Number(x.value));
      attrs[text(one(af, 1))] = ints.length ? ints : Number(one(af, 3).value);
    }
    return { op: text(one(f, 4)), inputs: all(f, 1).map(text), outputs: all(f, 2).map(text), attrs };
  });
}

describe('bench onnx', () => {
  it('onnx proto: varints, strings and nested messages have the protobuf wire bytes', () => {
    expect([...new ProtoWriter().varint(1, 150).finish()]).to.deep.equal([0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().varint(2, 300).finish()]).to.deep.equal([0x10, 0xac, 0x02]);
    expect([...new ProtoWriter().string(2, 'testing').finish()]).to.deep.equal([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    expect([...new ProtoWriter().message(3, (w) => w.varint(1, 150)).finish()]).to.deep.equal([0x1a, 0x03, 0x08, 0x96, 0x01]);
    const neg = new ProtoWriter().varint(1, -1).finish();
    expect(neg.length).to.equal(11);
    expect(decodeProto(neg)[0]!.value).to.equal((1n << 64n) - 1n);
  });

  it('onnx proto: decoding rejects truncated input', () => {
    expect(() => decodeProto(Uint8Array.from([0x08, 0x96]))).to.throw(/truncated/);
    expect(() => decodeProto(Uint8Array.from([0x12, 0x05, 0x61]))).to.throw(/past the end/);
  });

  it('onnx model: a plain matmul is one MatMul node with f32 inputs of static shape [2x3]x[3x4]', () => {
    const model = matmulModel(matmulCase('tiny', 1, 2, 3, 4));
    const top = decodeProto(model);
    expect(Number(one(top, 1).value)).to.equal(IR_VERSION);
    const opset = sub(one(top, 8));
    expect(text(one(opset, 1))).to.equal('');
    expect(Number(one(opset, 2).value)).to.equal(OPSET_VERSION);
    const graph = sub(one(top, 7));
    expect(text(one(graph, 2))).to.equal('tiny');
    expect(all(graph, 11).map(valueInfo)).to.deep.equal([
      { name: 'a', elem: ONNX_FLOAT, dims: [2, 3] },
      { name: 'b', elem: ONNX_FLOAT, dims: [3, 4] },
    ]);
    expect(all(graph, 12).map(valueInfo)).to.deep.equal([{ name: 'y', elem: ONNX_FLOAT, dims: [2, 4] }]);
    expect(nodesOf(model)).to.deep.equal([{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'], attrs: {} }]);
  });

  it('onnx model: transposed operands use Gemm flags in 2-D and Transpose nodes when batched [3x5x7x2 TT]', () => {
    expect(nodesOf(matmulModel(matmulCase('g', 1, 5, 7, 2, { transB: true })))).to.deep.equal([
      { op: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: { transA: 0, transB: 1 } },
    ]);
    const batched = matmulModel(matmulCase('b', 3, 5, 7, 2, { transA: true, transB: true }));
    expect(nodesOf(batched)).to.deep.equal([
      { op: 'Transpose', inputs: ['a'], outputs: ['a_t'], attrs: { perm: [0, 2, 1] } },
      { op: 'Transpose', inputs: ['b'], outputs: ['b_t'], attrs: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['a_t', 'b_t'], outputs: ['y'], attrs: {} },
    ]);
    const graph = sub(one(decodeProto(batched), 7));
    expect(all(graph, 11).map((f) => valueInfo(f).dims)).to.deep.equal([[3, 7, 5], [3, 2, 7]]);
  });
});
