/**
 * `aunce report`: reads run directories (config.json, log.jsonl, eval.json as src/train/jobs.ts and
 * src/train/loop.ts write them), builds a Markdown report (a header per run, the per-AU table of F1,
 * accuracy, precision and recall in percent with the mean row and the all-positive predictor's F1)
 * and the learning curves as a vega-lite spec rendered to SVG headless (vega renderer 'none').
 * Everything here is pure except readRun (reads files) and renderCurves (async vega).
 * Errors name the file and the line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { AuMetrics, Metrics } from './metrics.js';

export const PHASES = ['pretrain', 'wce', 'linear'] as const;
export type LogPhase = (typeof PHASES)[number];

export interface LogEntry {
  phase: LogPhase;
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  time: number;
  imagesPerSec?: number;
  perAU?: number[];
}

export interface RunEval {
  name: string;
  protocol: 'strict' | 'released';
  fold: number;
  aus: number[];
  epoch?: number;
  selectedOn?: string;
  metrics: Metrics;
}

export interface RunData {
  dir: string;
  /** eval.json's name, else config.json's, else the directory's name; unique within a report */
  name: string;
  config: Record<string, unknown>;
  log: LogEntry[];
  eval: RunEval | null;
}

export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}

const lineOf = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

/** A JSON file's tree; syntax errors name file:line:column. */
function parseJsonFile(text: string, file: string): Node {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length > 0 || !tree) {
    const e = errors[0];
    const off = e?.offset ?? 0;
    const col = off - text.lastIndexOf('\n', off - 1);
    throw new ReportError(`${file}:${lineOf(text, off)}:${col}: invalid JSON (${e ? printParseErrorCode(e.error) : 'empty file'})`);
  }
  return tree;
}

function readText(file: string): string {
  if (!existsSync(file)) throw new ReportError(`${file}: no such file`);
  return readFileSync(file, 'utf8');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** Parses log.jsonl text; blank lines are skipped; a later entry for the same phase and step (a resumed run) replaces the earlier. */
export function parseLog(text: string, file: string): LogEntry[] {
  const byKey = new Map<string, LogEntry>();
  text.split('\n').forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    if (raw.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw new ReportError(`${where}: invalid JSON line (${(err as Error).message})`);
    }
    if (!isObject(v)) throw new ReportError(`${where}: expected a JSON object, got ${show(v)}`);
    if (!PHASES.includes(v.phase as LogPhase)) throw new ReportError(`${where}: 'phase' must be one of ${PHASES.join(', ')}, got ${show(v.phase)}`);
    for (const key of ['step', 'epoch', 'loss', 'lr', 'time']) {
      if (!isNum(v[key])) throw new ReportError(`${where}: '${key}' must be a finite number, got ${show(v[key])}`);
    }
    if (v.imagesPerSec !== undefined && !isNum(v.imagesPerSec)) throw new ReportError(`${where}: 'imagesPerSec' must be a finite number, got ${show(v.imagesPerSec)}`);
    if (v.perAU !== undefined && !(Array.isArray(v.perAU) && v.perAU.every((x) => typeof x === 'number'))) throw new ReportError(`${where}: 'perAU' must be an array of numbers`);
    const e = v as unknown as LogEntry;
    byKey.delete(`${e.phase}/${e.step}`);
    byKey.set(`${e.phase}/${e.step}`, e);
  });
  return [...byKey.values()];
}

const METRIC_KEYS = ['f1', 'accuracy', 'precision', 'recall', 'trivialF1'] as const;

