/**
 * `aunce report RUN... [--out DIR] [--title T]`: writes DIR/report.md (a header per run, the per-AU
 * table of F1, accuracy, precision and recall with the mean row and the all-positive predictor's F1)
 * and DIR/curves.svg (loss against step, one line per run and phase), and prints the Markdown.
 * DIR defaults to the first run directory. See src/train/report.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { curvePoints, readRuns, renderCurves, reportMarkdown } from '../train/report.js';

export interface ReportResult {
  markdown: string;
  /** the files written */
  files: string[];
}

export async function runReport(dirs: readonly string[], o: { out?: string; title?: string } = {}): Promise<ReportResult> {
  const runs = readRuns(dirs);
  const out = o.out ?? dirs[0]!;
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const hasCurves = curvePoints(runs).length > 0;
  if (hasCurves) {
    const svg = await renderCurves(runs, o.title ? `${o.title}: loss against step` : undefined);
    files.push(join(out, 'curves.svg'));
    writeFileSync(files[0]!, svg);
  }
  const markdown = reportMarkdown(runs, { title: o.title, curves: hasCurves ? 'curves.svg' : null });
  files.push(join(out, 'report.md'));
  writeFileSync(join(out, 'report.md'), markdown);
  return { markdown, files };
}

export function reportCommand(): Command {
  return new Command('report')
    .description('a Markdown table per AU and an SVG of the learning curves of one or more run directories')
    .argument('<run...>', 'run directories written by aunce train / aunce eval')
    .option('--out <dir>', 'where report.md and curves.svg go (default: the first run directory)')
    .option('--title <text>', 'the report\'s title')
    .action(async (dirs: string[], o: { out?: string; title?: string }) => {
      const r = await runReport(dirs, o);
      process.stdout.write(r.markdown);
      console.error(`wrote ${r.files.join(', ')}`);
    });
}
