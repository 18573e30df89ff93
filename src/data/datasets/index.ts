/**
 * The four AU benchmarks by name, fold/split selection over their protocols, and the label
 * statistics of `aunce labels` (occurrence rates, unlabelled counts and the class weights of
 * spec §2.1: r_i over labelled frames, w = 1/r, w = w / sum(w) * m).
 */
import { readAffwild2 } from './affwild2.js';
import { readBp4d } from './bp4d.js';
import { DatasetError, splitWhere, type DatasetLabels, type DatasetName, type LabelledFrame, type Protocol, type ReadOptions } from './common.js';
import { readDisfa } from './disfa.js';
import { readGft } from './gft.js';

export * from './common.js';
export { AFFWILD2_AUS } from './affwild2.js';
export { BP4D_AUS, BP4D_PARTS } from './bp4d.js';
export { DISFA_AUS, DISFA_PARTS } from './disfa.js';
export { GFT_AUS, GFT_TEST_GROUPS } from './gft.js';

export const DATASETS: readonly DatasetName[] = ['bp4d', 'disfa', 'gft', 'affwild2'];

const READERS: Record<DatasetName, (root: string, opts: ReadOptions) => DatasetLabels> = {
  bp4d: readBp4d,
  disfa: readDisfa,
  gft: readGft,
  affwild2: readAffwild2,
};

export function readDataset(name: DatasetName, root: string, opts: ReadOptions = {}): DatasetLabels {
  return READERS[name](root, opts);
}

export type Split = 'train' | 'test';

export interface Selection {
  /** 1-based fold; needed with a split where the protocol has several folds */
  fold?: number;
  split?: Split;
}

/**
 * The subjects of one side of a fold: the fold's test subjects, or all other protocol subjects.
 * Without a split, every subject. Throws a RangeError for a fold the protocol does not have.
 */
export function foldSubjects(protocol: Protocol, sel: Selection, what: string): Set<string> {
  if (sel.fold === undefined && sel.split === undefined) return new Set(protocol.subjects);
  const nf = protocol.folds.length;
  const fold = sel.fold ?? (nf === 1 ? 1 : undefined);
  if (fold === undefined) throw new RangeError(`${what}: --split needs --fold (1-${nf})`);
  if (!Number.isInteger(fold) || fold < 1 || fold > nf) throw new RangeError(`${what}: fold ${fold} does not exist (folds 1-${nf})`);
  const test = new Set(protocol.folds[fold - 1]);
  if (sel.split === undefined) return new Set(protocol.subjects);
  return new Set(protocol.subjects.filter((s) => (sel.split === 'test') === test.has(s)));
}

/**
 * The frames of a fold's side. With a fold or split, a frame of a subject outside the protocol is
 * an error naming its file and line (or skipped and counted with skipBad).
 */
export function selectFrames(ds: DatasetLabels, sel: Selection, skipBad = false): LabelledFrame[] {
  const keep = foldSubjects(ds.protocol, sel, ds.dataset);
  if (sel.fold === undefined && sel.split === undefined) return ds.frames;
  const known = new Set(ds.protocol.subjects);
  return ds.frames.filter((f) => {
    if (!known.has(f.subject)) {
      const [file, line] = splitWhere(f.where);
      const err = new DatasetError(file, line, 'subject', 'unknown subject',
        `the subject ${f.subject} is in none of the ${ds.dataset} protocol's parts`);
      if (!skipBad) throw err;
      ds.skipped['unknown subject'] = (ds.skipped['unknown subject'] ?? 0) + 1;
      return false;
    }
    return keep.has(f.subject);
  });
}

/** Rows the dataset's rules dropped among the selected subjects, per reason. */
export function droppedCounts(ds: DatasetLabels, sel: Selection): Record<string, number> {
  const keep = foldSubjects(ds.protocol, sel, ds.dataset);
  const out: Record<string, number> = {};
  for (const d of ds.dropped) if (keep.has(d.subject)) out[d.reason] = (out[d.reason] ?? 0) + d.count;
  return out;
}

export interface LabelStats {
  frames: number;
  aus: number[];
  /** positives / labelled frames, per AU (NaN where no frame is labelled) */
  occurrence: number[];
  /** frames without a label, per AU */
  missing: number[];
  /** spec §2.1 class weights; null for an AU that never occurs (1/r is infinite) */
  weights: (number | null)[];
}

/** Anything with per-AU labels and a mask (LabelledFrame, or a native frame). */
export interface Labelled {
  labels: ArrayLike<number>;
  mask: ArrayLike<number>;
}

/**
 * Per-AU occurrence over labelled frames, unlabelled counts and the class weights. The weights are
 * normalised over the AUs that occur (sum = their count, = m when all occur); an AU with r = 0 gets
 * null rather than an infinite weight.
 */
export function labelStats(frames: Iterable<Labelled>, aus: number[]): LabelStats {
  const K = aus.length;
  const pos = new Float64Array(K);
  const lab = new Float64Array(K);
  let n = 0;
  for (const f of frames) {
    n++;
    for (let k = 0; k < K; k++) {
      if (f.mask[k]) {
        lab[k] = lab[k]! + 1;
        if (f.labels[k]) pos[k] = pos[k]! + 1;
      }
    }
  }
  const occurrence = aus.map((_, k) => (lab[k]! > 0 ? pos[k]! / lab[k]! : Number.NaN));
  const inv = occurrence.map((r) => (r > 0 ? 1 / r : null));
  const finite = inv.filter((w): w is number => w !== null);
  const sum = finite.reduce((a, b) => a + b, 0);
  const weights = inv.map((w) => (w === null ? null : (w / sum) * finite.length));
  return { frames: n, aus: [...aus], occurrence, missing: aus.map((_, k) => n - lab[k]!), weights };
}
