/**
 * GFT (Sayette Group Formation Task). Its raw annotation layout is not public, so two derived layouts
 * are read (both inferred, DATASETS.md):
 *  1. CSV files with the header `file_name_list,image_path,anchor_image_path,speaker,au1,au2,au4,au6,
 *     au7,au10,au12,au14,au15,au17,au23,au24` (one row per frame, frames 1-based);
 *  2. a path list (`*path*.txt`, one image path per line) paired with a label matrix (`*label*.txt`,
 *     the same name with `path` replaced by `label`; one line per image, space-separated 0/1 for the
 *     10 GFT AUs, or for the 12 AUs of the CSV layout).
 * Participants are group number + letter (`028C`), taken from `speaker` or else from the image path.
 * The official split tests groups 008 010 019 022 028 030 (18 participants) and trains on the rest.
 * Labels 0/1; 9 and -1 are read as unlabelled.
 */
import { basename, join } from 'node:path';
import {
  BadRows, DatasetError, intCell, isDir, listDir, readLines, splitCsv, splitWhere,
  type DatasetLabels, type LabelledFrame, type ReadOptions,
} from './common.js';

export const GFT_AUS = [1, 2, 4, 6, 10, 12, 14, 15, 23, 24];
export const GFT_TEST_GROUPS = ['008', '010', '019', '022', '028', '030'];
const CSV_AUS = [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24];
const CSV_HEADER = ['file_name_list', 'image_path', 'anchor_image_path', 'speaker', ...CSV_AUS.map((a) => `au${a}`)];
const PARTICIPANT = /(?:^|[^0-9])(\d{3}[A-Za-z])(?:[^A-Za-z]|$)/;

/** The participant id in a cell or path (`028C`), or null. */
function participant(s: string): string | null {
  const m = PARTICIPANT.exec(s);
  return m ? m[1]!.toUpperCase() : null;
}

/** The frame number of an image path: the last run of digits in its file name. */
function frameOf(path: string, file: string, line: number, field: string): number {
  const m = /(\d+)(?!.*\d)/.exec(basename(path));
  if (!m) throw new DatasetError(file, line, field, 'bad value', `no frame number in the image name ${JSON.stringify(path)}`);
  return Number(m[1]);
}

/** Labels of the 10 GFT AUs from cells in the order of `aus`. */
function gftLabels(cells: string[], aus: number[], file: string, line: number, fieldOf: (j: number) => string) {
  const labels = new Uint8Array(GFT_AUS.length);
  const mask = new Uint8Array(GFT_AUS.length);
  aus.forEach((au, j) => {
    const v = intCell(cells[j], file, line, fieldOf(j));
    if (v !== 0 && v !== 1 && v !== 9 && v !== -1) throw new DatasetError(file, line, fieldOf(j), 'bad value', `expected 0 or 1 (9 or -1 = unlabelled), got ${v}`);
    const k = GFT_AUS.indexOf(au);
    if (k < 0) return;
    mask[k] = v === 0 || v === 1 ? 1 : 0;
    labels[k] = v === 1 ? 1 : 0;
  });
  return { labels, mask };
}

function readCsv(file: string, bad: BadRows): LabelledFrame[] {
  const lines = readLines(file);
  const header = splitCsv(lines[0] ?? '');
  for (let c = 0; c < CSV_HEADER.length; c++) {
    if ((header[c] ?? '').toLowerCase() !== CSV_HEADER[c]) {
      const got = header[c] === undefined ? 'nothing' : JSON.stringify(header[c]);
      const unknownAu = c >= 4 && /^au\d+$/i.test(header[c] ?? '');
      throw new DatasetError(file, 1, `header column ${c + 1}`, unknownAu ? 'unknown AU' : 'bad header',
        `expected ${JSON.stringify(CSV_HEADER[c])}, got ${got} (the header must be ${CSV_HEADER.join(',')})`);
    }
  }
  const out: LabelledFrame[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    if (lines[i]!.trim() === '') continue;
    const row = bad.guard((): LabelledFrame => {
      const cells = splitCsv(lines[i]!);
      if (cells.length < CSV_HEADER.length) {
        throw new DatasetError(file, line, CSV_HEADER[cells.length]!, 'short row', `the row has ${cells.length} cells, the header ${CSV_HEADER.length}`);
      }
      const image = cells[1]!;
      if (image === '') throw new DatasetError(file, line, 'image_path', 'no image', 'the image path is empty');
      const subject = participant(cells[3]!) ?? participant(image);
      if (!subject) throw new DatasetError(file, line, 'speaker', 'bad value', `no participant id (group number + letter, e.g. 028C) in speaker ${JSON.stringify(cells[3])} or image_path`);
      const frame = frameOf(image, file, line, 'image_path');
      const { labels, mask } = gftLabels(cells.slice(4), CSV_AUS, file, line, (j) => CSV_HEADER[4 + j]!);
      return { subject, sequence: subject, frame, image, labels, mask, where: `${file}:${line}` };
    });
    if (row) out.push(row);
  }
  return out;
}

