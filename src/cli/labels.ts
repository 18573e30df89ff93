/**
 * `aunce labels <bp4d|disfa|gft|affwild2|native> --root DIR [--fold N] [--split train|test] [--json]`:
 * label statistics from the raw label files (or a converted native dataset): frame count, per-AU
 * occurrence over labelled frames, unlabelled frames per AU, and the class weights of spec §2.1
 * (the paper's Table I and the `*_weight_fold*.txt` files). Folds are 1-based, as in the paper.
 *
 * stdout holds the JSON (with --json) or the table; rows skipped by --skip-bad and rows a dataset's
 * rules drop (Aff-Wild2's -1 rows) are reported on stderr, and with --skip-bad also in the JSON.
 */
import { writeFileSync } from 'node:fs';
import { Argument, Command, Option } from 'commander';
import { NativeReader } from '../data/native.js';
import {
  DATASETS, DatasetError, droppedCounts, foldSubjects, labelStats, readDataset, selectFrames,
  type DatasetName, type LabelStats, type Split,
} from '../data/datasets/index.js';
import { intArg } from './args.js';

export type LabelSource = DatasetName | 'native';
export const LABEL_SOURCES: readonly LabelSource[] = [...DATASETS, 'native'];

export interface LabelsOptions {
  root: string;
  fold?: number;
  split?: Split;
  skipBad?: boolean;
  threshold?: number;
}

export interface LabelsResult {
  stats: LabelStats;
  /** rows skipped by skipBad, per reason */
  skipped: Record<string, number>;
  /** rows dropped by the dataset's own rules, per reason */
  dropped: Record<string, number>;
}

export async function runLabels(source: LabelSource, o: LabelsOptions): Promise<LabelsResult> {
  if (source === 'native') return nativeLabels(o);
  const ds = readDataset(source, o.root, { skipBad: o.skipBad, threshold: o.threshold });
  const sel = { fold: o.fold, split: o.split };
  const frames = selectFrames(ds, sel, o.skipBad);
  return { stats: labelStats(frames, ds.aus), skipped: ds.skipped, dropped: droppedCounts(ds, sel) };
}

async function nativeLabels(o: LabelsOptions): Promise<LabelsResult> {
  const reader = await NativeReader.open(o.root);
  try {
    const { meta } = reader.manifest;
    const protocol = { subjects: meta.subjects, folds: meta.folds.map((f) => f.map((s) => meta.subjects[s]!)) };
    const keep = foldSubjects(protocol, { fold: o.fold, split: o.split }, `native (${meta.dataset})`);
    const kept = [];
    for await (const f of reader.frames()) if (keep.has(meta.subjects[f.subject]!)) kept.push({ labels: f.labels, mask: f.mask });
    return { stats: labelStats(kept, meta.aus), skipped: {}, dropped: {} };
  } finally {
    await reader.close();
  }
}

const pct = (x: number) => (Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);

/** The human table: one row per AU. */
export function formatLabels(title: string, s: LabelStats): string {
  const rows = [`${title}: ${s.frames} frames`, 'AU     occurrence  labelled  missing    weight'];
  s.aus.forEach((au, k) => {
    const w = s.weights[k];
    rows.push(`${`AU${au}`.padEnd(6)} ${pct(s.occurrence[k]!).padStart(10)}  ${String(s.frames - s.missing[k]!).padStart(8)}  ${String(s.missing[k]).padStart(7)}  ${(w == null ? '-' : w.toFixed(6)).padStart(8)}`);
  });
  return `${rows.join('\n')}\n`;
}

const countsLine = (what: string, c: Record<string, number>) =>
  `${what} ${Object.entries(c).map(([r, n]) => `${n} (${r})`).join(', ')}`;


interface CliOptions {
  root: string;
  fold?: number;
  split?: Split;
  json?: boolean;
  skipBad?: boolean;
  threshold?: number;
  weightsFile?: string;
}

/** The weights as the official `*_weight_fold*.txt` files hold them: one line, six decimals. */
export function formatWeights(s: LabelStats): string {
  const missing = s.weights.findIndex((w) => w === null);
  if (missing >= 0) throw new RangeError(`AU${s.aus[missing]} never occurs in the selected frames: no weights file (1/r is infinite)`);
  return `${s.weights.map((w) => w!.toFixed(6)).join(' ')}\n`;
}

export function labelsCommand(): Command {
  return new Command('labels')
    .description('AU label statistics of a dataset split: frames, occurrence, unlabelled counts and class weights (spec 2.1)')
    .addArgument(new Argument('<source>', `one of ${LABEL_SOURCES.join(', ')}`).choices(LABEL_SOURCES as string[]))
    .requiredOption('--root <dir>', 'the dataset root as distributed (or a native dataset)')
    .option('--fold <n>', 'fold, 1-based (BP4D/DISFA: 1-3; GFT, Aff-Wild2: 1)', intArg('--fold', 1))
    .addOption(new Option('--split <side>', 'side of the fold').choices(['train', 'test']))
    .option('--threshold <n>', 'DISFA: intensity counted as active (default 2)', intArg('--threshold', 1))
    .option('--skip-bad', 'skip malformed rows and files, and report how many per reason')
    .option('--json', 'print {"frames","aus","occurrence","missing","weights"} as JSON')
    .option('--weights-file <file>', 'also write the weights as one line of six-decimal numbers (the official *_weight_fold*.txt)')
    .action(async (source: LabelSource, o: CliOptions) => {
      let r: LabelsResult;
      try {
        r = await runLabels(source, o);
        if (o.weightsFile) writeFileSync(o.weightsFile, formatWeights(r.stats));
      } catch (err) {
        if (!(err instanceof DatasetError || err instanceof RangeError)) throw err;
        console.error(`aunce labels: ${err.message}`);
        process.exitCode = 1;
        return;
      }
      if (Object.keys(r.dropped).length > 0) console.error(countsLine(`aunce labels: ${source}: dropped`, r.dropped));
      if (o.skipBad) console.error(Object.keys(r.skipped).length > 0 ? countsLine(`aunce labels: ${source}: skipped`, r.skipped) : `aunce labels: ${source}: nothing skipped`);
      for (const [k, w] of r.stats.weights.entries()) {
        if (w === null) console.error(`aunce labels: AU${r.stats.aus[k]} never occurs in the selected frames: no weight (1/r is infinite)`);
      }
      if (o.json) {
        const { frames, aus, occurrence, missing, weights } = r.stats;
        const out: Record<string, unknown> = { frames, aus, occurrence, missing, weights };
        if (o.skipBad) out.skipped = r.skipped;
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else {
        const side = o.split ? `, fold ${o.fold ?? 1} ${o.split}` : o.fold ? `, fold ${o.fold} (all frames)` : '';
        process.stdout.write(formatLabels(`${source}${side}`, r.stats));
      }
    });
}
