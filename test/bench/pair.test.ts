import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { parsePairShapes } from '../../bench/pair.js';

describe('bench pair', () => {
  it('pair shapes: MxKxN with +ta and +tb; anything else names the bad entry', () => {
    expect(parsePairShapes('1024x1024x1024, 96x50176x32+ta,8x4x2+tb+ta')).to.deep.equal([
      { m: 1024, k: 1024, n: 1024, transA: false, transB: false, label: '1024x1024x1024' },
      { m: 96, k: 50176, n: 32, transA: true, transB: false, label: '96x50176x32+ta' },
      { m: 8, k: 4, n: 2, transA: true, transB: true, label: '8x4x2+tb+ta' },
    ]);
    for (const bad of ['3x3', '0x4x4', '4x4x4+tc', '4x4.5x4']) expect(() => parsePairShapes(bad), bad).to.throw(`'${bad}': expected MxKxN`);
  });

  it('pair --robustness: one line per shape with both sides, the ratio and the largest difference [48x40x36+tb]', function () {
    this.timeout(120000);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/pair.ts', '--robustness', '--shapes', '48x40x36+tb,20x600x12+ta', '--rounds', '1', '--reps', '1'], { encoding: 'utf8', timeout: 110000 });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^paired matmul: robustness on vs off, 1 alternating rounds of 1 timed runs each \(GPU time\); device: /);
    // the same kernels either way: the results agree bit for bit
    expect(lines[1]).to.match(/^48x40x36\+tb: robustness on [\d.]+ ms \([\d.]+ GFLOP\/s\), fastest round [\d.]+ ms \| off [\d.]+ ms .* \| robustness on\/off [\d.]+x \(fastest rounds [\d.]+x\); results differ by at most 0\.00e\+0$/);
    expect(lines[2]).to.match(/^20x600x12\+ta: .*results differ by at most 0\.00e\+0$/);
  });

  it('pair: exactly one of --robustness and --against, which must be a checkout', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/pair.ts', ...args], { encoding: 'utf8', timeout: 60000 });
    expect(run().stderr).to.match(/give exactly one of --robustness and --against <dir>/);
    expect(run('--against', '/nonexistent-dir').stderr).to.match(/\/nonexistent-dir is not a checkout of this project/);
  });
});
