/**
 * What every dataset reader shares: the frame record, the protocol (subject-exclusive folds), the
 * error that names file, line and field, the `--skip-bad` bookkeeping, and small text helpers.
 *
 * Readers are pure TypeScript over `node:fs`; they read labels only. Images are resolved to paths
 * (never opened) so that `aunce labels` runs without them; `aunce convert` opens them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type DatasetName = 'bp4d' | 'disfa' | 'gft' | 'affwild2';

/** One labelled frame. `labels[k]` is meaningful only where `mask[k]` is 1. */
export interface LabelledFrame {
  subject: string;
  /** task (BP4D), video (Aff-Wild2), or the subject again where a dataset has one sequence per subject */
  sequence: string;
  /** the frame number as the dataset writes it */
  frame: number;
  /** image path relative to the images root */
  image: string;
  labels: Uint8Array;
  /** 1 = labelled, 0 = not coded / unannotated for that AU */
  mask: Uint8Array;
  /** where the label came from, for error messages (`file:line`) */
  where: string;
}

/**
 * The evaluation protocol. `folds[f]` lists the test subjects of fold f+1; its training subjects
 * are all the others of `subjects`. Subjects are exclusive between a fold's train and test sides.
 */
export interface Protocol {
  subjects: string[];
  folds: string[][];
}

export interface DatasetLabels {
  dataset: DatasetName;
  aus: number[];
  frames: LabelledFrame[];
  protocol: Protocol;
  /** rows skipped by `--skip-bad`, per reason */
  skipped: Record<string, number>;
  /** rows dropped by the dataset's own rules (Aff-Wild2's -1 rows), per subject and reason; never silent */
  dropped: Dropped[];
}

export interface Dropped {
  subject: string;
  reason: string;
  count: number;
}

export interface ReadOptions {
  /** skip malformed rows (and files) instead of failing; counted per reason in `skipped` */
  skipBad?: boolean;
  /** DISFA: intensity threshold for "active" (default 2) */
  threshold?: number;
  /** image path pattern (see imagePath) overriding the dataset's default */
  imagePattern?: string;
}

/** A problem in a dataset file: `FILE:LINE: field: message` (LINE 0 = the file as a whole). */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    readonly reason: string,
    detail: string,
  ) {
    super(`${line > 0 ? `${file}:${line}` : file}: ${field}: ${detail}`);
    this.name = 'DatasetError';
  }
}

/** Collects skipped rows under --skip-bad; throws otherwise. */
export class BadRows {
  readonly counts: Record<string, number> = {};
  constructor(readonly skip: boolean) {}

  /** Throw `err`, or count it under its reason when skipping. */
  handle(err: DatasetError): void {
    if (!this.skip) throw err;
    this.counts[err.reason] = (this.counts[err.reason] ?? 0) + 1;
  }

  /** Run `fn`; a DatasetError it throws is handled (skipped or rethrown), and the result is null. */
  guard<T>(fn: () => T): T | null {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof DatasetError)) throw err;
      this.handle(err);
      return null;
    }
  }
}

/** The lines of a text file without line terminators (CRLF accepted); a trailing empty line is dropped. */
export function readLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Split a CSV line (no quoting in these datasets; surrounding spaces trimmed). */
export const splitCsv = (line: string): string[] => line.split(',').map((c) => c.trim());

/** Parse an integer cell, or throw a DatasetError naming the cell. */
export function intCell(cell: string | undefined, file: string, line: number, field: string): number {
  if (cell === undefined || cell === '') throw new DatasetError(file, line, field, 'short row', 'missing value (the row is short)');
  // Some exports write integers as 1.0: accept those, reject anything with a fraction.
  if (!/^[+-]?\d+(\.0*)?$/.test(cell)) throw new DatasetError(file, line, field, 'non-numeric cell', `expected an integer, got ${JSON.stringify(cell)}`);
  return Number.parseInt(cell, 10);
}

/** Directory entries (sorted), or [] when the directory does not exist. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The first of `candidates` (relative to root) that is a directory, or throw naming all of them. */
export function findDir(root: string, candidates: string[], dataset: string): string {
  for (const c of candidates) if (isDir(join(root, c))) return join(root, c);
  throw new DatasetError(root, 0, 'root', 'missing file', `${dataset}: expected a folder ${candidates.map((c) => JSON.stringify(c)).join(' or ')} under the root`);
}

/**
 * An image path from a pattern: `{subject}`, `{sequence}`, `{frame}` (as written), `{frame0}`
 * (frame - 1), and zero-padded forms `{frame:5}` / `{frame0:4}`.
 */
export function imagePath(pattern: string, f: { subject: string; sequence: string; frame: number }): string {
  return pattern.replace(/\{(subject|sequence|frame0|frame)(?::(\d+))?\}/g, (_, key: string, pad?: string) => {
    if (key === 'subject') return f.subject;
    if (key === 'sequence') return f.sequence;
    const n = key === 'frame0' ? f.frame - 1 : f.frame;
    return pad ? String(n).padStart(Number(pad), '0') : String(n);
  });
}

/** `file:line` of LabelledFrame.where, split. */
export function splitWhere(where: string): [string, number] {
  const i = where.lastIndexOf(':');
  return [where.slice(0, i), Number(where.slice(i + 1))];
}
