import { expect } from 'chai';
import { spawnSync } from 'node:child_process';

const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, ['bin/aunce.js', ...args], { encoding: 'utf8', timeout: 120000, env });

describe('aunce doctor', () => {
  it('doctor: names the adapter and reports measured overheads as JSON', function () {
    this.timeout(180000);
    const r = run(['doctor', '--json']);
    expect(r.status, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.adapter.name).to.be.a('string').and.match(/\S/);
    expect(report.adapter.vendor).to.be.a('string');
    expect(report.features).to.include('timestamp-query');
    expect(report.limits.maxComputeInvocationsPerWorkgroup).to.be.a('number');
    expect(report.dispatchRoundTripUs).to.be.greaterThan(0);
    expect(report.batchedDispatchUs).to.be.greaterThan(0);
    expect(report.timestamps.works).to.equal(true);
    expect(report.throughput.map((t: { name: string }) => t.name)).to.have.length(2);
    for (const t of report.throughput) expect(t.medianMs).to.be.greaterThan(0);
    // lavapipe: 8-lane subgroups, so the subgroup attention and the broadcast AUNCE kernels
    expect(report.kernels).to.deep.include({
      'window attention (T 49, dh 32)': 'fused, subgroup kernels',
      'AUNCE loss': 'fused, broadcast variant',
      'layer norm': 'plain kernels',
      'matmul 1024x1024x1024': 'subgroup32',
    });
  });

  it('doctor kernels: without subgroups (as on a device without 8-lane subgroups) the workgroup attention kernels and the unfused AUNCE loss', async function () {
    this.timeout(60000);
    const { openDevice } = await import('../../src/runtime/node_gpu.js');
    const { kernelChoices } = await import('../../src/cli/doctor.js');
    const d = await openDevice({ disableFeatures: ['subgroups'] });
    try {
      const k = kernelChoices(d);
      expect(k['window attention (T 49, dh 32)']).to.equal('fused, workgroup kernels');
      expect(k['AUNCE loss']).to.match(/^unfused ops \(the fused AUNCE kernels need the subgroups feature\)$/);
      expect(k['layer norm']).to.equal('plain kernels');
      expect(k['matmul 1024x1024x1024']).to.equal('plain');
    } finally {
      d.destroy();
    }
  });

  it('doctor: without a Vulkan driver it exits 2 and says how to install one', function () {
    this.timeout(120000);
    const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
    const r = run(['doctor'], env);
    expect(r.status, r.stdout + r.stderr).to.equal(2);
    expect(r.stderr).to.match(/no WebGPU adapter was found/);
    expect(r.stderr).to.match(/scripts\/setup\.sh/);
  });

  it('examples: the README quick start runs and prints the loss and its gradients', function () {
    this.timeout(120000);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], { encoding: 'utf8', timeout: 60000 });
    expect(r.status, r.stderr).to.equal(0);
    // sum of gelu(x * w) for x = [[1,2,3],[4,5,6]], w = [0.5,-1,2] (float64: 20.25473)
    const loss = Number(/loss ([\d.]+)/.exec(r.stdout)?.[1]);
    expect(loss).to.be.closeTo(20.25473, 1e-4);
    expect(r.stdout).to.match(/dloss\/dw 5\.208\d -0\.170\d 9\.0000/);
  });

  it('setup: the set-up script finds the driver installed and changes nothing', function () {
    this.timeout(60000);
    const r = spawnSync('bash', ['scripts/setup.sh', '--check'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/nothing to do|leaving it as it is/);
  });
});
