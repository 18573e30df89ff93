/**
 * Text output of the harness: the header, the roofline line, and one table per case with the
 * ratio of each of our variants to every row (this row's time / our time: above 1, ours is faster).
 */
import { shapeKey, type BenchCase } from './cases.js';
import { rooflineLimit, type Roofline } from './roofline.js';
import type { Row } from './types.js';

export type Align = 'left' | 'right';

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(headers: string[], rows: string[][], align: Align[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Three significant digits, at least two decimals below 10 (0.012, 1.23, 12.3, 123, 1234). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 0.1 || a === 0) return x.toFixed(2);
  return x.toPrecision(2);
}

export function formatRatio(x: number): string {
  return Number.isFinite(x) && x > 0 ? `${formatNumber(x)}x` : '-';
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${formatNumber(v)} ${units[u]}`;
}

/** Percent of the case's roofline limit that each row reaches (rows are updated in place). */
export function annotateRoofline(rows: Row[], cases: readonly BenchCase[], roofline: Roofline | null): void {
  const byName = new Map(cases.map((c) => [c.name, c]));
  for (const r of rows) {
    const c = byName.get(r.case);
    r.roofPct = roofline && c ? (100 * r.gflops) / rooflineLimit(roofline, c.flops, c.bytes) : null;
  }
}

export function rooflineLine(r: Roofline, device: string): string {
  return (
    `roofline of ${device} (${r.clock} clock, measured in this run, best of repeated probes): ` +
    `FMA peak ${formatNumber(r.peakGflops)} GFLOP/s, copy bandwidth ${formatNumber(r.bandwidthGBs)} GB/s ` +
    `(${formatBytes(r.copyBytes)} copied), ridge at ${formatNumber(r.peakGflops / r.bandwidthGBs)} FLOP/B`
  );
}

/** Our rows of a case, best first: the baselines every row is compared with. */
function ourRows(rows: readonly Row[]): Row[] {
  return rows.filter((r) => r.impl === 'ours').sort((a, b) => a.medianMs - b.medianMs);
}

/**
 * The lines under an AUNCE table: how much faster the fused op (as aunceLoss() runs it) is than the
 * unfused graph, and the bytes each leaves allocated between forward and backward.
 */
export function aunceSummary(rows: readonly Row[]): string[] {
  const fused = rows.find((r) => r.impl === 'ours' && r.variant === 'fused');
  const unfused = rows.find((r) => r.impl === 'naive' && r.variant === 'unfused');
  if (!fused || !unfused) return [];
  const kept = (r: Row) => (r.keptBytes === undefined ? '-' : formatBytes(r.keptBytes));
  const less = fused.keptBytes && unfused.keptBytes !== undefined ? ` (${formatRatio(unfused.keptBytes / fused.keptBytes)} less)` : '';
  return [
    `fused vs unfused: ${formatRatio(unfused.medianMs / fused.medianMs)} faster (median ${formatNumber(unfused.medianMs)} ms / ${formatNumber(fused.medianMs)} ms, ${fused.clock} clock)`,
    `kept between forward and backward: fused ${kept(fused)}, unfused ${kept(unfused)}${less}`,
  ];
}

/** The issue's targets for the fused windowed attention, forward + backward. */
export const ATTENTION_TARGETS = { unfused: 2, 'tfjs-webgpu': 20 } as const;

/**
 * The lines under an attention table: how much faster the fused op is than our unfused composition
 * and than TF.js WebGPU composing the same computation, each against the issue's target.
 */
export function attentionSummary(rows: readonly Row[]): string[] {
  const fused = rows.find((r) => r.impl === 'ours' && r.variant === 'fused');
  if (!fused) return [];
  const lines: string[] = [];
  const versus = (label: string, other: Row | undefined, target: number) => {
    if (!other) return;
    const ratio = other.medianMs / fused.medianMs;
    const verdict = ratio >= target ? 'met' : 'not met';
    lines.push(
      `fused vs ${label}: ${formatRatio(ratio)} faster (median ${formatNumber(other.medianMs)} ms / ${formatNumber(fused.medianMs)} ms, ` +
        `${other.clock} / ${fused.clock} clock; target >= ${target}x: ${verdict})`,
    );
  };
  versus('unfused', rows.find((r) => r.impl === 'naive' && r.variant === 'unfused'), ATTENTION_TARGETS.unfused);
  versus('tfjs-webgpu', rows.find((r) => r.impl === 'tfjs-webgpu'), ATTENTION_TARGETS['tfjs-webgpu']);
  return lines;
}

/** One case: a title line, then a row per implementation and variant, fastest first. */
export function caseTable(c: BenchCase, rows: readonly Row[], roofline: Roofline | null): string {
  const limit = roofline ? rooflineLimit(roofline, c.flops, c.bytes) : null;
  const bound = roofline ? (limit! < roofline.peakGflops ? 'memory-bound' : 'compute-bound') : '';
  const title =
    `${c.name}  [${shapeKey(c)}]  ${formatNumber(c.flops / 1e9)} GFLOP, ${formatBytes(c.bytes)}` +
    (limit !== null ? `, roofline ${formatNumber(limit)} GFLOP/s (${bound})` : '');
  if (rows.length === 0) return `${title}\n  (no rows)`;
  const ours = ourRows(rows);
  const withKept = rows.some((r) => r.keptBytes !== undefined);
  const withImages = rows.some((r) => r.imagesPerS !== undefined);
  const withRounds = rows.some((r) => r.roundMedianMs !== undefined);
  const headers = [
    'impl',
    'variant',
    'clock',
    'median ms',
    ...(withRounds ? ['rounds spread'] : []),
    ...(withImages ? ['images/s', 'peak memory'] : []),
    'GFLOP/s',
    'GB/s',
    '% roof',
    ...(withKept ? ['kept fwd->bwd'] : []),
    ...ours.map((o) => `vs ours/${o.variant}`),
  ];
  const align: Align[] = ['left', 'left', 'left', 'right', ...(withRounds ? (['right'] as Align[]) : []), ...(withImages ? (['right', 'right'] as Align[]) : []), 'right', 'right', 'right', ...(withKept ? ['right' as Align] : []), ...ours.map((): Align => 'right')];
  const sorted = [...rows].sort((a, b) => a.medianMs - b.medianMs);
  const cells = sorted.map((r) => [
    r.impl,
    r.variant,
    r.clock,
    formatNumber(r.medianMs),
    ...(withRounds ? [roundSpread(r)] : []),
    ...(withImages ? [r.imagesPerS === undefined ? '-' : formatNumber(r.imagesPerS), r.peakBytes === undefined ? '-' : formatBytes(r.peakBytes)] : []),
    formatNumber(r.gflops),
    formatNumber(r.gbps),
    r.roofPct === null ? '-' : `${formatNumber(r.roofPct)}%`,
    ...(withKept ? [r.keptBytes === undefined ? '-' : formatBytes(r.keptBytes)] : []),
    ...ours.map((o) => formatRatio(r.medianMs / o.medianMs)),
  ]);
  const lines = [...formatTable(headers, cells, align).split('\n'), ...(c.op === 'aunce' ? aunceSummary(rows) : []), ...(c.op === 'attention' ? attentionSummary(rows) : [])];
  return `${title}\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/** The slowest round's median over the fastest one's ('-' for a row of one round). */
export function roundSpread(r: Row): string {
  const m = r.roundMedianMs;
  if (!m || m.length < 2) return '-';
  return formatRatio(Math.max(...m) / Math.min(...m));
}

/** Every case that has rows, in case-list order. */
export function resultTables(cases: readonly BenchCase[], rows: readonly Row[], roofline: Roofline | null): string {
  return cases
    .map((c) => caseTable(c, rows.filter((r) => r.case === c.name), roofline))
    .join('\n\n');
}

export const RATIO_LEGEND =
  "'vs ours/V': this row's median time / ours (variant V); above 1 ours is faster. " +
  "'rounds spread' (with --rounds): the slowest round's median time over the fastest round's. " +
  "'% roof': GFLOP/s over min(FMA peak, FLOP/byte x bandwidth) of the WebGPU device (for CPU runners, the same limit as lavapipe sees on this CPU). " +
  "aunce cases time the loss forward + backward; 'kept fwd->bwd': device bytes the forward leaves allocated for the backward. " +
  "attention cases time forward + backward (dQ, dK, dV, dBias). encoder cases: 'images/s' is the batch over the median time; " +
  "'peak memory' the most device bytes in use during one step, weights included. Clock 'gpu' on our aunce, attention and encoder rows: one timestamp span " +
  'from the first dispatch to the end of the last; on tfjs-webgpu rows: the sum of its programs\' timestamp durations.';
