/**
 * Per-AU detection metrics exactly as the released evaluation computes them (spec §6.4,
 * `utils.statistics`, `calc_f1_score`, `calc_acc`): prediction = 1[P(active) >= threshold];
 * TP/FP/TN/FN accumulated per AU over the whole test fold; P = TP/(TP+FP+1e-20),
 * R = TP/(TP+FN+1e-20), F1 = 2PR/(P+R+1e-20), Acc = (TP+TN)/total; averages are arithmetic over
 * AUs, and results across folds are the mean over folds. Unlabelled entries (mask 0) are left out.
 */

export interface AuCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface AuMetrics extends AuCounts {
  f1: number;
  accuracy: number;
  precision: number;
  recall: number;
  /** F1 of the trivial all-positive predictor on the same frames: 2r/(1+r) with r the positive rate */
  trivialF1: number;
}

export interface Metrics {
  perAU: AuMetrics[];
  meanF1: number;
  meanAccuracy: number;
  meanTrivialF1: number;
}

const TINY = 1e-20;

/** Accumulates counts batch by batch; `compute()` gives the metrics of everything seen. */
export class MetricAccumulator {
  private readonly counts: AuCounts[];

  constructor(
    readonly numAUs: number,
    readonly threshold = 0.5,
  ) {
    if (!Number.isInteger(numAUs) || numAUs < 1) throw new RangeError(`MetricAccumulator: numAUs must be a positive integer, got ${numAUs}`);
    this.counts = Array.from({ length: numAUs }, () => ({ tp: 0, fp: 0, tn: 0, fn: 0 }));
  }

  /**
   * probs and labels are [n, K] row-major (probability of "active", label 0/1); mask (optional,
   * [n, K]) is 1 where the label is known.
   */
  add(probs: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void {
    const K = this.numAUs;
    if (probs.length !== labels.length || probs.length % K !== 0 || (mask && mask.length !== labels.length)) {
      throw new RangeError(`MetricAccumulator.add: probs (${probs.length}), labels (${labels.length})${mask ? ` and mask (${mask.length})` : ''} must all hold n x ${K} values`);
    }
    for (let i = 0; i < labels.length; i++) {
      if (mask && !mask[i]) continue;
      const y = labels[i];
      if (y !== 0 && y !== 1) throw new RangeError(`MetricAccumulator.add: label ${String(y)} at row ${Math.floor(i / K)}, AU ${i % K} is not 0 or 1`);
      const p = probs[i]!;
      if (Number.isNaN(p)) throw new RangeError(`MetricAccumulator.add: probability at row ${Math.floor(i / K)}, AU ${i % K} is NaN`);
      const c = this.counts[i % K]!;
      const pred = p >= this.threshold;
      if (pred && y === 1) c.tp++;
      else if (pred) c.fp++;
      else if (y === 1) c.fn++;
      else c.tn++;
    }
  }

  compute(): Metrics {
    return metricsFromCounts(this.counts);
  }
}

export function metricsFromCounts(counts: readonly AuCounts[]): Metrics {
  const perAU = counts.map((c) => {
    const precision = c.tp / (c.tp + c.fp + TINY);
    const recall = c.tp / (c.tp + c.fn + TINY);
    const total = c.tp + c.fp + c.tn + c.fn;
    const rate = total > 0 ? (c.tp + c.fn) / total : 0;
    return {
      ...c,
      precision,
      recall,
      f1: (2 * precision * recall) / (precision + recall + TINY),
      accuracy: total > 0 ? (c.tp + c.tn) / total : 0,
      trivialF1: (2 * rate) / (1 + rate),
    };
  });
  const mean = (f: (m: AuMetrics) => number) => perAU.reduce((s, m) => s + f(m), 0) / perAU.length;
  return { perAU, meanF1: mean((m) => m.f1), meanAccuracy: mean((m) => m.accuracy), meanTrivialF1: mean((m) => m.trivialF1) };
}

/** The 3-fold report: per AU and on average, the mean of each metric over the folds. */
export function aggregateFolds(folds: readonly Metrics[]): Metrics {
  if (folds.length === 0) throw new RangeError('aggregateFolds: no folds');
  const K = folds[0]!.perAU.length;
  if (folds.some((f) => f.perAU.length !== K)) throw new RangeError('aggregateFolds: folds have different AU counts');
  const avg = (f: (m: Metrics) => number) => folds.reduce((s, m) => s + f(m), 0) / folds.length;
  const perAU = Array.from({ length: K }, (_, k) => {
    const pick = (key: keyof AuMetrics) => avg((m) => m.perAU[k]![key]);
    return {
      tp: pick('tp'),
      fp: pick('fp'),
      tn: pick('tn'),
      fn: pick('fn'),
      f1: pick('f1'),
      accuracy: pick('accuracy'),
      precision: pick('precision'),
      recall: pick('recall'),
      trivialF1: pick('trivialF1'),
    };
  });
  return { perAU, meanF1: avg((m) => m.meanF1), meanAccuracy: avg((m) => m.meanAccuracy), meanTrivialF1: avg((m) => m.meanTrivialF1) };
}
