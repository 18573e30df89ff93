/**
 * `aunce loss --input batch.json`: the AUNCE loss, its per-AU terms and its gradient with respect to
 * both views, computed by the fused GPU kernels (or, with --reference, by the float64 CPU reference),
 * printed as JSON. `--explain` adds, for one anchor and AU, where its gradient goes: the positive, the
 * negatives' Boltzmann weights (spec §5.4) and each sample's share (src/losses/explain.ts).
 *
 * stdout holds exactly one thing: the JSON result, or with --explain-only the table. With --explain
 * the table goes to stderr, so `aunce loss ... --explain > out.json` still writes valid JSON.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { explainAnchor, formatExplanation, type Explanation } from '../losses/explain.js';
import { aunceLossUnfused } from '../losses/aunce_unfused.js';
import { aunceLoss } from '../ops/aunce.js';
import { aunceGradRef } from '../ref/aunce.js';
import { nd } from '../ref/ndarray.js';
import type { Device } from '../runtime/device.js';
import { NoAdapterError } from '../runtime/errors.js';
import { openDevice } from '../runtime/node_gpu.js';
import { Tensor } from '../tensor/tensor.js';
import { LossInputError, readLossInput, type LossInput } from './loss_input.js';
import { intArg } from './args.js';

export interface LossOutput {
  loss: number;
  perAU: number[];
  gradView1: number[][][];
  gradView2: number[][][];
}

/** What the forward pass saved, as the explanation needs it ([N*K] arrays, index a*K+k; gram [K*N*N]). */
interface Saved {
  gram: ArrayLike<number>;
  logP: ArrayLike<number>;
  logQ: ArrayLike<number>;
  logD: ArrayLike<number>;
  argIdx: ArrayLike<number>;
}

interface Computed {
  loss: number;
  perAU: ArrayLike<number>;
  /** dL/dZ [2B, K, D] */
  grad: ArrayLike<number>;
  saved?: Saved;
}

export interface LossRunOptions {
  /** run the float64 CPU reference instead of the GPU kernels */
  reference?: boolean;
  /** run on this device (kept open); default: open one and destroy it at the end */
  device?: Device;
  /** where remarks about the computation go (default: stderr) */
  note?: (line: string) => void;
  /** explain this anchor (0..2B−1) and AU */
  explain?: { anchor: number; au: number };
}

/**
 * On the GPU: the fused kernels (src/ops/aunce.ts). The re-normalised centroid is not bilinear in Z
 * (spec §5.5) and the fused kernels do not have it: that option runs the unfused composition of
 * autograd primitives, still on the GPU, and its explanation uses the float64 reference's statistics.
 */
async function computeGpu(input: LossInput, wantSaved: boolean, note: (line: string) => void, given?: Device): Promise<Computed> {
  const { B, K, D } = input;
  const device = given ?? (await openDevice());
  try {
    const z = Tensor.from(device, input.z, [2 * B, K, D], { requiresGrad: true, name: 'z' });
    let out: Computed;
    if (input.options.centroidRenormalise) {
      note('aunce loss: centroidRenormalise runs on the unfused GPU composition (src/losses/aunce_unfused.ts): the fused kernels do not have it');
      const r = aunceLossUnfused(z, input.labels, input.options);
      r.loss.backward();
      out = { loss: await r.loss.item(), perAU: await r.perAU.toFloat32(), grad: await z.grad!.toFloat32() };
      if (wantSaved) out.saved = computeReference(input, true).saved;
      r.loss.dispose();
      r.perAU.dispose();
    } else {
      const r = aunceLoss(z, input.labels, { ...input.options, normalize: false });
      r.loss.backward();
      await r.check();
      out = { loss: await r.loss.item(), perAU: await r.perAU.toFloat32(), grad: await z.grad!.toFloat32() };
      if (wantSaved) {
        const ins = await r.inspect();
        out.saved = { gram: ins.gram, logP: ins.logP, logQ: ins.logQ, logD: ins.logD, argIdx: ins.argIdx };
      }
      r.dispose();
    }
    z.grad?.dispose();
    z.dispose();
    await device.sync();
    return out;
  } finally {
    if (!given) device.destroy();
  }
}

