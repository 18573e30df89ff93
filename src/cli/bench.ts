/**
 * `aunce bench`: the kernel benchmark harness (bench/harness.ts) over the shared case list
 * (bench/cases.ts), comparing this project's kernels with TF.js WebGPU and WASM, onnxruntime-node
 * and PyTorch in the same run; `--op aunce` times the AUNCE loss forward + backward (fused,
 * unfused, PyTorch); `--op attention` the fused windowed attention forward + backward (fused,
 * unfused, TF.js WebGPU); `--op encoder` the encoder's images/s and peak memory (ours only).
 * `--export-cases` writes the case list the Python runner reads.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { casesJson } from '../../bench/cases.js';
import { DEFAULT_IMPLS, parseImpls, parseVariants, runBench } from '../../bench/harness.js';
import { DEFAULT_TIMING } from '../../bench/timing.js';
import { IMPLS } from '../../bench/types.js';
import { NoAdapterError } from '../runtime/errors.js';

export const DEFAULT_CASES_JSON = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'cases.json');

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive whole number, got '${v}'`);
  return n;
}

interface BenchCliOptions {
  op?: string;
  case?: string;
  impl: string;
  repeats: number;
  budgetMs: number;
  quick?: boolean;
  json?: string;
  roofline: boolean;
  rounds: number;
  variant?: string;
  exportCases?: string | true;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('benchmark the kernels against TF.js (WebGPU, WASM), onnxruntime-node and PyTorch on one case list')
    .option('--op <name>', 'only the cases of this op (matmul | aunce | attention | encoder)')
    .option('--case <substring>', 'only cases whose name contains this (case-insensitive)')
    .option('--impl <list>', `comma list of runners (${IMPLS.join(', ')})`, DEFAULT_IMPLS.join(','))
    .option('--variant <list>', 'only these of our matmul variants (auto, the kernel variants, naive; default all)')
    .option('--repeats <n>', 'most timed repetitions per case, after warm-up', positiveInt, DEFAULT_TIMING.repeats)
    .option('--budget-ms <n>', 'fewer repetitions (at least 3) when a case would take longer than this', positiveInt, DEFAULT_TIMING.budgetMs)
    .option('--rounds <n>', 'measure every case with every runner this many times, interleaved; a row reports the median of its rounds', positiveInt, 1)
    .option('--quick', 'only the small cases (a smoke test)')
    .option('--json <file>', 'also write the rows as a JSON array')
    .option('--no-roofline', 'skip the FMA-peak and bandwidth probes')
    .option('--export-cases [file]', 'write the case list as JSON (default bench/cases.json) and exit')
    .action(async (opts: BenchCliOptions) => {
      if (opts.exportCases) {
        const file = opts.exportCases === true ? DEFAULT_CASES_JSON : opts.exportCases;
        writeFileSync(file, casesJson());
        console.log(`aunce bench: wrote the case list to ${file}`);
        return;
      }
      try {
        await runBench({
          op: opts.op,
          caseFilter: opts.case,
          impls: parseImpls(opts.impl),
          ...(opts.variant ? { variants: parseVariants(opts.variant) } : {}),
          quick: opts.quick,
          timing: { repeats: opts.repeats, budgetMs: opts.budgetMs },
          noRoofline: !opts.roofline,
          rounds: opts.rounds,
          json: opts.json,
        });
      } catch (err) {
        if (err instanceof NoAdapterError) {
          console.error(`aunce bench: ${err.message}`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
    });
}
