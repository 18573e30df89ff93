/**
 * Probe: when does lavapipe read a value once for all 8 lanes? (docs/lavapipe-kernels.md,
 * "Straight-line code and uniform loads".)
 *
 *   npx tsx bench/probes/lavapipe_loads.ts [--reps 1,4,16] [--rounds 5]
 *
 * Every kernel does the same work: a workgroup of 64 lanes copies N = 1024 values into workgroup
 * memory, then each lane multiplies REPS * N of them (value c mod N) by a value of its own and adds
 * them up. Only the way the N values are read differs:
 *
 *   straight       written out at constant indices, in code with no loop or branch
 *   loop-constant  the same constant-index reads, inside a loop run REPS times
 *   loop-index     a loop reading workgroup memory at the loop counter
 *   loop-storage   a loop reading the storage buffer at the loop counter
 *
 * The WGSL is generated here (not in kernels/) because the code shape is what is measured. Each
 * kernel's result is checked against the others before timing. A benchmark prints what it
 * measured in this run, with the device named; nothing is cached.
 */
import { Command } from 'commander';
import { openDevice } from '../../src/runtime/node_gpu.js';
import { SpanTimer } from '../span_timer.js';

const N = 1024;
const LANES = 64;
const GROUPS = 512;

type Probe = 'straight' | 'loop-constant' | 'loop-index' | 'loop-storage';
const PROBES: Probe[] = ['straight', 'loop-constant', 'loop-index', 'loop-storage'];

/** The four multiply-add statements reading values c .. c + 3 through `at` (an index expression of them). */
function quad(at: (x: number) => string, c: number): string {
  return [0, 1, 2, 3].map((x) => `a${x} += ${at(c + x)} * mine;`).join(' ');
}

function source(probe: Probe, reps: number): string {
  const per = N / LANES;
  const lines = [
    '@group(0) @binding(0) var<storage, read> src: array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> dst: array<f32>;',
    `var<workgroup> sh: array<f32, ${N}>;`,
    `@compute @workgroup_size(${LANES})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {',
    `  for (var x = 0u; x < ${per}u; x++) { sh[li * ${per}u + x] = src[wid.x * ${N}u + li * ${per}u + x]; }`,
    '  workgroupBarrier();',
    `  let mine = src[wid.x * ${LANES}u + li];`,
    '  var a0 = 0.0; var a1 = 0.0; var a2 = 0.0; var a3 = 0.0;',
  ];
  if (probe === 'straight') {
    for (let c = 0; c < reps * N; c += 4) lines.push(`  ${quad((i) => `sh[${i % N}]`, c)}`);
  } else if (probe === 'loop-constant') {
    lines.push(`  for (var r = 0u; r < ${reps}u; r++) {`);
    for (let c = 0; c < N; c += 4) lines.push(`    ${quad((i) => `sh[${i}]`, c)}`);
    lines.push('  }');
  } else {
    const read = probe === 'loop-index' ? (x: number) => `sh[c + ${x}u]` : (x: number) => `src[wid.x * ${N}u + c + ${x}u]`;
    lines.push(`  for (var r = 0u; r < ${reps}u; r++) {`);
    lines.push(`    for (var c = 0u; c < ${N}u; c += 4u) { ${quad(read, 0)} }`);
    lines.push('  }');
  }
  lines.push(`  dst[wid.x * ${LANES}u + li] = a0 + a1 + a2 + a3;`, '}');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = new Command('lavapipe_loads')
    .option('--reps <list>', 'passes over the N values', '1,4,16')
    .option('--rounds <n>', 'timed rounds (median of 5 runs each)', '5')
    .parse()
    .opts<{ reps: string; rounds: string }>();
  const repsList = opts.reps.split(',').map(Number);
  const rounds = Number(opts.rounds);
  if (repsList.some((r) => !Number.isInteger(r) || r < 1) || !Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`--reps takes whole numbers >= 1 and --rounds a whole number >= 1 (got --reps ${opts.reps} --rounds ${opts.rounds})`);
  }
  const device = await openDevice({});
  try {
    const timer = new SpanTimer(device, 64);
    const src = device.pool.acquire(4 * GROUPS * N, 'probe src');
    const dst = device.pool.acquire(4 * GROUPS * LANES, 'probe dst');
    device.gpuDevice.queue.writeBuffer(src, 0, Float32Array.from({ length: GROUPS * N }, (_, i) => Math.sin(i)));
    console.log(`# lavapipe load probe on ${device.name}; clock: ${timer.clock}; ${GROUPS} workgroups of ${LANES} lanes, N = ${N}`);
    console.log('| reps | probe | median ms | G multiply-adds/s | vs straight |');
    console.log('|---|---|---|---|---|');
    for (const reps of repsList) {
      const runs = new Map<Probe, () => void>();
      let first: Float32Array | null = null;
      for (const probe of PROBES) {
        const file = `probe_${probe}_${reps}.wgsl`;
        if (!device.kernels.has(file)) await device.kernels.addModule(file, source(probe, reps));
        const k = device.kernels.get(file, 'main');
        const run = () => device.dispatch(k, { buffers: { src, dst }, workgroups: [GROUPS] });
        run();
        const got = new Float32Array(await device.readBuffer(dst, 0, 4 * GROUPS * LANES));
        if (first) {
          let worst = 0;
          for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - first[i]!) / (1 + Math.abs(first[i]!)));
          if (worst > 1e-4) throw new Error(`probe ${probe} (reps ${reps}) disagrees with straight: relative difference ${worst.toExponential(2)}`);
        } else first = got;
        runs.set(probe, run);
      }
      const ms = new Map<Probe, number[]>();
      for (let r = 0; r < rounds; r++) {
        for (const [probe, run] of runs) {
          const t0 = performance.now();
          run();
          await device.sync();
          const times = (await timer.spans(run, 5, performance.now() - t0)).sort((a, b) => a - b);
          ms.set(probe, [...(ms.get(probe) ?? []), times[2]!]);
        }
      }
      const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const straight = median(ms.get('straight')!);
      for (const probe of PROBES) {
        const m = median(ms.get(probe)!);
        const rate = (GROUPS * LANES * N * reps) / m / 1e6;
        console.log(`| ${reps} | ${probe} | ${m.toFixed(2)} | ${rate.toFixed(2)} | ${(m / straight).toFixed(2)}x slower |`);
      }
    }
  } finally {
    device.destroy();
  }
}

await main();