/** Parses eval.json text; errors name file:line of the offending field. */
export function parseEval(text: string, file: string): RunEval {
  const tree = parseJsonFile(text, file);
  const v: unknown = JSON.parse(text);
  const fail = (path: (string | number)[], msg: string): never => {
    let node: Node | undefined;
    for (let n = path.length; n >= 0 && !node; n--) node = findNodeAtLocation(tree, path.slice(0, n));
    throw new ReportError(`${file}:${lineOf(text, node?.offset ?? 0)}: ${msg}`);
  };
  if (!isObject(v)) return fail([], 'expected a JSON object');
  if (typeof v.name !== 'string') fail(['name'], `'name' must be a string, got ${show(v.name)}`);
  if (v.protocol !== 'strict' && v.protocol !== 'released') fail(['protocol'], `'protocol' must be 'strict' or 'released', got ${show(v.protocol)}`);
  if (!isNum(v.fold)) fail(['fold'], `'fold' must be a number, got ${show(v.fold)}`);
  if (!Array.isArray(v.aus) || !v.aus.every(isNum)) fail(['aus'], `'aus' must be an array of AU numbers`);
  const m = v.metrics;
  if (!isObject(m)) return fail(['metrics'], `'metrics' must be an object`);
  if (!Array.isArray(m.perAU)) return fail(['metrics', 'perAU'], `'metrics.perAU' must be an array`);
  const aus = v.aus as number[];
  if (m.perAU.length !== aus.length) fail(['metrics', 'perAU'], `'metrics.perAU' has ${m.perAU.length} entries but 'aus' has ${aus.length}`);
  m.perAU.forEach((a: unknown, k: number) => {
    if (!isObject(a)) return fail(['metrics', 'perAU', k], `'metrics.perAU[${k}]' must be an object`);
    for (const key of METRIC_KEYS) if (!isNum(a[key])) fail(['metrics', 'perAU', k, key], `'metrics.perAU[${k}].${key}' must be a finite number, got ${show(a[key])}`);
  });
  for (const key of ['meanF1', 'meanAccuracy', 'meanTrivialF1']) if (!isNum(m[key])) fail(['metrics', key], `'metrics.${key}' must be a finite number, got ${show(m[key])}`);
  return v as unknown as RunEval;
}

/** Reads one run directory: config.json and log.jsonl are required, eval.json optional. */
export function readRun(dir: string): RunData {
  if (!existsSync(dir)) throw new ReportError(`${dir}: no such run directory`);
  const cfgFile = join(dir, 'config.json');
  const cfgText = readText(cfgFile);
  parseJsonFile(cfgText, cfgFile);
  const config: unknown = JSON.parse(cfgText);
  if (!isObject(config)) throw new ReportError(`${cfgFile}:1: expected a JSON object`);
  const logFile = join(dir, 'log.jsonl');
  const log = parseLog(readText(logFile), logFile);
  const evalFile = join(dir, 'eval.json');
  const ev = existsSync(evalFile) ? parseEval(readFileSync(evalFile, 'utf8'), evalFile) : null;
  const name = ev?.name ?? (typeof config.name === 'string' ? config.name : basename(resolve(dir)));
  return { dir, name, config, log, eval: ev };
}

/** Reads all run directories; duplicate names get the directory appended. */
export function readRuns(dirs: readonly string[]): RunData[] {
  if (dirs.length === 0) throw new ReportError('report: no run directories given');
  const runs = dirs.map(readRun);
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  return runs.map((r) => ((counts.get(r.name) ?? 0) > 1 ? { ...r, name: `${r.name} (${r.dir})` } : r));
}

// ---------------------------------------------------------------------------------------------
// Markdown

export const pct = (x: number): string => (100 * x).toFixed(1);

function get(obj: Record<string, unknown>, path: string): unknown {
  let v: unknown = obj;
  for (const key of path.split('.')) v = isObject(v) ? v[key] : undefined;
  return v;
}

/** What each evaluation protocol means (spec §6.4), printed once under the table. */
export const PROTOCOL_NOTE =
  "Protocols: **strict** = encoder in eval mode, model selection on a validation split (never the test set); " +
  '**released** = the released code\'s behaviour: encoder in train mode while the head trains, best test epoch (test-set model selection).';

