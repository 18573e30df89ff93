/**
 * PyTorch on the CPU through bench/runners/torch_runner.py: the selected cases go to the script on
 * stdin as the same JSON as bench/cases.json, and its rows (one JSON object per line) come back on
 * stdout. Python is AUNCE_PYTHON if set, else the first of python3 and /usr/bin/python3 that can
 * import torch (Debian's python3-torch lives under the system interpreter, which a pyenv or venv
 * python3 on PATH does not see).
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { casesJson } from '../cases.js';
import type { Row, Runner, RunnerContext, Unavailable } from '../types.js';

export const TORCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_runner.py');
export const TORCH_INSTALL_HINT = 'install it with `apt-get install python3-torch libopenblas0-pthread` (Debian/Ubuntu) or `pip install torch`, or point AUNCE_PYTHON at a python that has it';

function pythonCandidates(env: NodeJS.ProcessEnv): string[] {
  return env.AUNCE_PYTHON ? [env.AUNCE_PYTHON] : ['python3', '/usr/bin/python3'];
}

/** The first interpreter that imports torch, or null, with what each candidate said. */
export function findTorchPython(env: NodeJS.ProcessEnv = process.env): { python: string | null; tried: string[] } {
  const tried: string[] = [];
  for (const py of pythonCandidates(env)) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60000 });
    if (r.status === 0) return { python: py, tried };
    tried.push(`${py}: ${r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : 'no module named torch'}`);
  }
  return { python: null, tried };
}

export async function torchRunner(ctx: RunnerContext): Promise<Runner | Unavailable> {
  const { python, tried } = findTorchPython();
  if (!python) return { impl: 'torch', unavailable: `PyTorch is not importable (${tried.join('; ')}): ${TORCH_INSTALL_HINT}` };
  let device = `CPU via ${python} (torch)`;
  return {
    impl: 'torch',
    get device() {
      return device;
    },
    runAll: (cases, emit) =>
      new Promise<void>((resolve, reject) => {
        const args = [TORCH_SCRIPT, '--cases', '-', '--repeats', String(ctx.timing.repeats), '--budget-ms', String(ctx.timing.budgetMs)];
        const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (!line.trim()) return;
          try {
            const row = JSON.parse(line) as Row;
            device = row.device;
            emit(row);
          } catch {
            ctx.log(`torch: ${line}`);
          }
        });
        createInterface({ input: child.stderr }).on('line', (line) => ctx.log(line.startsWith('torch:') ? line : `torch: ${line}`));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${python} ${TORCH_SCRIPT} exited with status ${code}`))));
        child.stdin.end(casesJson(cases));
      }),
    close: () => {},
  };
}
