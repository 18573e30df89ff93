/**
 * Just enough protobuf to write a one-node ONNX model for the onnxruntime runner (and to read one
 * back, for tests): varints, length-delimited fields and nested messages. Field numbers are those
 * of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto, ...).
 */
import { operandShapes, type MatmulCase } from './cases.js';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Builds one protobuf message; nested messages are written by a callback on a child writer. */
export class ProtoWriter {
  private readonly parts: number[] = [];

  private rawVarint(v: number | bigint): void {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n; // negative int64: two's complement, ten bytes
    do {
      const low = Number(x & 0x7fn);
      x >>= 7n;
      this.parts.push(x > 0n ? low | 0x80 : low);
    } while (x > 0n);
  }

  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(data.length);
    for (const b of data) this.parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    build(child);
    return this.bytes(field, child.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface ProtoField {
  field: number;
  wire: number;
  /** the varint (wire 0) or the payload (wire 2) */
  value: bigint | Uint8Array;
}

/** Splits a message into its fields (varint and length-delimited only, which is all ONNX uses here). */
export function decodeProto(data: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= data.length) throw new RangeError('decodeProto: truncated varint');
      const b = data[at++]!;
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
    }
  };
  while (at < data.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === WIRE_VARINT) out.push({ field, wire, value: varint() });
    else if (wire === WIRE_LEN) {
      const n = Number(varint());
      if (at + n > data.length) throw new RangeError(`decodeProto: field ${field} runs past the end`);
      out.push({ field, wire, value: data.subarray(at, at + n) });
      at += n;
    } else throw new RangeError(`decodeProto: unsupported wire type ${wire} (field ${field})`);
  }
  return out;
}

// onnx.proto field numbers.
const MODEL = { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 };
const OPSET = { domain: 1, version: 2 };
const GRAPH = { node: 1, name: 2, input: 11, output: 12 };
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 };
const ATTRIBUTE = { name: 1, i: 3, ints: 8, type: 20 };
const ATTRIBUTE_TYPE = { INT: 2, INTS: 7 };
const VALUE_INFO = { name: 1, type: 2 };
const TYPE = { tensorType: 1 };
const TENSOR_TYPE = { elemType: 1, shape: 2 };
const SHAPE = { dim: 1 };
const DIM = { dimValue: 1 };
export const ONNX_FLOAT = 1;

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number | number[]>;
}

export interface OnnxValue {
  name: string;
  shape: number[];
}

function valueInfo(w: ProtoWriter, v: OnnxValue): void {
  w.string(VALUE_INFO.name, v.name).message(VALUE_INFO.type, (t) =>
    t.message(TYPE.tensorType, (tt) =>
      tt.varint(TENSOR_TYPE.elemType, ONNX_FLOAT).message(TENSOR_TYPE.shape, (s) => {
        for (const d of v.shape) s.message(SHAPE.dim, (dim) => dim.varint(DIM.dimValue, d));
      }),
    ),
  );
}

/** A model of f32 tensors: the nodes in order, the graph inputs and outputs with static shapes. */
export function encodeModel(name: string, nodes: OnnxNode[], inputs: OnnxValue[], outputs: OnnxValue[]): Uint8Array {
  return new ProtoWriter()
    .varint(MODEL.irVersion, IR_VERSION)
    .string(MODEL.producerName, 'aunce-bench')
    .message(MODEL.opsetImport, (o) => o.string(OPSET.domain, '').varint(OPSET.version, OPSET_VERSION))
    .message(MODEL.graph, (g) => {
      nodes.forEach((n, i) =>
        g.message(GRAPH.node, (w) => {
          for (const x of n.inputs) w.string(NODE.input, x);
          for (const x of n.outputs) w.string(NODE.output, x);
          w.string(NODE.name, `${n.opType.toLowerCase()}_${i}`).string(NODE.opType, n.opType);
          for (const [attr, v] of Object.entries(n.ints ?? {})) {
            w.message(NODE.attribute, (a) => {
              a.string(ATTRIBUTE.name, attr);
              if (typeof v === 'number') a.varint(ATTRIBUTE.i, v).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.INT);
              else {
                for (const x of v) a.varint(ATTRIBUTE.ints, x);
                a.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.INTS);
              }
            });
          }
        }),
      );
      g.string(GRAPH.name, name);
      for (const v of inputs) g.message(GRAPH.input, (w) => valueInfo(w, v));
      for (const v of outputs) g.message(GRAPH.output, (w) => valueInfo(w, v));
    })
    .finish();
}

/**
 * The model of one matmul case: inputs `a` and `b` in their stored layout, output `y`. Transposed
 * plain products use Gemm (transA/transB attributes); transposed batched ones a Transpose node in
 * front of MatMul (ONNX MatMul has no transpose flags; onnxruntime fuses the pair).
 */
export function matmulModel(c: MatmulCase): Uint8Array {
  const s = operandShapes(c);
  const io = { inputs: [{ name: 'a', shape: s.a }, { name: 'b', shape: s.b }], outputs: [{ name: 'y', shape: s.out }] };
  const nodes: OnnxNode[] = [];
  if (!c.transA && !c.transB) nodes.push({ opType: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] });
  else if (c.batch === 1) {
    nodes.push({ opType: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], ints: { transA: c.transA ? 1 : 0, transB: c.transB ? 1 : 0 } });
  } else {
    const perm = [0, 2, 1];
    const lhs = c.transA ? 'a_t' : 'a';
    const rhs = c.transB ? 'b_t' : 'b';
    if (c.transA) nodes.push({ opType: 'Transpose', inputs: ['a'], outputs: ['a_t'], ints: { perm } });
    if (c.transB) nodes.push({ opType: 'Transpose', inputs: ['b'], outputs: ['b_t'], ints: { perm } });
    nodes.push({ opType: 'MatMul', inputs: [lhs, rhs], outputs: ['y'] });
  }
  return encodeModel(c.name, nodes, io.inputs, io.outputs);
}
