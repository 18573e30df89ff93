/**
 * Paired matmul timings: two sides in one process, each with its own device, measured in
 * alternating rounds, so that the machine's drift falls on both alike. On a shared 2-core machine
 * separate runs minutes apart differ by up to 2x; ratios from one paired run are what to compare.
 *
 * Sides: this checkout with Dawn robustness on and off (--robustness), or another checkout against
 * this one (--against DIR, e.g. `git worktree add /tmp/before HEAD~1` with a link to this
 * node_modules). Each shape prints both sides' median round time and fastest round, the ratio of
 * each, and the largest difference between the two results (0 when the kernels add in the same
 * order).
 *
 *   npx tsx bench/pair.ts --robustness --shapes 1024x1024x1024,25088x96x288
 *   npx tsx bench/pair.ts --against /tmp/before --shapes 96x50176x32+ta,50176x32x96+tb
 */
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** m x k x n, op(A) [m, k] @ op(B) [k, n]; +ta stores A as [k, m], +tb stores B as [n, k]. */
export interface PairShape {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  label: string;
}

export function parsePairShapes(text: string): PairShape[] {
  return text.split(',').map((spec) => {
    const [dims, ...flags] = spec.trim().split('+');
    const nums = dims!.split('x').map(Number);
    const bad = flags.find((f) => f !== 'ta' && f !== 'tb');
    if (nums.length !== 3 || nums.some((v) => !Number.isInteger(v) || v < 1) || bad !== undefined) {
      throw new InvalidArgumentError(`'${spec}': expected MxKxN with optional +ta and +tb, e.g. 1024x1024x1024 or 96x50176x32+ta`);
    }
    const [m, k, n] = nums as [number, number, number];
    return { m, k, n, transA: flags.includes('ta'), transB: flags.includes('tb'), label: spec.trim() };
  });
}

interface Side {
  name: string;
  // the side's own modules (another checkout has its own classes)
  device: { sync(): Promise<void>; destroy(): void; name: string };
  Tensor: { from(d: unknown, data: Float32Array, shape: number[]): { dispose(): void } };
  tidy: (fn: () => void) => void;
  matmulRaw: (a: unknown, b: unknown, o: { transA: boolean; transB: boolean }) => { toArray(): Promise<Float32Array>; dispose(): void };
  timer: { spans(fn: () => void, n: number, expectMs: number): Promise<number[]> };
}

async function openSide(name: string, root: string, robustness: boolean | undefined): Promise<Side> {
  const load = (p: string) => import(pathToFileURL(resolve(root, p)).href);
  const { openDevice } = await load('src/runtime/node_gpu.ts');
  const { Tensor, tidy } = await load('src/tensor/tensor.ts');
  const { matmulRaw } = await load('src/ops/matmul.ts');
  const { SpanTimer } = await load('bench/span_timer.ts');
  const device = await openDevice(robustness === undefined ? {} : { robustness });
  return { name, device, Tensor, tidy, matmulRaw, timer: new SpanTimer(device, 64) };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runPair(sides: Side[], shapes: PairShape[], rounds: number, reps: number, out: (line: string) => void): Promise<void> {
  const [a, b] = sides as [Side, Side];
  out(`paired matmul: ${a.name} vs ${b.name}, ${rounds} alternating rounds of ${reps} timed runs each (GPU time); device: ${a.device.name}`);
  for (const s of shapes) {
    const operands = sides.map((side) => {
      const x = Float32Array.from({ length: s.m * s.k }, (_, i) => Math.sin(i));
      const y = Float32Array.from({ length: s.k * s.n }, (_, i) => Math.cos(i));
      return [side.Tensor.from(side.device, x, s.transA ? [s.k, s.m] : [s.m, s.k]), side.Tensor.from(side.device, y, s.transB ? [s.n, s.k] : [s.k, s.n])] as const;
    });
    const results: Float32Array[] = [];
    for (const [i, side] of sides.entries()) {
      const c = side.matmulRaw(operands[i]![0], operands[i]![1], s);
      results.push(await c.toArray());
      c.dispose();
    }
    let diff = 0;
    for (let i = 0; i < results[0]!.length; i++) diff = Math.max(diff, Math.abs(results[0]![i]! - results[1]![i]!));
    const rows: number[][] = sides.map(() => []);
    for (let r = 0; r < rounds; r++) {
      // each round starts with the other side
      for (let j = 0; j < sides.length; j++) {
        const i = (r + j) % sides.length;
        const side = sides[i]!;
        const once = () => side.tidy(() => void side.matmulRaw(operands[i]![0], operands[i]![1], s));
        const t0 = performance.now();
        once();
        await side.device.sync();
        const estimate = (await side.timer.spans(once, 1, performance.now() - t0))[0]!;
        rows[i]!.push(median(await side.timer.spans(once, reps, estimate)));
      }
    }
    const flops = 2 * s.m * s.k * s.n;
    const fmt = (ms: number[]) => `${median(ms).toFixed(3)} ms (${(flops / median(ms) / 1e6).toFixed(1)} GFLOP/s), fastest round ${Math.min(...ms).toFixed(3)} ms`;
    const ratio = (median(rows[0]!) / median(rows[1]!)).toFixed(2);
    const fastest = (Math.min(...rows[0]!) / Math.min(...rows[1]!)).toFixed(2);
    out(`${s.label}: ${a.name} ${fmt(rows[0]!)} | ${b.name} ${fmt(rows[1]!)} | ${a.name}/${b.name} ${ratio}x (fastest rounds ${fastest}x); results differ by at most ${diff.toExponential(2)}`);
    for (const [x, y] of operands) {
      x.dispose();
      y.dispose();
    }
  }
}

async function main(): Promise<void> {
  const positive = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${v}' is not a whole number >= 1`);
    return n;
  };
  const o = new Command('bench/pair.ts')
    .description('time matmul shapes on two sides in one process, in alternating rounds')
    .option('--robustness', 'sides: this checkout with Dawn robustness on, then off')
    .option('--against <dir>', 'sides: the checkout in <dir>, then this one')
    .option('--shapes <list>', 'comma list of MxKxN[+ta][+tb]', parsePairShapes, parsePairShapes('1024x1024x1024'))
    .option('--rounds <n>', 'alternating rounds', positive, 6)
    .option('--reps <n>', 'timed runs per side and round (their median is the round time)', positive, 5)
    .parse()
    .opts<{ robustness?: boolean; against?: string; shapes: PairShape[]; rounds: number; reps: number }>();
  if (Boolean(o.robustness) === Boolean(o.against)) throw new Error('bench/pair.ts: give exactly one of --robustness and --against <dir>');
  if (o.against && !existsSync(resolve(o.against, 'src/ops/matmul.ts'))) throw new Error(`bench/pair.ts: ${o.against} is not a checkout of this project (no src/ops/matmul.ts)`);
  const sides = o.robustness
    ? [await openSide('robustness on', HERE, true), await openSide('off', HERE, false)]
    : [await openSide(o.against!, resolve(o.against!), undefined), await openSide('this checkout', HERE, undefined)];
  try {
    await runPair(sides, o.shapes, o.rounds, o.reps, (l) => console.log(l));
  } finally {
    for (const s of sides) s.device.destroy();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