function computeReference(input: LossInput, wantSaved: boolean): Computed {
  const { B, K, D } = input;
  const N = 2 * B;
  const z = nd([N, K, D], input.z);
  const r = aunceGradRef(z, input.labels, input.options);
  let saved: Saved | undefined;
  if (wantSaved) {
    const gram = new Float64Array(K * N * N);
    for (let k = 0; k < K; k++) {
      for (let a = 0; a < N; a++) {
        for (let b = 0; b < N; b++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += input.z[(a * K + k) * D + d]! * input.z[(b * K + k) * D + d]!;
          gram[(k * N + a) * N + b] = s;
        }
      }
    }
    saved = { gram, logP: r.logP.data, logQ: r.logQ.data, logD: r.logD.data, argIdx: r.argIdx };
  }
  return { loss: r.loss, perAU: r.perAU, grad: r.grad.data, saved };
}

/** Nine significant digits: enough to read back as the same float32 (the GPU computes in float32). */
const f32 = (x: number): number => Number(x.toPrecision(9));

/** Computes the loss and gradients (and the explanation, when asked) of a validated input. */
export async function runLoss(input: LossInput, opts: LossRunOptions = {}): Promise<{ output: LossOutput; explanation?: Explanation }> {
  const { B, K, D } = input;
  const N = 2 * B;
  const note = opts.note ?? ((line: string) => console.error(line));
  const c = opts.reference ? computeReference(input, !!opts.explain) : await computeGpu(input, !!opts.explain, note, opts.device);
  const num = opts.reference ? (x: number) => x : f32;
  const view = (v: 0 | 1): number[][][] =>
    Array.from({ length: B }, (_, i) => Array.from({ length: K }, (_, k) => Array.from({ length: D }, (_, d) => num(c.grad[((v * B + i) * K + k) * D + d]!))));
  const output: LossOutput = { loss: num(c.loss), perAU: Array.from(c.perAU, num), gradView1: view(0), gradView2: view(1) };
  if (!opts.explain || !c.saved) return { output };
  const { anchor: a, au: k } = opts.explain;
  const s = c.saved;
  const cRow = Array.from({ length: N }, (_, b) => s.gram[(k * N + a) * N + b]!);
  const explanation = explainAnchor({
    cRow,
    labels: input.labels.map((row) => row[k]!),
    anchor: a,
    au: k,
    K,
    opts: input.options,
    saved: { logP: s.logP[a * K + k]!, logQ: s.logQ[a * K + k]!, logD: s.logD[a * K + k]!, argIdx: s.argIdx[a * K + k]! },
  });
  return { output, explanation };
}

