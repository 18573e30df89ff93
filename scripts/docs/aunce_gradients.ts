/**
 * Generates the computed parts of docs/aunce-gradients.md: the example batches (docs/examples/*.json),
 * the `aunce loss --explain-only` tables between `<!-- begin:ID -->` / `<!-- end:ID -->` markers (run
 * as real commands and captured verbatim), the β and τ sweep tables, and the plots docs/img/*.svg.
 * The sweeps run the fused GPU op through src/cli/loss.ts `runLoss` (aunceLoss + inspect() +
 * src/losses/explain.ts) on one device in this process. The prose of the page is hand-written; only
 * the text between markers is replaced. Deterministic: seeded features, fixed rounding.
 *
 *   npx tsx scripts/docs/aunce_gradients.ts      (or: npm run docs:aunce)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatJson, runLoss } from '../../src/cli/loss.js';
import { parseLossInput } from '../../src/cli/loss_input.js';
import type { Explanation } from '../../src/losses/explain.js';
import type { Device } from '../../src/runtime/device.js';
import { Rng } from '../../src/util/rng.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PAGE = 'docs/aunce-gradients.md';

// ---------------------------------------------------------------------------------------------
// Example batches: B = 8 images, K = 1 AU, D = 16. Images 0-2 are active (y = 1, the minority),
// 3-7 inactive. Image 7 is an inactive face that looks active: the hard negative of the active anchors.

const B = 8;
const D = 16;
const LABELS = [1, 1, 1, 0, 0, 0, 0, 0];

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Both views [B][1][D], rounded to 6 decimals (the files hold exactly these numbers). */
function features(): { view1: number[][][]; view2: number[][][] } {
  const r = new Rng(20240209);
  const rand = (): number[] => Array.from({ length: D }, () => r.normal());
  const mu1 = unit(rand());
  const mu0 = unit(rand().map((x, d) => x + 0.3 * Math.sqrt(D) * mu1[d]!));
  const round = (v: number[]): number[] => v.map((x) => Math.round(x * 1e6) / 1e6);
  const view1: number[][][] = [];
  const view2: number[][][] = [];
  for (let i = 0; i < B; i++) {
    const centre = i === 7 ? mu1.map((x, d) => 0.75 * x + 0.45 * mu0[d]!) : LABELS[i] ? mu1 : mu0;
    const f = unit(rand().map((x, d) => centre[d]! + (0.55 * x) / Math.sqrt(D)));
    view1.push([round(f)]);
    view2.push([round(unit(rand().map((x, d) => f[d]! + (0.35 * x) / Math.sqrt(D))))]);
  }
  return { view1, view2 };
}

export const EXAMPLES: Record<string, Record<string, unknown>> = {
  paper: { mode: 'paper', positive: ['aug'], tau: 0.5, betaActive: 1.2, betaInactive: 0.4 },
  paper_beta04: { mode: 'paper', positive: ['aug'], tau: 0.5, betaActive: 0.4, betaInactive: 0.4 },
  paper_beta18: { mode: 'paper', positive: ['aug'], tau: 0.5, betaActive: 1.8, betaInactive: 0.4 },
  paper_swap: { mode: 'paper', positive: ['aug'], tau: 0.5, betaActive: 1.2, betaInactive: 0.4, betaSwap: true },
  paper_r2: { mode: 'paper', positive: ['aug'], tau: 0.5, betaActive: 1.2, betaInactive: 0.4, negWeighting: 'R2' },
  official_max: { mode: 'official', positive: ['max'], tau: 0.5, betaActive: 1.2, betaInactive: 0.8 },
  official_mean: { mode: 'official', positive: ['mean'], tau: 0.5, betaActive: 1.2, betaInactive: 0.8 },
};

export const exampleFile = (name: string): string => `docs/examples/${name}.json`;

