// Every .wgsl file compiles and reflects, and for every entry point the bindings that reflection
// reports are exactly the ones the pipeline's layout wants (a bind group built from them validates).
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { diskKernelSource, KernelBindingError, KernelCompileError, KERNELS_DIR, USAGE } from '../../src/index.js';
import { sharedDevice } from '../helpers.js';

const files = readdirSync(KERNELS_DIR).filter((f) => f.endsWith('.wgsl')).sort();

describe('kernel registry', () => {
  it('registry: loads every kernels/*.wgsl file at open', async () => {
    const d = await sharedDevice();
    // other tests add modules of their own to the shared device; every file on disk must be there
    expect(d.kernels.files()).to.include.members(diskKernelSource().list());
    expect(files.length).to.be.greaterThan(0);
  });

  for (const file of files) {
    it(`${file}: every entry point builds a pipeline whose reflected bindings validate`, async () => {
      const d = await sharedDevice();
      const why = d.kernels.unavailable(file);
      // The only accepted exception: a feature this adapter lacks (named in the message).
      expect(why, `${file} cannot run on this adapter: ${why}`).to.equal(null);
      const entries = d.kernels.entries(file);
      expect(entries.length, `${file} has no compute entry point`).to.be.greaterThan(0);
      const g = d.gpuDevice;
      const module = d.kernels.shaderModule(file)!;
      for (const entry of entries) {
        const k = d.kernels.get(file, entry);
        g.pushErrorScope('validation');
        // Dawn's own layout for the entry point ('auto') must accept exactly the reflected bindings.
        const auto = g.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: entry } });
        const groups = new Map<number, GPUBindGroupEntry[]>();
        const made: GPUBuffer[] = [];
        for (const b of k.bindings) {
          const size = b.kind === 'uniform' ? Math.max(16, k.uniforms.get(b.name)!.size) : 1024;
          const buf = g.createBuffer({ size, usage: b.kind === 'uniform' ? USAGE.UNIFORM : USAGE.STORAGE });
          made.push(buf);
          if (!groups.has(b.group)) groups.set(b.group, []);
          groups.get(b.group)!.push({ binding: b.binding, resource: { buffer: buf } });
        }
        for (const [group, entries] of groups) g.createBindGroup({ layout: auto.getBindGroupLayout(group), entries });
        const err = await g.popErrorScope();
        made.forEach((b) => b.destroy());
        expect(err?.message ?? null, `${file}:${entry} bindings [${k.bindings.map((b) => b.name).join(', ')}]`).to.equal(null);
      }
      await d.raiseErrors();
    });
  }

  it('registry: a WGSL type error names file, function, line and column', async () => {
    const d = await sharedDevice();
    const code = 'fn helper() -> f32 {\n  let x: f32 = 1u;\n  return x;\n}\n@compute @workgroup_size(1) fn main() { _ = helper(); }\n';
    let err: unknown;
    try {
      await d.kernels.addModule('bad_type.wgsl', code);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(KernelCompileError);
    expect((err as Error).message).to.match(/^bad_type\.wgsl:helper:2:\d+: .*f32.*u32/);
    expect((err as KernelCompileError).line).to.equal(2);
  });

  it('registry: a WGSL syntax error names file, line and column', async () => {
    const d = await sharedDevice();
    const code = '@compute @workgroup_size(1)\nfn main() {\n  let x = 1.0\n}\n';
    const err = await d.kernels.addModule('bad_syntax.wgsl', code).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(KernelCompileError);
    expect((err as Error).message).to.match(/^bad_syntax\.wgsl:main:\d+:\d+: /);
  });

  it('registry: a parameter that reuses a resource name is refused with a rename hint', async () => {
    const d = await sharedDevice();
    const code = '@group(0) @binding(0) var<storage, read_write> out: array<f32>;\nfn f(out: f32) -> f32 { return out; }\n@compute @workgroup_size(1) fn main() { out[0] = f(1.0); }\n';
    const err = await d.kernels.addModule('shadow.wgsl', code).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(KernelCompileError);
    expect((err as Error).message).to.match(/^shadow\.wgsl:f:2:\d+: 'out' reuses the name of a resource variable/);
  });

  const SRC = `
override WG: u32 = 64u;
override SCALE: f32 = 1.0;
struct P { n: u32, k: f32, dims: array<vec4<u32>, 2>, }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(WG) fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < p.n) { dst[gid.x] = src[gid.x] * p.k * SCALE + f32(p.dims[1].w); }
}
`;

  it('registry: pipelines are cached by file:entry plus sorted overrides', async () => {
    const d = await sharedDevice();
    await d.kernels.addModule('test_scale.wgsl', SRC);
    const a = d.kernels.get('test_scale.wgsl', 'scale', { WG: 32, SCALE: 2 });
    const b = d.kernels.get('test_scale.wgsl', 'scale', { SCALE: 2, WG: 32 });
    const c = d.kernels.get('test_scale.wgsl', 'scale', { WG: 64 });
    expect(a).to.equal(b);
    expect(a).to.not.equal(c);
    expect(a.key).to.equal('test_scale.wgsl:scale{SCALE=2,WG=32}');
    expect(a.workgroupSize).to.deep.equal([32, 1, 1]);
    expect(a.bindings.map((x) => `${x.name}:${x.kind}`)).to.deep.equal(['p:uniform', 'src:read-only-storage', 'dst:storage']);
  });

  it('registry: uniform fields are written at the offsets reflection reports', async () => {
    const d = await sharedDevice();
    await d.kernels.addModule('test_scale.wgsl', SRC);
    const k = d.kernels.get('test_scale.wgsl', 'scale', { WG: 64, SCALE: 3 });
    expect(k.uniforms.get('p')!.fields.map((f) => [f.name, f.offset])).to.deep.equal([['n', 0], ['k', 4], ['dims', 16]]);
    const src = d.pool.acquire(16);
    const dst = d.pool.acquire(16);
    d.writeBuffer(src, 0, new Float32Array([1, 2, 3, 4]));
    d.dispatch(k, { buffers: { src, dst }, uniforms: { p: { n: 3, k: 0.5, dims: [0, 0, 0, 0, 0, 0, 0, 10] } }, workgroups: 1 });
    const out = new Float32Array(await d.readBuffer(dst, 0, 16));
    expect([...out.slice(0, 3)]).to.deep.equal([11.5, 13, 14.5]);
    d.pool.release(src);
    d.pool.release(dst);
  });

  it('registry: missing and extra bindings name the kernel and both lists', async () => {
    const d = await sharedDevice();
    await d.kernels.addModule('test_scale.wgsl', SRC);
    const k = d.kernels.get('test_scale.wgsl', 'scale');
    const buf = d.pool.acquire(16);
    expect(() => d.dispatch(k, { buffers: { src: buf, out: buf }, uniforms: { p: { n: 1, k: 1, dims: [] } }, workgroups: 1 })).to.throw(
      KernelBindingError,
      'test_scale.wgsl:scale: storage buffers do not match the WGSL: it declares [src, dst], the call gave [src, out]; missing: dst; extra: out',
    );
    d.pool.release(buf);
  });

  it('registry: a missing uniform field, a negative u32 and too many values are errors', async () => {
    const d = await sharedDevice();
    await d.kernels.addModule('test_scale.wgsl', SRC);
    const k = d.kernels.get('test_scale.wgsl', 'scale');
    const buf = d.pool.acquire(16);
    const call = (p: Record<string, number | number[]>) => () => d.dispatch(k, { buffers: { src: buf, dst: buf }, uniforms: { p }, workgroups: 1 });
    expect(call({ n: 1, k: 1 })).to.throw(/uniform 'p'.*missing: dims/);
    expect(call({ n: -1, k: 1, dims: [] })).to.throw(/p\.n\[0\] = -1 is not a u32/);
    expect(call({ n: 1, k: 1, dims: new Array(9).fill(0) })).to.throw(/p\.dims holds 8 values, got 9/);
    d.pool.release(buf);
  });

  it('registry: an unknown override and an oversized workgroup are errors before dispatch', async () => {
    const d = await sharedDevice();
    await d.kernels.addModule('test_scale.wgsl', SRC);
    expect(() => d.kernels.get('test_scale.wgsl', 'scale', { TILE: 4 })).to.throw(/unknown override\(s\) TILE \(declared: WG, SCALE\)/);
    const max = d.limits.maxComputeInvocationsPerWorkgroup!;
    expect(() => d.kernels.get('test_scale.wgsl', 'scale', { WG: max * 2 })).to.throw(new RegExp(`exceeds the device limit of ${max} invocations`));
    expect(() => d.kernels.get('test_scale.wgsl', 'nope')).to.throw(/no compute entry point 'nope' \(entry points: scale\)/);
    expect(() => d.kernels.get('nothing.wgsl', 'main')).to.throw(/kernel file 'nothing.wgsl' is not loaded/);
  });

  it('registry: too many workgroups in one dimension is an error naming the kernel', async () => {
    const d = await sharedDevice();
    await d.kernels.addModule('test_scale.wgsl', SRC);
    const k = d.kernels.get('test_scale.wgsl', 'scale');
    const buf = d.pool.acquire(16);
    expect(() => d.dispatch(k, { buffers: { src: buf, dst: buf }, uniforms: { p: { n: 1, k: 1, dims: [] } }, workgroups: 70000 })).to.throw(/scale: workgroup count 70000x1x1 exceeds the device limit/);
    d.pool.release(buf);
  });
});
