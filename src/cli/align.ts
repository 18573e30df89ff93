/**
 * `aunce align --landmarks FILE --size S --enlarge E [--one-based]`: reads one face per line
 * (x1 y1 x2 y2 ... for 49 points; 66 or 68 points are mapped to the 49 first) and prints, per face,
 * one JSON line `{"matrix": [[a, b, c], [d, e, f]], "landmarks": [98 numbers]}`: the similarity
 * of src/data/align.ts (source -> aligned pixels) and the aligned 49 landmarks. Blank lines and
 * lines starting with '#' are skipped; any other unreadable line is an error naming file:line.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { alignFace, parseLandmarkLine, type AlignedFace } from '../data/align.js';

export interface AlignOptions {
  size: number;
  enlarge: number;
  oneBased?: boolean;
}

/** Aligns every face of a landmark file's text; `file` names it in errors. */
export function alignText(text: string, file: string, opts: AlignOptions): AlignedFace[] {
  const out: AlignedFace[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    out.push(alignFace(parseLandmarkLine(line, file, i + 1), opts.size, opts.enlarge, opts.oneBased));
  });
  return out;
}

function positive(name: string, integer: boolean) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))) {
      throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got '${v}'`);
    }
    return x;
  };
}

export function alignCommand(): Command {
  return new Command('align')
    .description('similarity alignment from 49 (or 66/68) landmarks per line: prints {"matrix", "landmarks"} per face as JSON lines')
    .requiredOption('--landmarks <file>', 'one face per line: x1 y1 x2 y2 ... (49, 66 or 68 points)')
    .requiredOption('--size <S>', 'output image size in pixels (e.g. 200 or 256)', positive('--size', true))
    .requiredOption('--enlarge <E>', 'box enlarge factor (e.g. 2.9)', positive('--enlarge', false))
    .option('--one-based', 'coordinates are 1-based (MATLAB files): subtract 1 first', false)
    .action((o: { landmarks: string; size: number; enlarge: number; oneBased: boolean }) => {
      const faces = alignText(readFileSync(o.landmarks, 'utf8'), o.landmarks, o);
      for (const f of faces) process.stdout.write(`${JSON.stringify(f)}\n`);
    });
}