function writeExamples(): void {
  mkdirSync(join(ROOT, 'docs/examples'), { recursive: true });
  const { view1, view2 } = features();
  for (const [name, opts] of Object.entries(EXAMPLES)) {
    const batch = { ...opts, labels: LABELS.map((y) => [y]), view1, view2 };
    writeFileSync(join(ROOT, exampleFile(name)), `${formatJson(batch)}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// Explain blocks: the command each block shows, run for real.

/** The CLI arguments (after `aunce`) of each explain block of the page. */
export const BLOCKS: Record<string, string[]> = {
  'explain-1': ['loss', '-i', exampleFile('paper'), '--explain-only', '--anchor', '0'],
  'explain-2': ['loss', '-i', exampleFile('paper'), '--explain-only', '--anchor', '3'],
  'explain-3': ['loss', '-i', exampleFile('paper_beta04'), '--explain-only', '--anchor', '0'],
  'explain-4': ['loss', '-i', exampleFile('paper_beta18'), '--explain-only', '--anchor', '0'],
  'explain-5': ['loss', '-i', exampleFile('paper_swap'), '--explain-only', '--anchor', '3'],
  'explain-6': ['loss', '-i', exampleFile('official_max'), '--explain-only', '--anchor', '0'],
  'explain-7': ['loss', '-i', exampleFile('official_mean'), '--explain-only', '--anchor', '3'],
  'explain-8': ['loss', '-i', exampleFile('paper_r2'), '--explain-only', '--anchor', '0'],
};

/** Runs `aunce ARGS` (bin/aunce.js) in the repository root and returns its stdout. */
export function runCli(args: readonly string[]): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/aunce.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`aunce ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

export const blockText = (args: readonly string[], stdout: string): string => `\`\`\`text\n$ aunce ${args.join(' ')}\n${stdout.trimEnd()}\n\`\`\``;

/** The text between the markers of block `id` (without the marker lines). */
export function getBlock(page: string, id: string): string {
  const m = new RegExp(`<!-- begin:${id} -->\\n([\\s\\S]*?)\\n?<!-- end:${id} -->`).exec(page);
  if (!m) throw new Error(`${PAGE}: no <!-- begin:${id} --> ... <!-- end:${id} --> markers`);
  return m[1]!;
}

function setBlock(page: string, id: string, body: string): string {
  getBlock(page, id);
  return page.replace(new RegExp(`(<!-- begin:${id} -->\\n)[\\s\\S]*?(<!-- end:${id} -->)`), (_, a: string, b: string) => `${a}${body}\n${b}`);
}

/** The numbers of a text in order, and the text with each number replaced by '#'. */
export function numbersOf(text: string): { skeleton: string; numbers: string[] } {
  const numbers: string[] = [];
  const skeleton = text.replace(/[-−]?\d+(\.\d+)?(e[-+]?\d+)?/g, (s) => {
    numbers.push(s.replace('−', '-'));
    return '#';
  });
  return { skeleton, numbers };
}

/**
 * Whether two printed numbers agree to the precision printed: within one unit of the last digit shown
 * (float32 results may round either way on another adapter); integers (indices, labels) exactly.
 */
export function samePrinted(a: string, b: string): boolean {
  if (a === b) return true;
  if (!/[.e]/.test(a) && !/[.e]/.test(b)) return false;
  const unitOf = (s: string): number => {
    const [mant, exp] = s.split('e');
    const dec = mant!.includes('.') ? mant!.split('.')[1]!.length : 0;
    return 10 ** (-dec + Number(exp ?? 0));
  };
  return Math.abs(Number(a) - Number(b)) <= 1.000001 * Math.max(unitOf(a), unitOf(b));
}

// ---------------------------------------------------------------------------------------------
// Sweeps: the minority anchor a = 0 of `paper`, its β (betaActive) from 0.2 to 2.0 at τ = 0.5,
// and τ from 0.05 to 1.0 at β = 1.2.

export const SWEEP_ANCHOR = 0;
export const BETAS = Array.from({ length: 19 }, (_, i) => Math.round((0.2 + 0.1 * i) * 10) / 10);
export const TAUS = Array.from({ length: 20 }, (_, i) => Math.round(0.05 * (i + 1) * 100) / 100);

export interface SweepPoint {
  x: number;
  /** the negatives' total share of |∂ℓ_a/∂c_a·| */
  negShare: number;
  /** the share of the hardest negative (largest c_ab) */
  hardShare: number;
  /** entropy (nats) and perplexity exp(H) of the Boltzmann weights P_ab/q_a */
  entropy: number;
  perplexity: number;
  q: number;
  ell: number;
}

function point(x: number, ex: Explanation): SweepPoint {
  const negs = ex.rows.filter((r) => r.role === 'negative');
  const hardest = negs.reduce((h, r) => (r.c > h.c ? r : h));
  return { x, negShare: ex.negShare, hardShare: hardest.share, entropy: Math.log(ex.perplexity), perplexity: ex.perplexity, q: ex.q, ell: ex.ell };
}

/** Runs the sweep over β (betaActive) or τ on the fused GPU op. */
export async function sweep(kind: 'beta' | 'tau', device: Device): Promise<SweepPoint[]> {
  const text = readFileSync(join(ROOT, exampleFile('paper')), 'utf8');
  const out: SweepPoint[] = [];
  for (const x of kind === 'beta' ? BETAS : TAUS) {
    const input = parseLossInput(text, exampleFile('paper'));
    if (kind === 'beta') input.options.betaActive = x;
    else input.options.tau = x;
    const r = await runLoss(input, { device, explain: { anchor: SWEEP_ANCHOR, au: 0 }, note: () => {} });
    out.push(point(x, r.explanation!));
  }
  return out;
}

/** The sweep as a markdown table (4 decimals, as the explain tables print). */
export function sweepTable(kind: 'beta' | 'tau', pts: readonly SweepPoint[]): string {
  const head = kind === 'beta' ? '| β | β/(1+β) | negatives\' share | hardest negative\'s share | entropy H (nats) | perplexity e^H | q_a | ℓ_a |' : '| τ | τ/β | negatives\' share | hardest negative\'s share | entropy H (nats) | perplexity e^H | q_a | ℓ_a |';
  const f = (v: number): string => v.toFixed(4);
  const rows = pts.map((p) => `| ${p.x} | ${f(kind === 'beta' ? p.x / (1 + p.x) : p.x / 1.2)} | ${f(p.negShare)} | ${f(p.hardShare)} | ${f(p.entropy)} | ${f(p.perplexity)} | ${f(p.q)} | ${f(p.ell)} |`);
  return [head, '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Plots: vega-lite → vega → SVG, headless (renderer 'none').

async function plot(kind: 'beta' | 'tau', pts: readonly SweepPoint[], nNeg: number): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const xTitle = kind === 'beta' ? 'β of the anchor (τ = 0.5)' : 'τ (β = 1.2)';
  const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
  const shares = pts.flatMap((p) => [
    { x: p.x, series: 'negatives, total', value: r4(p.negShare) },
    { x: p.x, series: 'hardest negative', value: r4(p.hardShare) },
    { x: p.x, series: 'positive', value: r4(1 - p.negShare) },
  ]);
  const ent = pts.map((p) => ({ x: p.x, value: r4(p.perplexity) }));
  const x = { field: 'x', type: 'quantitative', title: xTitle };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { font: 'sans-serif', view: { stroke: '#ccc' } },
    hconcat: [
      {
        title: 'Share of the anchor\'s gradient |∂ℓ/∂c|',
        width: 300,
        height: 220,
        data: { values: shares },
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'share', scale: { domain: [0, 1] } },
          color: { field: 'series', type: 'nominal', title: null, sort: ['negatives, total', 'positive', 'hardest negative'], legend: { orient: 'bottom' } },
        },
      },
      {
        title: `Perplexity of the Boltzmann weights (of ${nNeg} negatives)`,
        width: 300,
        height: 220,
        data: { values: ent },
        mark: { type: 'line', color: '#54a24b', point: { color: '#54a24b' } },
        encoding: { x, y: { field: 'value', type: 'quantitative', title: 'perplexity e^H', scale: { domain: [1, nNeg] } } },
      },
    ],
  };
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}

export const SVGS = { beta: 'docs/img/aunce_share_vs_beta.svg', tau: 'docs/img/aunce_share_vs_tau.svg' };

async function main(): Promise<void> {
  writeExamples();
  let page = readFileSync(join(ROOT, PAGE), 'utf8');
  for (const [id, args] of Object.entries(BLOCKS)) {
    page = setBlock(page, id, blockText(args, runCli(args)));
    console.log(`${id}: aunce ${args.join(' ')}`);
  }
  const { openDevice } = await import('../../src/runtime/node_gpu.js');
  const device = await openDevice();
  try {
    mkdirSync(join(ROOT, 'docs/img'), { recursive: true });
    const nNeg = LABELS.filter((y) => y === 0).length * 2;
    for (const kind of ['beta', 'tau'] as const) {
      const pts = await sweep(kind, device);
      page = setBlock(page, `sweep-${kind}`, sweepTable(kind, pts));
      writeFileSync(join(ROOT, SVGS[kind]), await plot(kind, pts, nNeg));
      console.log(`sweep-${kind}: ${pts.length} points → ${SVGS[kind]}`);
    }
  } finally {
    device.destroy();
  }
  writeFileSync(join(ROOT, PAGE), page);
  console.log(`wrote ${PAGE}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