/** The header block of one run. */
export function runHeader(run: RunData): string {
  const c = run.config;
  const lines = [`### ${run.name}`, '', `- directory: \`${run.dir}\``];
  const job = get(c, 'job');
  if (job !== undefined) lines.push(`- job: ${String(job)}`);
  const dataset = get(c, 'data.dataset');
  const fold = run.eval?.fold ?? get(c, 'data.fold');
  lines.push(`- dataset: ${dataset === undefined ? 'not given' : String(dataset)}, fold ${fold === undefined ? 'not given' : String(fold)}`);
  if (run.eval) {
    const sel = run.eval.selectedOn ? `; model selected on: ${run.eval.selectedOn}${run.eval.epoch !== undefined ? `, epoch ${run.eval.epoch}` : ''}` : '';
    lines.push(`- evaluation protocol: **${run.eval.protocol}**${sel}`);
  } else {
    const p = get(c, 'linear.protocol');
    lines.push(`- evaluation: none (no eval.json; only the learning curves are shown)${p === 'strict' || p === 'released' ? `; configured protocol: '${p}'` : ''}`);
  }
  const jobPhases = job === 'pretrain' || job === 'wce' ? [job] : ['pretrain', 'wce'];
  const configured = jobPhases.map((ph) => [ph, get(c, `${ph}.steps`)] as const).filter(([, s]) => s !== undefined);
  const logged = PHASES.map((ph) => {
    const es = run.log.filter((e) => e.phase === ph);
    return { ph, steps: es.length ? Math.max(...es.map((e) => e.step)) : 0, ips: es.filter((e) => e.imagesPerSec !== undefined).sort((a, b) => b.step - a.step)[0]?.imagesPerSec };
  }).filter((p) => p.steps > 0);
  lines.push(`- steps: ${configured.length ? `configured ${configured.map(([ph, s]) => `${ph} ${String(s)}`).join(', ')}; ` : ''}logged ${logged.length ? logged.map((p) => `${p.ph} ${p.steps}`).join(', ') : 'none'}`);
  const ips = logged.filter((p) => p.ips !== undefined);
  lines.push(`- images/s: ${ips.length ? ips.map((p) => `${p.ph} ${p.ips!.toFixed(1)}`).join(', ') : 'not logged'}`);
  if (run.eval) lines.push(`- mean F1 ${pct(run.eval.metrics.meanF1)} %, mean accuracy ${pct(run.eval.metrics.meanAccuracy)} % (all-positive predictor: F1 ${pct(run.eval.metrics.meanTrivialF1)} %)`);
  return lines.join('\n');
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * The per-AU table: rows AU numbers (sorted, the union over runs) then the mean; per evaluated run the
 * columns F1, Acc, P, R (percent, one decimal); the all-positive F1 once when all runs agree on it
 * (same test frames), else one column per run. A run without an AU shows '–'.
 */
export function auTable(runs: readonly RunData[]): string {
  const evald = runs.filter((r): r is RunData & { eval: RunEval } => r.eval !== null);
  if (evald.length === 0) return '_No run has an eval.json: no per-AU results._';
  const aus = [...new Set(evald.flatMap((r) => r.eval.aus))].sort((a, b) => a - b);
  const cell = (r: RunEval, au: number): AuMetrics | undefined => r.metrics.perAU[r.aus.indexOf(au)];
  const trivialOf = (au: number): (number | undefined)[] => evald.map((r) => cell(r.eval, au)?.trivialF1);
  const shared = aus.every((au) => {
    const t = trivialOf(au).filter((x) => x !== undefined);
    return t.every((x) => Math.abs(x - t[0]!) < 1e-9);
  });
  const head = ['AU', ...evald.flatMap((r) => ['F1', 'Acc', 'P', 'R'].map((m) => `${r.name} ${m}`))];
  head.push(...(shared ? ['all-positive F1'] : evald.map((r) => `${r.name} all-positive F1`)));
  const dash = '–';
  const rows = aus.map((au) => {
    const cells = [`AU${au}`];
    for (const r of evald) {
      const m = cell(r.eval, au);
      cells.push(...(m ? [m.f1, m.accuracy, m.precision, m.recall].map(pct) : [dash, dash, dash, dash]));
    }
    const t = trivialOf(au);
    if (shared) {
      const x = t.find((v) => v !== undefined);
      cells.push(x === undefined ? dash : pct(x));
    } else cells.push(...t.map((x) => (x === undefined ? dash : pct(x))));
    return cells;
  });
  const meanRow = ['**mean**'];
  for (const r of evald) {
    const m = r.eval.metrics;
    meanRow.push(...[m.meanF1, m.meanAccuracy, mean(m.perAU.map((a) => a.precision)), mean(m.perAU.map((a) => a.recall))].map((x) => `**${pct(x)}**`));
  }
  if (shared) meanRow.push(`**${pct(mean(evald.map((r) => r.eval.metrics.meanTrivialF1)))}**`);
  else meanRow.push(...evald.map((r) => `**${pct(r.eval.metrics.meanTrivialF1)}**`));
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? ':--' : '--:'))), ...rows.map(line), line(meanRow)].join('\n');
}

