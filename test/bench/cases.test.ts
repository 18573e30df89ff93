import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CASES, casesJson, casesOf, LINEAR_BATCH, matmulCase, operandShapes, QUICK_MAX_FLOPS, selectCases, shapeKey } from '../../bench/cases.js';

const byName = (name: string) => {
  const c = casesOf('matmul').find((x) => x.name === name);
  expect(c, `case '${name}'`).to.not.equal(undefined);
  return c!;
};

describe('bench cases', () => {
  it('cases square: FLOPs are 2*M*K*N and bytes the f32 operands and result [1024x1024x1024]', () => {
    const c = byName('square 1024');
    expect(c.flops).to.equal(2 * 1024 ** 3);
    expect(c.bytes).to.equal(3 * 4 * 1024 * 1024);
    expect(shapeKey(c)).to.equal('1024x1024x1024');
    for (const s of [256, 512, 2048]) expect(byName(`square ${s}`).flops).to.equal(2 * s ** 3);
  });

  it('cases swin-t: the four Linear layers per stage at batch 8 [25088x96]x[96x288] ...', () => {
    expect(LINEAR_BATCH).to.equal(8);
    const qkv = byName('linear swin-t 224px b8 s1 qkv [25088x96]x[96x288]');
    expect([qkv.batch, qkv.m, qkv.k, qkv.n]).to.deep.equal([1, 25088, 96, 288]);
    expect(qkv.flops).to.equal(2 * 25088 * 96 * 288);
    expect(qkv.bytes).to.equal(4 * (25088 * 96 + 96 * 288 + 25088 * 288));
    expect(byName('linear swin-t 224px b8 s1 mlp2 [25088x384]x[384x96]').k).to.equal(384);
    expect(byName('linear swin-t 224px b8 s2 proj [6272x192]x[192x192]').m).to.equal(8 * 784);
    expect(byName('linear swin-t 224px b8 s3 mlp1 [1568x384]x[384x1536]').n).to.equal(1536);
    expect(byName('linear swin-t 224px b8 s4 qkv [392x768]x[768x2304]').m).to.equal(8 * 49);
    expect(CASES.filter((c) => c.name.startsWith('linear swin-t 224px'))).to.have.length(16);
  });

  it('cases small: three stages of embed 32 at 112 px and at 224 px, batch 8 [6272x32]x[32x96] ...', () => {
    expect(CASES.filter((c) => c.name.startsWith('linear small 112px'))).to.have.length(12);
    expect(CASES.filter((c) => c.name.startsWith('linear small 224px'))).to.have.length(12);
    expect(byName('linear small 112px b8 s1 qkv [6272x32]x[32x96]').flops).to.equal(2 * 6272 * 32 * 96);
    expect(byName('linear small 112px b8 s3 mlp2 [392x512]x[512x128]').k).to.equal(512);
    // 224 px: 56x56 tokens at stage 1, four times the rows of 112 px at every stage
    expect(byName('linear small 224px b8 s1 qkv [25088x32]x[32x96]').m).to.equal(8 * 3136);
    expect(byName('linear small 224px b8 s3 mlp2 [1568x512]x[512x128]').m).to.equal(8 * 196);
  });

  it('cases attention and gram: batched FLOPs and bytes count every product [192x49x32x49]', () => {
    const qk = byName('attn q@kT 192x[49x32]x[32x49]');
    expect(qk.flops).to.equal(2 * 192 * 49 * 32 * 49);
    expect(qk.bytes).to.equal(4 * 192 * (49 * 32 + 32 * 49 + 49 * 49));
    expect(shapeKey(qk)).to.equal('192x49x32x49');
    const gram = byName('gram K12 2B64 D512 [12x64x512]x[12x512x64]');
    expect(gram.flops).to.equal(2 * 12 * 64 * 512 * 64);
    expect(gram.bytes).to.equal(4 * 12 * (64 * 512 + 512 * 64 + 64 * 64));
    expect(byName('gram K12 2B64 D768 [12x64x768]x[12x768x64]').k).to.equal(768);
  });

  it('cases transposed: stored operand shapes and the shape key name the layout [192x49x32x49 NT]', () => {
    const nt = byName('attn q@kT 192x[49x32]x[49x32]^T');
    expect(nt.transB).to.equal(true);
    expect(operandShapes(nt)).to.deep.equal({ a: [192, 49, 32], b: [192, 49, 32], out: [192, 49, 49] });
    expect(shapeKey(nt)).to.equal('192x49x32x49 NT');
    const tn = matmulCase('t', 1, 5, 7, 3, { transA: true });
    expect(operandShapes(tn)).to.deep.equal({ a: [7, 5], b: [7, 3], out: [5, 3] });
    expect(shapeKey(tn)).to.equal('5x7x3 TN');
  });

  it('cases list: every name is unique and every count follows the formulas', () => {
    expect(new Set(CASES.map((c) => c.name)).size).to.equal(CASES.length);
    for (const c of casesOf('matmul')) {
      expect(c.flops, c.name).to.equal(2 * c.batch * c.m * c.k * c.n);
      expect(c.bytes, c.name).to.equal(4 * c.batch * (c.m * c.k + c.k * c.n + c.m * c.n));
    }
  });

  it('cases select: --op, --case (case-insensitive) and --quick filter the list', () => {
    expect(selectCases({ op: 'matmul' })).to.have.length(casesOf('matmul').length);
    const ops = ['matmul', 'aunce', 'attention', 'encoder'];
    expect(ops.reduce((n, op) => n + selectCases({ op }).length, 0)).to.equal(CASES.length);
    expect(selectCases({ op: 'softmax' })).to.have.length(0);
    expect(selectCases({ name: 'SQUARE' }).map((c) => c.name)).to.deep.equal(['square 256', 'square 512', 'square 1024', 'square 2048']);
    const quick = selectCases({ quick: true });
    expect(quick.length).to.be.greaterThan(3);
    expect(quick.every((c) => c.flops <= QUICK_MAX_FLOPS)).to.equal(true);
    expect(quick.map((c) => c.name)).to.include('square 256');
  });

  it('cases json: bench/cases.json is the exported list (run `aunce bench --export-cases` after editing cases.ts)', () => {
    const file = readFileSync(new URL('../../bench/cases.json', import.meta.url), 'utf8');
    expect(file).to.equal(casesJson());
    expect(JSON.parse(file).cases).to.deep.equal(JSON.parse(JSON.stringify(CASES)));
  });
});