/** JSON with each innermost vector on one line: readable for people, valid for programs. */
export function formatJson(v: unknown, indent = ''): string {
  if (!Array.isArray(v) && (typeof v !== 'object' || v === null)) return JSON.stringify(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.every((x) => !Array.isArray(x) && (typeof x !== 'object' || x === null))) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
    return `[\n${v.map((x) => inner + formatJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  return `{\n${entries.map(([key, x]) => `${inner}${JSON.stringify(key)}: ${formatJson(x, inner)}`).join(',\n')}\n${indent}}`;
}


interface CliOptions {
  input: string;
  out?: string;
  explain?: boolean;
  explainOnly?: boolean;
  anchor?: number;
  view?: number;
  image?: number;
  au: number;
  top?: number;
  reference?: boolean;
}

/** The anchor named by --anchor, or by --view and --image; checked against the batch. */
function chooseAnchor(o: CliOptions, B: number): number {
  if (o.anchor !== undefined && (o.view !== undefined || o.image !== undefined)) throw new Error('give either --anchor or --view/--image, not both');
  if (o.view !== undefined || o.image !== undefined) {
    const v = o.view ?? 1;
    const i = o.image ?? 0;
    if (v !== 1 && v !== 2) throw new Error(`--view must be 1 or 2, got ${v}`);
    if (i >= B) throw new Error(`--image ${i} is out of range: the batch has B = ${B} images (0..${B - 1})`);
    return (v - 1) * B + i;
  }
  const a = o.anchor ?? 0;
  if (a >= 2 * B) throw new Error(`--anchor ${a} is out of range: the batch has 2B = ${2 * B} anchors (0..${2 * B - 1}; view 1 is 0..${B - 1})`);
  return a;
}

export function lossCommand(): Command {
  return new Command('loss')
    .description('the AUNCE loss and its gradients for a batch given as JSON, computed on the GPU; --explain shows where one anchor\'s gradient goes')
    .requiredOption('-i, --input <file>', 'batch JSON: {"mode", "labels" [B][K], "view1"/"view2" [B][K][D], "positive" [K], optional "tau", "betaActive", "betaInactive", "auWeight", ...}')
    .option('-o, --out <file>', 'write the JSON result to this file instead of stdout')
    .option('--explain', 'print, on stderr, a table of one anchor\'s positive, negatives, Boltzmann weights and gradient shares')
    .option('--explain-only', 'print only the table, on stdout (no JSON unless --out)')
    .option('--anchor <a>', 'anchor to explain, 0..2B-1 (view 1 is 0..B-1; default 0)', intArg('--anchor', 0))
    .option('--view <v>', 'alternative to --anchor: the view (1 or 2) ...', intArg('--view', 0))
    .option('--image <i>', '... and the image (0..B-1) of the anchor', intArg('--image', 0))
    .option('--au <k>', 'AU to explain (0..K-1)', intArg('--au', 0), 0)
    .option('--top <n>', 'show only the n hardest negatives in the table', intArg('--top', 0))
    .option('--reference', 'compute with the float64 CPU reference instead of the GPU kernels (a cross-check)')
    .addHelpText(
      'after',
      `
Input (features taken as given, no normalisation; tau and the betas default to the mode's values):
  {"mode": "paper" | "official", "labels": [B][K] of 0/1, "view1": [B][K][D], "view2": [B][K][D],
   "positive": [K] (or [2B][K]) of max|aug|centroid|min (paper) or max|mean|aug (official),
   "tau": 0.5, "betaActive": 1.2, "betaInactive": 0.4 (paper) | 0.8 (official), "auWeight": [K] | null,
   "reduction": "mean"|"sum", and in paper mode "negWeighting": "R1"|"R2", "betaSwap", "betaBy",
   "auRate", "excludePartnerFromPool", "centroidRenormalise"}
Output: {"loss": L, "perAU": [K], "gradView1": [B][K][D], "gradView2": [B][K][D]}

Examples:
  aunce loss -i batch.json > grads.json
  aunce loss -i batch.json --explain --anchor 5 --au 2 > grads.json   (table on stderr)
  aunce loss -i batch.json --explain-only --view 2 --image 0 --top 8`,
    )
    .action(async (o: CliOptions) => {
      let input: LossInput;
      try {
        input = readLossInput(o.input);
      } catch (err) {
        if (!(err instanceof LossInputError)) throw err;
        console.error(err.message);
        console.error(`aunce loss: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} in ${o.input}`);
        process.exitCode = 1;
        return;
      }
      const wantExplain = !!(o.explain || o.explainOnly);
      let explain: LossRunOptions['explain'];
      if (wantExplain) {
        if (o.au >= input.K) throw new Error(`--au ${o.au} is out of range: the batch has K = ${input.K} AUs (0..${input.K - 1})`);
        explain = { anchor: chooseAnchor(o, input.B), au: o.au };
      }
      let run: Awaited<ReturnType<typeof runLoss>>;
      try {
        run = await runLoss(input, { reference: !!o.reference, explain });
      } catch (err) {
        if (!(err instanceof NoAdapterError)) throw err;
        console.error(`aunce loss: ${err.message}\n(--reference computes on the CPU without an adapter)`);
        process.exitCode = 2;
        return;
      }
      const json = `${formatJson(run.output)}\n`;
      if (o.out) writeFileSync(o.out, json);
      else if (!o.explainOnly) process.stdout.write(json);
      if (run.explanation) {
        const table = `${formatExplanation(run.explanation, o.top)}\n`;
        if (o.explainOnly) process.stdout.write(table);
        else process.stderr.write(table);
      }
    });
}