function readPair(pathFile: string, labelFile: string, bad: BadRows): LabelledFrame[] {
  const paths = readLines(pathFile);
  const rows = readLines(labelFile);
  if (paths.length !== rows.length) {
    const short = paths.length < rows.length ? pathFile : labelFile;
    bad.handle(new DatasetError(short, Math.min(paths.length, rows.length) + 1, 'line', 'short row',
      `the path list has ${paths.length} lines and the label matrix ${rows.length}: they must pair line by line`));
  }
  const out: LabelledFrame[] = [];
  for (let i = 0; i < Math.min(paths.length, rows.length); i++) {
    const line = i + 1;
    const row = bad.guard((): LabelledFrame => {
      const image = paths[i]!.trim();
      if (image === '') throw new DatasetError(pathFile, line, 'image path', 'no image', 'empty line in the path list');
      const subject = participant(image);
      if (!subject) throw new DatasetError(pathFile, line, 'image path', 'bad value', `no participant id (group number + letter, e.g. 028C) in ${JSON.stringify(image)}`);
      const cells = rows[i]!.trim().split(/\s+/);
      if (cells.length !== GFT_AUS.length && cells.length !== CSV_AUS.length) {
        throw new DatasetError(labelFile, line, `column ${Math.min(cells.length, GFT_AUS.length) + 1}`, 'short row',
          `expected ${GFT_AUS.length} labels (AU ${GFT_AUS.join(' ')}) or ${CSV_AUS.length} (AU ${CSV_AUS.join(' ')}), got ${cells.length}`);
      }
      const aus = cells.length === GFT_AUS.length ? GFT_AUS : CSV_AUS;
      const { labels, mask } = gftLabels(cells, aus, labelFile, line, (j) => `AU${aus[j]} (column ${j + 1})`);
      return { subject, sequence: subject, frame: frameOf(image, pathFile, line, 'image path'), image, labels, mask, where: `${labelFile}:${line}` };
    });
    if (row) out.push(row);
  }
  return out;
}

/** The CSV files and path/label pairs in `root` (and `root/list`, `root/labels`). */
export function readGft(root: string, opts: ReadOptions = {}): DatasetLabels {
  const bad = new BadRows(opts.skipBad ?? false);
  const frames: LabelledFrame[] = [];
  let sources = 0;
  for (const dir of [root, join(root, 'list'), join(root, 'labels')].filter(isDir)) {
    const names = listDir(dir);
    for (const name of names) {
      const file = join(dir, name);
      if (name.toLowerCase().endsWith('.csv')) {
        sources++;
        const got = bad.guard(() => readCsv(file, bad));
        if (got) frames.push(...got);
      } else if (name.endsWith('.txt') && name.includes('path')) {
        const labelName = name.includes('img_path') ? name.replace('img_path', 'label') : name.replace('path', 'label');
        if (!names.includes(labelName)) {
          bad.handle(new DatasetError(file, 0, 'label matrix', 'missing file', `no label matrix ${labelName} beside the path list`));
          continue;
        }
        sources++;
        frames.push(...readPair(file, join(dir, labelName), bad));
      }
    }
  }
  if (sources === 0) throw new DatasetError(root, 0, 'files', 'missing file', 'GFT: no CSV with the header file_name_list,image_path,... and no *path*.txt + *label*.txt pair');
  const seen = new Map<string, string>();
  const unique = frames.filter((f) => {
    const first = seen.get(f.image);
    if (first === undefined) {
      seen.set(f.image, f.where);
      return true;
    }
    const [file, line] = splitWhere(f.where);
    bad.handle(new DatasetError(file, line, 'image', 'duplicate frame', `the image ${f.image} is already labelled at ${first}`));
    return false;
  });
  const subjects = [...new Set(unique.map((f) => f.subject))].sort();
  const test = subjects.filter((s) => GFT_TEST_GROUPS.includes(s.slice(0, 3)));
  return { dataset: 'gft', aus: GFT_AUS, frames: unique, protocol: { subjects, folds: [test] }, skipped: bad.counts, dropped: [] };
}
