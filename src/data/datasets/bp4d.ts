/**
 * BP4D-Spontaneous: `AUCoding/AU_OCC/<Subject>_<Task>.csv`. The header is `0,1,...,99` (column N =
 * AU N, column 0 = frame number) or, in some releases, named (`AU1`, `AU01`, `au_1`, `1`, ...; the
 * first column is the frame). Values 0/1; 9 = not coded, which masks the AU for that frame.
 */
import { join } from 'node:path';
import {
  BadRows, DatasetError, findDir, imagePath, intCell, listDir, readLines, splitCsv,
  type DatasetLabels, type LabelledFrame, type Protocol, type ReadOptions,
} from './common.js';

export const BP4D_AUS = [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24];

const PART1 = 'F001 M007 F018 F008 F002 M004 F010 F009 M012 M001 F016 M014 F023 M008';
const PART2 = 'M011 F003 M010 M002 F005 F022 M018 M017 F013 M016 F020 F011 M013 M005';
const PART3 = 'F007 F015 F006 F019 M006 M009 F012 M003 F004 F021 F017 M015 F014';
/** The three subject-exclusive parts; fold 1 tests part 3, fold 2 part 2, fold 3 part 1. */
export const BP4D_PARTS = [PART1, PART2, PART3].map((p) => p.split(' '));

export const bp4dProtocol = (): Protocol => ({
  subjects: BP4D_PARTS.flat(),
  folds: [BP4D_PARTS[2]!, BP4D_PARTS[1]!, BP4D_PARTS[0]!],
});

export const BP4D_IMAGE_PATTERN = '{subject}/{sequence}/{frame}.jpg';

/** The AU number a header cell names (`7`, `AU7`, `AU07`, `au_7`, `AU 7`), or null. */
function headerAu(cell: string): number | null {
  const m = /^(?:au[ _]?)?0*(\d+)$/i.exec(cell.trim());
  return m ? Number(m[1]) : null;
}

/** Column index of each of the 12 AUs, from the header row. */
function parseHeader(cells: string[], file: string): number[] {
  const byAu = new Map<number, number>();
  for (let c = 1; c < cells.length; c++) {
    const au = headerAu(cells[c]!);
    if (au === null) {
      throw new DatasetError(file, 1, `header column ${c + 1}`, 'bad header',
        `expected an AU number (the header 0,1,...,99, or named columns such as AU12), got ${JSON.stringify(cells[c])}`);
    }
    if (au < 1 || au > 99) throw new DatasetError(file, 1, `header column ${c + 1}`, 'unknown AU', `unknown AU code ${au} (AUs are 1-99)`);
    if (byAu.has(au)) throw new DatasetError(file, 1, `header column ${c + 1}`, 'bad header', `AU ${au} appears twice in the header`);
    byAu.set(au, c);
  }
  return BP4D_AUS.map((au) => {
    const c = byAu.get(au);
    if (c === undefined) throw new DatasetError(file, 1, 'header', 'bad header', `no column for AU ${au} (expected the header 0,1,...,99 or named AU columns)`);
    return c;
  });
}

/** One AU_OCC file: its frames, or throws/skips its bad rows. */
export function readBp4dFile(file: string, subject: string, task: string, bad: BadRows, pattern = BP4D_IMAGE_PATTERN): LabelledFrame[] {
  const lines = readLines(file);
  if (lines.length === 0) throw new DatasetError(file, 1, 'header', 'bad header', 'the file is empty (expected the header 0,1,...,99)');
  const header = splitCsv(lines[0]!);
  while (header.length > 1 && header[header.length - 1] === '') header.pop(); // a trailing comma
  const cols = parseHeader(header, file);
  const out: LabelledFrame[] = [];
  const seen = new Set<number>();
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    if (lines[i]!.trim() === '') continue;
    const row = bad.guard(() => {
      const cells = splitCsv(lines[i]!);
      if (cells.length < header.length) {
        throw new DatasetError(file, line, `column ${cells.length + 1}`, 'short row', `the row has ${cells.length} cells, the header ${header.length}`);
      }
      const frame = intCell(cells[0], file, line, 'frame (column 1)');
      if (seen.has(frame)) throw new DatasetError(file, line, 'frame (column 1)', 'duplicate frame', `frame ${frame} appears twice`);
      const labels = new Uint8Array(BP4D_AUS.length);
      const mask = new Uint8Array(BP4D_AUS.length);
      cols.forEach((c, k) => {
        const field = `AU${BP4D_AUS[k]} (column ${c + 1}, header ${JSON.stringify(header[c])})`;
        const v = intCell(cells[c], file, line, field);
        if (v !== 0 && v !== 1 && v !== 9) throw new DatasetError(file, line, field, 'bad value', `expected 0, 1 or 9 (not coded), got ${v}`);
        mask[k] = v === 9 ? 0 : 1;
        labels[k] = v === 1 ? 1 : 0;
      });
      seen.add(frame);
      const f = { subject, sequence: task, frame };
      return { ...f, image: imagePath(pattern, f), labels, mask, where: `${file}:${line}` };
    });
    if (row) out.push(row);
  }
  return out;
}

/** Every AU_OCC file under `root` (the dataset root, or the AU_OCC folder itself). */
export function readBp4d(root: string, opts: ReadOptions = {}): DatasetLabels {
  const dir = findDir(root, ['AUCoding/AU_OCC', 'AU_OCC', '.'], 'BP4D');
  const bad = new BadRows(opts.skipBad ?? false);
  const frames: LabelledFrame[] = [];
  const files = listDir(dir).filter((n) => n.toLowerCase().endsWith('.csv'));
  if (files.length === 0) throw new DatasetError(dir, 0, 'files', 'missing file', 'BP4D: no <Subject>_<Task>.csv files (expected AUCoding/AU_OCC/F001_T1.csv ...)');
  for (const name of files) {
    const file = join(dir, name);
    const m = /^([FM]\d{3})_(T\d+)\.csv$/i.exec(name);
    if (!m) {
      bad.handle(new DatasetError(file, 0, 'file name', 'bad file name', 'expected <Subject>_<Task>.csv such as F001_T1.csv'));
      continue;
    }
    const got = bad.guard(() => readBp4dFile(file, m[1]!.toUpperCase(), m[2]!.toUpperCase(), bad, opts.imagePattern));
    if (got) frames.push(...got);
  }
  return { dataset: 'bp4d', aus: BP4D_AUS, frames, protocol: bp4dProtocol(), skipped: bad.counts, dropped: [] };
}
