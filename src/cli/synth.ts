/**
 * `aunce synth`: renders the synthetic AU benchmark for a dataset profile and writes it in the native
 * format (docs/synthetic.md, docs/native-format.md). Prints a summary (frames, rates of the labels
 * written against Table I, render speed); `--json` prints it as JSON.
 */
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { PROFILE_NAMES, TABLE_I, planSynth, writeSynth, type SynthProfileName } from '../data/synth/index.js';

interface SynthCliOptions {
  profile: string;
  subjects: number;
  framesPerSubject: number;
  seed: number;
  size: number;
  out: string;
  labelNoise: number;
  subtlety: number;
  sequenceLength: number;
  align: number;
  force?: boolean;
  json?: boolean;
  progress: boolean;
}

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`synth: --${name} must be a number, got '${v}'`);
  return n;
};

export function synthCommand(): Command {
  return new Command('synth')
    .description('render the synthetic AU benchmark (a dataset profile) in the native format')
    .requiredOption('--profile <name>', `label profile: ${PROFILE_NAMES.join(', ')}`)
    .requiredOption('--out <dir>', 'output directory')
    .option('--subjects <n>', 'number of subjects', num('subjects'), 30)
    .option('--frames-per-subject <n>', 'frames per subject', num('frames-per-subject'), 300)
    .option('--seed <n>', 'random seed', num('seed'), 1)
    .option('--size <px>', 'image side in pixels', num('size'), 128)
    .option('--label-noise <fraction>', 'fraction of labels flipped (clean labels are kept)', num('label-noise'), 0)
    .option('--subtlety <k>', 'scale of every AU effect (smaller = subtler)', num('subtlety'), 1)
    .option('--sequence-length <n>', 'frames per sequence', num('sequence-length'), 100)
    .option('--align <enlarge>', 'align every frame from its landmarks with this box enlarge factor (0 = as rendered)', num('align'), 0)
    .option('--force', 'replace an existing dataset in --out')
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar')
    .action(async (o: SynthCliOptions) => {
      if (!(PROFILE_NAMES as readonly string[]).includes(o.profile)) {
        throw new Error(`synth: unknown profile '${o.profile}' (expected one of ${PROFILE_NAMES.join(', ')})`);
      }
      const profile = o.profile as SynthProfileName;
      const total = o.subjects * o.framesPerSubject;
      const showBar = o.progress && !o.json && process.stderr.isTTY;
      const bar = new cliProgress.SingleBar(
        { format: 'synth [{bar}] {value}/{total} frames | {fps} frames/s | eta {eta}s', stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      if (showBar) bar.start(total, 0, { fps: '-' });
      const t0 = performance.now();
      const plan = planSynth({ profile, subjects: o.subjects, framesPerSubject: o.framesPerSubject, seed: o.seed, size: o.size, labelNoise: o.labelNoise, subtlety: o.subtlety, sequenceLength: o.sequenceLength, align: o.align });
      const manifest = await writeSynth(
        plan,
        o.out,
        {
          overwrite: o.force,
          onFrame: (done) => {
            if (showBar && (done % 50 === 0 || done === total)) bar.update(done, { fps: (done / ((performance.now() - t0) / 1000)).toFixed(0) });
          },
        },
      );
      if (showBar) bar.stop();
      const seconds = (performance.now() - t0) / 1000;

      // rates of the written labels (after noise) and of the clean labels
      const A = manifest.meta.aus.length;
      const pos = new Float64Array(A), posClean = new Float64Array(A);
      plan.labels.labels.forEach((v, i) => (pos[i % A]! += v));
      plan.labels.clean.forEach((v, i) => (posClean[i % A]! += v));
      const n = manifest.frames;
      const summary = {
        out: o.out,
        profile,
        frames: n,
        subjects: o.subjects,
        shards: manifest.shards.length,
        aus: manifest.meta.aus,
        target: manifest.meta.aus.map((a) => TABLE_I[profile][a as keyof (typeof TABLE_I)[typeof profile]]! / 100),
        occurrence: Array.from(pos, (p) => p / n),
        occurrenceClean: Array.from(posClean, (p) => p / n),
        flippedLabels: manifest.meta.extra?.flippedLabels ?? 0,
        seconds,
        framesPerSecond: n / seconds,
      };
      if (o.json) {
        console.log(JSON.stringify(summary));
        return;
      }
      console.log(`wrote ${n} frames (${o.subjects} subjects, ${o.size}x${o.size}, ${manifest.shards.length} shards) to ${o.out} in ${seconds.toFixed(1)} s (${summary.framesPerSecond.toFixed(0)} frames/s)`);
      console.log('AU    target  clean   labels');
      manifest.meta.aus.forEach((a, i) => {
        const pct = (v: number) => (100 * v).toFixed(1).padStart(6);
        console.log(`AU${String(a).padEnd(3)} ${pct(summary.target[i]!)}  ${pct(summary.occurrenceClean[i]!)}  ${pct(summary.occurrence[i]!)}`);
      });
      if (summary.flippedLabels) console.log(`label noise: ${summary.flippedLabels} label cells flipped (clean labels kept in the shards)`);
    });
}
