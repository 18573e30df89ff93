/**
 * `aunce convert <bp4d|disfa|gft|affwild2> --root DIR --out DIR [--fold N --split S] [--size 256]`:
 * labels and frame images of a dataset as distributed, written in the native format
 * (data-tools/convert.ts). Malformed rows, missing or undecodable images are errors naming the label
 * file, line and field; with --skip-bad they are skipped and counted per reason on stderr.
 */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { convertDataset } from '../../data-tools/convert.js';
import { intArg } from './args.js';
import { DATASETS, DatasetError, type DatasetName, type Split } from '../data/datasets/index.js';


interface CliOptions {
  root: string;
  out: string;
  images?: string;
  fold?: number;
  split?: Split;
  size: number;
  threshold?: number;
  imagePattern?: string;
  skipBad?: boolean;
  overwrite?: boolean;
  landmarks?: 'auto' | 'none';
  enlarge?: number;
}

const counts = (c: Record<string, number>) => Object.entries(c).map(([r, n]) => `${n} (${r})`).join(', ');

export function convertCommand(): Command {
  return new Command('convert')
    .description('convert a dataset (labels + frame images) to the native format')
    .addArgument(new Argument('<dataset>', `one of ${DATASETS.join(', ')}`).choices(DATASETS as string[]))
    .requiredOption('--root <dir>', 'the dataset root as distributed')
    .requiredOption('--out <dir>', 'output folder (manifest.json + shards)')
    .option('--images <dir>', 'root of the extracted frame images (default: --root)')
    .option('--fold <n>', 'convert only one side of this fold (1-based; with --split)', intArg('--fold', 1))
    .addOption(new Option('--split <side>', 'side of the fold').choices(['train', 'test']))
    .option('--size <n>', 'output image side in pixels', intArg('--size', 8), 256)
    .option('--threshold <n>', 'DISFA: intensity counted as active (default 2)', intArg('--threshold', 1))
    .option('--image-pattern <p>', 'image path from {subject} {sequence} {frame} {frame0} (frame - 1), zero-padded as {frame:5}')
    .addOption(new Option('--landmarks <mode>', 'auto: align from the landmark files where they are read (DISFA Landmark_Points); none: centre crop').choices(['auto', 'none']).default('auto'))
    .option('--enlarge <e>', 'alignment box enlargement', (s: string) => {
      const v = Number(s);
      if (!(v > 0)) throw new InvalidArgumentError(`--enlarge must be a positive number, got '${s}'`);
      return v;
    }, 2.9)
    .option('--skip-bad', 'skip malformed rows, missing or undecodable images and landmarks, and report how many per reason')
    .option('--overwrite', 'replace a native dataset already in --out')
    .action(async (dataset: DatasetName, o: CliOptions) => {
      try {
        const r = await convertDataset(dataset, o);
        const m = r.manifest;
        if (Object.keys(r.dropped).length > 0) console.error(`aunce convert: ${dataset}: dropped ${counts(r.dropped)}`);
        if (o.skipBad) console.error(`aunce convert: ${dataset}: ${Object.keys(r.skipped).length > 0 ? `skipped ${counts(r.skipped)}` : 'nothing skipped'}`);
        console.log(`aunce convert: wrote ${m.frames} frames of ${m.meta.subjects.length} subjects in ${m.shards.length} shard${m.shards.length === 1 ? '' : 's'} to ${o.out} (${m.meta.imageSize}x${m.meta.imageSize}, ${m.meta.extra?.alignment})`);
      } catch (err) {
        if (!(err instanceof DatasetError || err instanceof RangeError)) throw err;
        console.error(`aunce convert: ${err.message.replace(/^convert: /, '')}`);
        process.exitCode = 1;
      }
    });
}
