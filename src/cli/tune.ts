/**
 * `aunce tune`: measures the matmul variants on the benchmark's shapes and stores the fastest per
 * shape class for this adapter (used by every later matmul); `--show` prints what is stored,
 * `--clear` forgets it. AUNCE_MATMUL_VARIANT=<name> overrides any stored choice.
 */
import { Command } from 'commander';
import { casesOf, problemOf } from '../../bench/cases.js';
import { tuneMatmul } from '../ops/matmul.js';
import { matmulVariants, shapeClass, storedMatmulChoice } from '../ops/matmul_variants.js';
import { openDevice } from '../runtime/node_gpu.js';

const problems = () => casesOf('matmul').map(problemOf);

export function tuneCommand(): Command {
  return new Command('tune')
    .description('measure the matmul variants per shape class and keep the fastest for this adapter')
    .option('--show', 'print the stored choices and exit')
    .option('--clear', 'forget the stored choices and exit')
    .option('--force', 'measure again classes already stored')
    .option('--repeats <n>', 'timed repetitions per variant', (v) => Number(v), 5)
    .action(async (opts: { show?: boolean; clear?: boolean; force?: boolean; repeats: number }) => {
      const device = await openDevice();
      try {
        console.log(`adapter: ${device.name}`);
        console.log(`choices: ${device.tuning.describe()}`);
        if (opts.clear) {
          device.tuning.clear();
          console.log('cleared');
          return;
        }
        if (opts.show) {
          const seen = new Set<string>();
          for (const p of problems()) {
            const cls = shapeClass(p);
            if (seen.has(cls)) continue;
            seen.add(cls);
            console.log(`${cls.padEnd(22)} ${storedMatmulChoice(device, p) ?? '(default)'}`);
          }
          return;
        }
        console.log(`variants: ${matmulVariants().map((v) => v.name).join(', ')} (naive is never chosen)`);
        const results = await tuneMatmul(device, problems(), { repeats: opts.repeats, force: opts.force });
        for (const r of results) {
          console.log(`${r.shapeClass.padEnd(22)} -> ${r.chosen.padEnd(9)} ${r.timings.map((t) => `${t.variant} ${t.medianMs.toFixed(2)} ms`).join(', ')}`);
        }
        if (results.length === 0) console.log('every class was already measured (use --force to measure again)');
      } finally {
        device.destroy();
      }
    });
}
