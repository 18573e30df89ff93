import { expect } from 'chai';
import { Tensor, type Device } from '../../src/index.js';
import { LayerNorm, Linear, Module, ModuleList, Sequential, StateDictError, truncNormal } from '../../src/nn/module.js';
import { linearRef } from '../../src/ref/linear.js';
import { nd } from '../../src/ref/ndarray.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, randn, sharedDevice } from '../helpers.js';

/** A toy model with the naming patterns of Swin: nested modules, lists, buffers of each kind. */
class Block extends Module {
  readonly norm: LayerNorm;
  readonly fc: Linear;
  constructor(d: Device, rng: Rng) {
    super();
    this.norm = this.registerModule('norm', new LayerNorm(d, 4));
    this.fc = this.registerModule('fc', new Linear(d, 4, 3, { rng }));
    this.registerBuffer('index', Tensor.from(d, new Int32Array([0, 1, 2]), [3]), 'derived');
    this.registerBuffer('scratch', Tensor.from(d, [0, 0], [2]), false);
  }
}

class Toy extends Module {
  readonly blocks: ModuleList<Block>;
  readonly head: Linear;
  constructor(d: Device, seed = 1) {
    super();
    const rng = new Rng(seed);
    this.registerParameter('scale', Tensor.from(d, [1, 2], [2]));
    this.blocks = this.registerModule('blocks', new ModuleList([new Block(d, rng), new Block(d, rng)]));
    this.head = this.registerModule('head', new Linear(d, 3, 2, { rng, bias: false }));
    this.registerBuffer('running', Tensor.from(d, [5, 6, 7], [3]));
  }
}

const TOY_KEYS = [
  'scale',
  'running',
  'blocks.0.index',
  'blocks.0.norm.weight',
  'blocks.0.norm.bias',
  'blocks.0.fc.weight',
  'blocks.0.fc.bias',
  'blocks.1.index',
  'blocks.1.norm.weight',
  'blocks.1.norm.bias',
  'blocks.1.fc.weight',
  'blocks.1.fc.bias',
  'head.weight',
];