export interface ReportOptions {
  title?: string;
  /** the curves file name relative to the report, or null when no curves were drawn */
  curves?: string | null;
}

/** The whole report.md. */
export function reportMarkdown(runs: readonly RunData[], opts: ReportOptions = {}): string {
  const parts = [`# ${opts.title ?? 'AUNCE report'}`, '', '## Runs', ''];
  for (const r of runs) parts.push(runHeader(r), '');
  parts.push('## Per-AU results (%)', '');
  parts.push('F1, accuracy (Acc), precision (P) and recall (R) on the test fold, in percent; the mean row is the arithmetic mean over AUs; "all-positive F1" is the F1 of the trivial predictor that calls every AU active, for scale.', '');
  parts.push(auTable(runs), '');
  if (runs.some((r) => r.eval)) parts.push(PROTOCOL_NOTE, '');
  const missing = runs.filter((r) => !r.eval);
  if (missing.length) parts.push(`Not evaluated (no eval.json): ${missing.map((r) => r.name).join(', ')}.`, '');
  parts.push('## Learning curves', '');
  const curves = opts.curves === undefined ? 'curves.svg' : opts.curves;
  parts.push(curves ? `![loss against step, one line per run and phase](${curves})` : '_No logged steps: no learning curves._', '');
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Learning curves

export interface CurvePoint {
  run: string;
  phase: LogPhase;
  step: number;
  loss: number;
}

/** Loss points per run and phase, sorted by step, thinned to at most maxPoints per series (the last kept). */
export function curvePoints(runs: readonly RunData[], maxPoints = 1000): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const r of runs) {
    for (const phase of PHASES) {
      const es = r.log.filter((e) => e.phase === phase).sort((a, b) => a.step - b.step);
      const every = Math.max(1, Math.ceil(es.length / maxPoints));
      es.forEach((e, i) => {
        if (i % every === 0 || i === es.length - 1) out.push({ run: r.name, phase, step: e.step, loss: e.loss });
      });
    }
  }
  return out;
}

/** The vega-lite spec: one panel per phase (independent scales), one line per run and phase. */
export function curvesSpec(runs: readonly RunData[], title?: string): Record<string, unknown> {
  const values = curvePoints(runs);
  const phases = PHASES.filter((p) => values.some((v) => v.phase === p));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { font: 'sans-serif', view: { stroke: '#ccc' } },
    title: title ?? 'Loss against step',
    data: { values },
    facet: { row: { field: 'phase', type: 'nominal', title: null, sort: phases } },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 480,
      height: 200,
      mark: { type: 'line', interpolate: 'linear' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: { field: 'run', type: 'nominal', title: 'run', sort: runs.map((r) => r.name) },
      },
    },
  };
}

/** Renders the curves to SVG headless (vega-lite → vega, renderer 'none'). */
export async function renderCurves(runs: readonly RunData[], title?: string): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const compiled = vl.compile(curvesSpec(runs, title) as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}
