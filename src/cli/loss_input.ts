/**
 * Reads and validates the input of `aunce loss` (a batch of two views, labels and AUNCE options).
 * Every problem is reported as `FILE:LINE:COL: field.path[i][j]: message`, pointing at the JSON
 * value at fault (or, for a missing field, at the object that lacks it), so that an editor can jump
 * to it. All problems found are reported together, in the order they appear in the file.
 *
 * Features are taken as given (no normalisation, spec §4.5); options not given take the mode's
 * defaults of src/ref/aunce.ts, which this module fills in so that every consumer sees the same numbers.
 */
import { readFileSync } from 'node:fs';
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { AunceMode, AunceOptions, PositiveType } from '../ref/aunce.js';

export interface LossInput {
  B: number;
  K: number;
  D: number;
  labels: number[][];
  /** features [2B, K, D] row-major: view 1 images 0..B-1, then view 2 images 0..B-1 (spec §1) */
  z: Float64Array;
  /** the AUNCE options with tau and the betas resolved to the mode's defaults */
  options: AunceOptions & { tau: number; betaActive: number; betaInactive: number };
}

export interface InputProblem {
  line: number;
  column: number;
  /** field path such as `labels[3][2]`; empty for the whole document */
  path: string;
  message: string;
}

export class LossInputError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly InputProblem[],
  ) {
    super(problems.map((p) => `${file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'));
    this.name = 'LossInputError';
  }
}

const MODES: readonly AunceMode[] = ['paper', 'official'];
const TYPES: Record<AunceMode, readonly PositiveType[]> = { paper: ['max', 'aug', 'centroid', 'min'], official: ['max', 'mean', 'aug'] };
const F32_MAX = 3.4028234663852886e38;
const FIELDS = [
  'mode', 'tau', 'betaActive', 'betaInactive', 'auWeight', 'positive', 'labels', 'view1', 'view2',
  'reduction', 'negWeighting', 'betaSwap', 'betaBy', 'auRate', 'excludePartnerFromPool', 'centroidRenormalise',
] as const;
type Field = (typeof FIELDS)[number];
/** switches the official code does not have (spec §4): accepted there only at their default */
const PAPER_ONLY = { negWeighting: 'R1', betaSwap: false, betaBy: 'label', excludePartnerFromPool: false, centroidRenormalise: false } as const;

/** Levenshtein distance, for "did you mean" on misspelt field names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** A short description of a JSON value for "expected X, got Y". */
function describe(n: Node): string {
  switch (n.type) {
    case 'string': {
      const s = String(n.value);
      return `the string ${JSON.stringify(s.length > 20 ? `${s.slice(0, 20)}…` : s)}`;
    }
    case 'array':
      return `an array of ${n.children?.length ?? 0}`;
    case 'object':
      return 'an object';
    case 'number':
      return Number.isFinite(n.value) ? String(n.value) : 'a number out of the float64 range';
    default:
      return String(n.value);
  }
}

class Checker {
  readonly problems: InputProblem[] = [];
  private lineStarts: number[] = [0];
  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }
  /** 1-based line and column (in UTF-16 code units) of a character offset */
  where(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }
  report(offset: number, path: string, message: string): void {
    this.problems.push({ ...this.where(offset), path, message });
  }
  at(n: Node, path: string, message: string): undefined {
    this.report(n.offset, path, message);
    return undefined;
  }
  number(n: Node, path: string, range?: { min?: number; exclusiveMin?: boolean; max?: number; f32?: boolean }): number | undefined {
    if (n.type !== 'number') return this.at(n, path, `expected a finite number, got ${describe(n)}`);
    const v = n.value as number;
    if (!Number.isFinite(v)) return this.at(n, path, `${this.text.slice(n.offset, n.offset + Math.min(n.length, 30))} overflows float64; expected a finite number`);
    if (range?.f32 && Math.abs(v) > F32_MAX) return this.at(n, path, `${v} is outside the float32 range (|x| <= 3.4e38) the GPU computes in`);
    if (range?.min !== undefined && (range.exclusiveMin ? !(v > range.min) : !(v >= range.min))) {
      return this.at(n, path, `expected a number ${range.exclusiveMin ? '>' : '>='} ${range.min}, got ${v}`);
    }
    if (range?.max !== undefined && !(v <= range.max)) return this.at(n, path, `expected a number <= ${range.max}, got ${v}`);
    return v;
  }
  oneOf<T extends string>(n: Node, path: string, allowed: readonly T[]): T | undefined {
    if (n.type !== 'string' || !allowed.includes(n.value as T)) return this.at(n, path, `expected one of ${allowed.map((a) => `"${a}"`).join(' | ')}, got ${describe(n)}`);
    return n.value as T;
  }
  boolean(n: Node, path: string): boolean | undefined {
    if (n.type !== 'boolean') return this.at(n, path, `expected true or false, got ${describe(n)}`);
    return n.value as boolean;
  }
  /** The children of an array node, or undefined (reported) when it is not an array or has the wrong length. */
  array(n: Node, path: string, expected?: { length: number; what: string; from: string }): Node[] | undefined {
    if (n.type !== 'array') return this.at(n, path, `expected ${expected ? `[${expected.length}] ${expected.what}` : 'an array'}, got ${describe(n)}`);
    const c = n.children ?? [];
    if (expected && c.length !== expected.length) {
      return this.at(n, path, `has ${c.length} ${expected.what}, expected ${expected.from}`);
    }
    return c;
  }
}

/** Parses and validates the text of a `loss` input; throws LossInputError naming every problem. */
export function parseLossInput(text: string, file: string): LossInput {
  const ck = new Checker(text);
  const syntax: ParseError[] = [];
  const root = parseTree(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  // the first syntax error only: the ones after it are usually its echoes
  const first = syntax[0];
  if (first) {
    const code = printParseErrorCode(first.error);
    const words = code === 'InvalidCommentToken' ? 'comments are not allowed in JSON' : code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    ck.report(first.offset, '', `JSON syntax error: ${words}`);
  }
  if (syntax.length > 0 || !root) throw new LossInputError(file, ck.problems.length ? ck.problems : [{ line: 1, column: 1, path: '', message: 'empty input' }]);
  if (root.type !== 'object') {
    ck.at(root, '', `expected an object {"mode", "labels", "view1", "view2", "positive", ...}, got ${describe(root)}`);
    throw new LossInputError(file, ck.problems);
  }

  // fields: duplicates and unknown names
  const fields = new Map<Field, Node>();
  for (const prop of root.children ?? []) {
    const [keyNode, valueNode] = prop.children as [Node, Node | undefined];
    const key = keyNode.value as string;
    if (!valueNode) continue; // a syntax error, already reported
    if (!(FIELDS as readonly string[]).includes(key)) {
      const near = FIELDS.filter((f) => editDistance(f.toLowerCase(), key.toLowerCase()) <= 2);
      ck.at(keyNode, key, `unknown field${near.length ? ` (did you mean '${near[0]}'?)` : ''}; known fields: ${FIELDS.join(', ')}`);
    } else if (fields.has(key as Field)) {
      const first = ck.where(fields.get(key as Field)!.offset);
      ck.at(keyNode, key, `duplicate field (first given at ${first.line}:${first.column}); give it once`);
    } else fields.set(key as Field, valueNode);
  }
  const need = (f: Field, what: string): Node | undefined => {
    const n = fields.get(f);
    if (!n) ck.at(root, f, `missing field: expected ${what}`);
    return n;
  };

  const modeNode = need('mode', `"paper" or "official"`);
  const mode = modeNode ? ck.oneOf(modeNode, 'mode', MODES) : undefined;

  // labels [B][K] of 0/1: they fix B and K
  let B: number | undefined;
  let K: number | undefined;
  const labels: number[][] = [];
  const labelsNode = need('labels', '[B][K] labels, each 0 or 1');
  const labelRows = labelsNode ? ck.array(labelsNode, 'labels') : undefined;
  if (labelRows) {
    if (labelRows.length === 0) ck.at(labelsNode!, 'labels', 'is empty; expected [B][K] labels with B >= 1');
    else {
      B = labelRows.length;
      labelRows.forEach((rowNode, b) => {
        const path = `labels[${b}]`;
        const row = b === 0 ? ck.array(rowNode, path) : ck.array(rowNode, path, K !== undefined ? { length: K, what: 'entries', from: `K = ${K} (from labels[0])` } : undefined);
        if (!row) return;
        if (b === 0) {
          if (row.length === 0) return ck.at(rowNode, path, 'is empty; expected K >= 1 labels');
          K = row.length;
        }
        labels.push(
          row.map((v, k) => {
            if (v.type !== 'number' || (v.value !== 0 && v.value !== 1)) ck.at(v, `${path}[${k}]`, `expected 0 or 1, got ${describe(v)}`);
            return v.value as number;
          }),
        );
      });
    }
  }

  // views [B][K][D]: D comes from view1[0][0]
  let D: number | undefined;
  let dFrom = '';
  const views: (Float64Array | undefined)[] = [];
  for (const name of ['view1', 'view2'] as const) {
    const node = need(name, '[B][K][D] features');
    const rows = node ? ck.array(node, name, B !== undefined ? { length: B, what: 'images', from: `B = ${B} (from labels)` } : undefined) : undefined;
    if (!rows || B === undefined || K === undefined) {
      views.push(undefined);
      continue;
    }
    let data: Float64Array | undefined;
    let ok = true;
    rows.forEach((imgNode, b) => {
      const aus = ck.array(imgNode, `${name}[${b}]`, { length: K!, what: 'AU vectors', from: `K = ${K} (from labels[0])` });
      if (!aus) return (ok = false);
      aus.forEach((vecNode, k) => {
        const path = `${name}[${b}][${k}]`;
        const vec = ck.array(vecNode, path, D !== undefined ? { length: D, what: 'values', from: `D = ${D} (from ${dFrom})` } : undefined);
        if (!vec) return (ok = false);
        if (D === undefined) {
          if (vec.length === 0) return ((ok = false), ck.at(vecNode, path, 'is empty; expected D >= 1 values'));
          D = vec.length;
          dFrom = path;
        }
        data ??= new Float64Array(B! * K! * D);
        vec.forEach((v, d) => {
          const x = ck.number(v, `${path}[${d}]`, { f32: true });
          if (x === undefined) ok = false;
          else data![(b * K! + k) * D! + d] = x;
        });
      });
    });
    views.push(ok ? data : undefined);
  }

  // positive: [K] names, or [2B][K] names (one per anchor and AU)
  const allowed = mode ? TYPES[mode] : TYPES.paper.concat(TYPES.official);
  const checkType = (n: Node, path: string): PositiveType | undefined => {
    const names = ['max', 'mean', 'aug', 'centroid', 'min'];
    if (n.type !== 'string' || !names.includes(n.value)) return ck.at(n, path, `expected a positive type (${names.join('|')}), got ${describe(n)}`);
    if (mode && !allowed.includes(n.value)) {
      const other = mode === 'paper' ? 'official' : 'paper';
      return ck.at(n, path, `'${n.value}' is only available in ${other} mode (${mode}: ${allowed.join('|')})`);
    }
    return n.value as PositiveType;
  };
  let positive: PositiveType[] | PositiveType[][] | undefined;
  const posNode = need('positive', '[K] positive types (max|mean|aug|centroid|min), or [2B][K]');
  const posItems = posNode ? ck.array(posNode, 'positive') : undefined;
  if (posItems && K !== undefined && B !== undefined) {
    if (posItems.length > 0 && posItems.every((p) => p.type === 'array')) {
      if (posItems.length !== 2 * B) ck.at(posNode!, 'positive', `has ${posItems.length} rows, expected 2B = ${2 * B} rows of K = ${K} types (one per anchor), or K = ${K} types`);
      else {
        const rows = posItems.map((r, a) => ck.array(r, `positive[${a}]`, { length: K!, what: 'types', from: `K = ${K} (from labels[0])` })?.map((t, k) => checkType(t, `positive[${a}][${k}]`)));
        if (rows.every((r) => r && r.every((t) => t !== undefined))) positive = rows as PositiveType[][];
      }
    } else if (posItems.length !== K) ck.at(posNode!, 'positive', `has ${posItems.length} types, expected K = ${K} (from labels[0])`);
    else {
      const types = posItems.map((t, k) => checkType(t, `positive[${k}]`));
      if (types.every((t) => t !== undefined)) positive = types as PositiveType[];
    }
  }

  // optional numbers and switches
  const opt = <T>(f: Field, read: (n: Node) => T | undefined): T | undefined => {
    const n = fields.get(f);
    return n ? read(n) : undefined;
  };
  const tau = opt('tau', (n) => ck.number(n, 'tau', { min: 0, exclusiveMin: true }));
  const betaActive = opt('betaActive', (n) => ck.number(n, 'betaActive'));
  const betaInactive = opt('betaInactive', (n) => ck.number(n, 'betaInactive'));
  const vectorK = (n: Node, f: Field, range?: { min: number; max: number }): number[] | undefined => {
    const items = ck.array(n, f, K !== undefined ? { length: K, what: 'numbers', from: `K = ${K} (from labels[0])` } : undefined);
    const vs = items?.map((v, k) => ck.number(v, `${f}[${k}]`, range));
    return vs && vs.every((v) => v !== undefined) ? (vs as number[]) : undefined;
  };
  const auWeight = opt('auWeight', (n) => (n.type === 'null' ? null : vectorK(n, 'auWeight')));
  const auRate = opt('auRate', (n) => vectorK(n, 'auRate', { min: 0, max: 1 }));
  const reduction = opt('reduction', (n) => ck.oneOf(n, 'reduction', ['mean', 'sum'] as const));
  const extras: Partial<AunceOptions> = {
    negWeighting: opt('negWeighting', (n) => ck.oneOf(n, 'negWeighting', ['R1', 'R2'] as const)),
    betaSwap: opt('betaSwap', (n) => ck.boolean(n, 'betaSwap')),
    betaBy: opt('betaBy', (n) => ck.oneOf(n, 'betaBy', ['label', 'frequency'] as const)),
    excludePartnerFromPool: opt('excludePartnerFromPool', (n) => ck.boolean(n, 'excludePartnerFromPool')),
    centroidRenormalise: opt('centroidRenormalise', (n) => ck.boolean(n, 'centroidRenormalise')),
  };
  if (mode === 'official') {
    for (const [f, dflt] of Object.entries(PAPER_ONLY) as [keyof typeof PAPER_ONLY, string | boolean][]) {
      const v = extras[f];
      if (v !== undefined && v !== dflt) ck.at(fields.get(f)!, f, `exists only in paper mode (the official code has no such switch, spec §4); remove it or set it to ${JSON.stringify(dflt)}`);
    }
  }
  if (extras.betaBy === 'frequency' && !fields.has('auRate')) ck.at(fields.get('betaBy')!, 'betaBy', `'frequency' needs auRate: [K] training-set rates of y = 1`);

  ck.problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (ck.problems.length > 0) throw new LossInputError(file, ck.problems);
  // no problem reported means every required piece was read
  const [v1, v2] = views as [Float64Array, Float64Array];
  const z = new Float64Array(2 * v1.length);
  z.set(v1, 0);
  z.set(v2, v1.length);
  const m = mode!;
  const options: LossInput['options'] = {
    mode: m,
    positive: positive!,
    tau: tau ?? 0.5,
    betaActive: betaActive ?? 1.2,
    betaInactive: betaInactive ?? (m === 'paper' ? 0.4 : 0.8),
    auWeight: auWeight ?? null,
  };
  if (reduction !== undefined) options.reduction = reduction;
  if (auRate !== undefined) options.auRate = auRate;
  for (const [f, v] of Object.entries(extras)) if (v !== undefined) Object.assign(options, { [f]: v });
  return { B: B!, K: K!, D: D!, labels, z, options };
}

/** Reads FILE and parses it (see parseLossInput). */
export function readLossInput(file: string): LossInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the input ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseLossInput(text, file);
}