describe('nn module', () => {
  it('module stateDict: PyTorch dotted names and order, non-persistent buffers left out', async () => {
    const m = new Toy(await sharedDevice());
    expect([...m.stateDict().keys()]).to.deep.equal(TOY_KEYS);
    expect(m.namedParameters().map(([n]) => n)).to.deep.equal(TOY_KEYS.filter((k) => !/index|running/.test(k)));
    expect(m.namedBuffers().map(([n]) => n)).to.include.members(['blocks.0.scratch', 'blocks.1.index', 'running']);
    expect(m.namedParameters('backbone')[1]![0]).to.equal('backbone.blocks.0.norm.weight');
    expect(m.numParameters()).to.equal(2 + 2 * (4 + 4 + 12 + 3) + 6);
    expect(m.parameters().every((p) => p.requiresGrad)).to.equal(true);
  });

  it('module train/eval: propagates to every descendant', async () => {
    const m = new Toy(await sharedDevice());
    m.eval();
    expect(m.namedModules().every(([, c]) => !c.training)).to.equal(true);
    m.train();
    expect(m.namedModules().every(([, c]) => c.training)).to.equal(true);
  });

  it('module loadStateDict: a round trip copies every value into the existing tensors', async () => {
    const d = await sharedDevice();
    const a = new Toy(d, 1);
    const b = new Toy(d, 2);
    const wBefore = b.blocks.at(1).fc.weight;
    expect([...(await a.head.weight.toArray())]).to.not.deep.equal([...(await b.head.weight.toArray())]);
    const r = b.loadStateDict(a.stateDict());
    expect(r.derived).to.deep.equal(['blocks.0.index', 'blocks.1.index']);
    expect(b.blocks.at(1).fc.weight).to.equal(wBefore);
    for (const [k, t] of a.stateDict()) expect([...(await b.stateDict().get(k)!.toArray())], k).to.deep.equal([...(await t.toArray())]);
  });

  it('module loadStateDict: a mis-shaped tensor names the key and both shapes; nothing is copied', async () => {
    const d = await sharedDevice();
    const m = new Toy(d);
    const sd = new Map(new Toy(d, 7).stateDict());
    sd.set('blocks.1.fc.weight', Tensor.from(d, new Float32Array(8), [2, 4]));
    const before = await m.head.weight.toArray();
    expect(() => m.loadStateDict(sd)).to.throw(StateDictError, /'blocks\.1\.fc\.weight': shape \[2, 4\] in the state dict, \[3, 4\] in the model/);
    expect([...(await m.head.weight.toArray())]).to.deep.equal([...before]);
    expect(() => m.loadStateDict(sd, { strict: false })).to.throw(StateDictError, /blocks\.1\.fc\.weight/);
  });

  it('module loadStateDict: strict names missing and unexpected keys; non-strict returns them', async () => {
    const d = await sharedDevice();
    const m = new Toy(d);
    const sd = new Map(m.stateDict());
    sd.delete('head.weight');
    sd.delete('blocks.0.index'); // derived: optional
    sd.set('head.bias', Tensor.from(d, [0, 0], [2]));
    sd.set('blocks.0.scratch', Tensor.from(d, [0, 0], [2])); // non-persistent: ignored
    expect(() => m.loadStateDict(sd)).to.throw(StateDictError, /'head\.weight': missing from the state dict \(model shape \[2, 3\]\)[^]*'head\.bias': unexpected key \(shape \[2\]\)/);
    const r = m.loadStateDict(sd, { strict: false });
    expect(r.missing).to.deep.equal(['head.weight']);
    expect(r.unexpected).to.deep.equal(['head.bias']);
  });

  it('module loadStateDict: a dtype mismatch is an error naming the key; a plain object works as the map', async () => {
    const d = await sharedDevice();
    const m = new Toy(d);
    const sd = Object.fromEntries(m.stateDict());
    sd['running'] = Tensor.from(d, new Int32Array([1, 2, 3]), [3]);
    expect(() => m.loadStateDict(sd)).to.throw(StateDictError, /'running': dtype i32 in the state dict, f32 in the model/);
  });

  it('module verifyDerived: reports a derived buffer whose values differ', async () => {
    const d = await sharedDevice();
    const m = new Toy(d);
    const sd = new Map(m.stateDict());
    expect(await m.verifyDerived(sd)).to.deep.equal([]);
    sd.set('blocks.1.index', Tensor.from(d, new Int32Array([0, 2, 2]), [3]));
    m.loadStateDict(sd);
    expect(await m.verifyDerived(sd)).to.deep.equal(["'blocks.1.index': element 1 is 2 in the state dict, 1 in the model"]);
  });

  it('module registration: duplicate and dotted names are errors', async () => {
    const d = await sharedDevice();
    const m = new Toy(d);
    expect(() => m.registerParameter('scale', Tensor.from(d, [1], [1]))).to.throw(/'scale' is already registered/);
    expect(() => m.registerBuffer('a.b', Tensor.from(d, [1], [1]))).to.throw(/must be non-empty and contain no '\.'/);
  });

  it('Linear: forward equals x W^T + b; weights trunc_normal(.02) seeded, bias zeros [5, 4] -> [5, 3]', async () => {
    const d = await sharedDevice();
    const a = new Linear(d, 4, 3, { rng: new Rng(3) });
    const b = new Linear(d, 4, 3, { rng: new Rng(3) });
    const w = await a.weight.toFloat32();
    expect([...w]).to.deep.equal([...(await b.weight.toFloat32())]);
    expect([...(await a.bias!.toFloat32())]).to.deep.equal([0, 0, 0]);
    expect(Math.max(...w.map(Math.abs))).to.be.lessThan(0.1);
    const x = randn([5, 4], 9);
    const y = await a.forward(Tensor.from(d, x.data, x.shape)).toFloat32();
    assertClose(y, linearRef(x, nd([3, 4], w), nd([3], [0, 0, 0]), 'none'), { atol: 1e-6, rtol: 1e-5 }, 'Linear');
  });

  it('truncNormal: stays within the bounds and has about the requested spread', () => {
    const v = truncNormal(new Rng(5), 4000, 1, -1.5, 1.5);
    expect(Math.min(...v)).to.be.at.least(-1.5);
    expect(Math.max(...v)).to.be.at.most(1.5);
    const sd = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(sd).to.be.within(0.72, 0.77); // a unit normal cut at ±1.5 has sd 0.743
  });

  it('Sequential: applies children in order, named 0, 1, ...; gradients reach each parameter', async () => {
    const d = await sharedDevice();
    const rng = new Rng(4);
    const s = new Sequential([new Linear(d, 4, 6, { rng }), new LayerNorm(d, 6), new Linear(d, 6, 2, { rng })]);
    expect([...s.stateDict().keys()]).to.deep.equal(['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']);
    const x = Tensor.from(d, randn([3, 4], 2).data, [3, 4]);
    const y = s.forward(x);
    expect(y.shape).to.deep.equal([3, 2]);
    y.sum().backward();
    for (const [n, p] of s.namedParameters()) expect(p.grad, n).to.not.equal(null);
    expect(() => s.at(3)).to.throw(RangeError, /index 3 is out of range for 3 modules/);
  });
});
