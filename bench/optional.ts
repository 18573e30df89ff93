/**
 * The reference libraries live in bench/package.json, not in the project's dependencies, and are
 * imported only when their runner is asked for. A missing one turns into one line saying how to
 * install it. (The specifier goes through a variable so that type checking never needs them.)
 */
import { cpus } from 'node:os';

export const SETUP_HINT = 'run `npm run bench:setup` (that is, `npm --prefix bench ci --ignore-scripts`) to install the reference implementations';

export class MissingPackage extends Error {}

export async function importOptional<T>(spec: string): Promise<T> {
  try {
    const mod = (await import(spec)) as T & { default?: T };
    return mod;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') {
      throw new MissingPackage(`${spec} is not installed: ${SETUP_HINT}`);
    }
    throw err;
  }
}

/** The CPU the CPU runners run on, for headers and rows. */
export function cpuName(): string {
  const list = cpus();
  const model = list[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown CPU';
  return `${model} (${list.length} threads)`;
}
