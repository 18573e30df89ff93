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

/** One case: a title line, then a row per implementation and variant, fastest first. */
export function caseTable(c: BenchCase, rows: readonly Row[], roofline: Roofline | null): string {
  const limit = roofline ? rooflineLimit(roofline, c.flops, c.bytes) : null;
  const bound = roofline ? (limit! < roofline.peakGflops ? 'memory-bound' : 'compute-bound') : '';
  const title =
    `${c.name}  [${shapeKey(c)}]  ${formatNumber(c.flops / 1e9)} GFLOP, ${formatBytes(c.bytes)}` +
    (limit !== null ? `, roofline ${formatNumber(limit)} GFLOP/s (${bound})` : '');
  if (rows.length === 0) return `${title}\n  (no rows)`;
  const ours = ourRows(rows);
  const headers = ['impl', 'variant', 'clock', 'median ms', 'GFLOP/s', 'GB/s', '% roof', ...ours.map((o) => `vs ours/${o.variant}`)];
  const align: Align[] = ['left', 'left', 'left', 'right', 'right', 'right', 'right', ...ours.map((): Align => 'right')];
  const sorted = [...rows].sort((a, b) => a.medianMs - b.medianMs);
  const cells = sorted.map((r) => [
    r.impl,
    r.variant,
    r.clock,
    formatNumber(r.medianMs),
    formatNumber(r.gflops),
    formatNumber(r.gbps),
    r.roofPct === null ? '-' : `${formatNumber(r.roofPct)}%`,
    ...ours.map((o) => formatRatio(r.medianMs / o.medianMs)),
  ]);
  const body = formatTable(headers, cells, align)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `${title}\n${body}`;
}

/** Every case that has rows, in case-list order. */
export function resultTables(cases: readonly BenchCase[], rows: readonly Row[], roofline: Roofline | null): string {
  return cases
    .map((c) => caseTable(c, rows.filter((r) => r.case === c.name), roofline))
    .join('\n\n');
}

export const RATIO_LEGEND =
  "'vs ours/V': this row's median time / ours (variant V); above 1 ours is faster. " +
  "'% roof': GFLOP/s over min(FMA peak, FLOP/byte x bandwidth) of the WebGPU device (for CPU runners, the same limit as lavapipe sees on this CPU).";
