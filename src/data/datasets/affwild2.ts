/**
 * Aff-Wild2, ABAW AU track: `AU_Set/{Train_Set,Validation_Set}/<video>.txt` (later releases:
 * `AU_Detection_Challenge/...`). Header `AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26`,
 * then one line per frame; line k after the header is `cropped_aligned/<video>/<k as 5 digits>.jpg`.
 * A row of -1 (unannotated, or no face) is dropped and counted; a -1 in some cells of a row masks
 * those AUs. Each video (`_left` / `_right` persons separately) is a subject; fold 1 trains on
 * Train_Set and tests on Validation_Set.
 */
import { join } from 'node:path';
import {
  BadRows, DatasetError, imagePath, intCell, isDir, listDir, readLines, splitCsv,
  type DatasetLabels, type Dropped, type LabelledFrame, type ReadOptions,
} from './common.js';

export const AFFWILD2_AUS = [1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26];
const HEADER = AFFWILD2_AUS.map((a) => `AU${a}`);
export const AFFWILD2_IMAGE_PATTERN = 'cropped_aligned/{sequence}/{frame:5}.jpg';

function readVideo(file: string, video: string, bad: BadRows, dropped: Dropped[], pattern: string): LabelledFrame[] {
  const lines = readLines(file);
  const header = splitCsv(lines[0] ?? '');
  for (let c = 0; c < Math.max(header.length, HEADER.length); c++) {
    const got = header[c];
    if ((got ?? '').toUpperCase() === HEADER[c]) continue;
    const au = /^AU(\d+)$/i.exec(got ?? '');
    const reason = au && !AFFWILD2_AUS.includes(Number(au[1])) ? 'unknown AU' : 'bad header';
    throw new DatasetError(file, 1, `header column ${c + 1}`, reason,
      `expected ${HEADER[c] === undefined ? 'no more columns' : JSON.stringify(HEADER[c])}, got ${got === undefined ? 'nothing' : JSON.stringify(got)} (the header must be ${HEADER.join(',')})`);
  }
  const out: LabelledFrame[] = [];
  const unannotatedRows: Dropped = { subject: video, reason: '-1 row (unannotated)', count: 0 };
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    const row = bad.guard((): LabelledFrame | null => {
      const cells = splitCsv(lines[i]!);
      if (cells.length < HEADER.length) throw new DatasetError(file, line, HEADER[cells.length]!, 'short row', `the row has ${cells.length} cells, the header ${HEADER.length}`);
      if (cells.length > HEADER.length) throw new DatasetError(file, line, `column ${HEADER.length + 1}`, 'bad value', `the row has ${cells.length} cells, the header ${HEADER.length}`);
      const labels = new Uint8Array(HEADER.length);
      const mask = new Uint8Array(HEADER.length);
      let unannotated = 0;
      cells.forEach((cell, k) => {
        const v = intCell(cell, file, line, HEADER[k]!);
        if (v !== 0 && v !== 1 && v !== -1) throw new DatasetError(file, line, HEADER[k]!, 'bad value', `expected 0, 1 or -1 (unannotated), got ${v}`);
        if (v === -1) unannotated++;
        mask[k] = v === -1 ? 0 : 1;
        labels[k] = v === 1 ? 1 : 0;
      });
      if (unannotated === HEADER.length) {
        unannotatedRows.count++;
        return null;
      }
      const f = { subject: video, sequence: video, frame: i };
      return { ...f, image: imagePath(pattern, f), labels, mask, where: `${file}:${line}` };
    });
    if (row) out.push(row);
  }
  if (unannotatedRows.count > 0) dropped.push(unannotatedRows);
  return out;
}

export function readAffwild2(root: string, opts: ReadOptions = {}): DatasetLabels {
  const base = ['AU_Set', 'AU_Detection_Challenge', '.'].map((d) => join(root, d)).find((d) => isDir(join(d, 'Train_Set')) || isDir(join(d, 'Validation_Set')));
  if (!base) {
    throw new DatasetError(root, 0, 'root', 'missing file', 'Aff-Wild2: expected AU_Set/Train_Set and AU_Set/Validation_Set (or AU_Detection_Challenge/...) under the root');
  }
  const bad = new BadRows(opts.skipBad ?? false);
  const dropped: Dropped[] = [];
  const frames: LabelledFrame[] = [];
  const sides: Record<string, string[]> = { Train_Set: [], Validation_Set: [] };
  for (const side of Object.keys(sides)) {
    const dir = join(base, side);
    if (!isDir(dir)) continue; // one set alone is read (its other side then has no frames)
    for (const name of listDir(dir).filter((n) => n.endsWith('.txt'))) {
      const video = name.slice(0, -4);
      const got = bad.guard(() => readVideo(join(dir, name), video, bad, dropped, opts.imagePattern ?? AFFWILD2_IMAGE_PATTERN));
      if (got) {
        frames.push(...got);
        sides[side]!.push(video);
      }
    }
  }
  const both = sides.Train_Set!.filter((v) => sides.Validation_Set!.includes(v));
  if (both.length > 0) {
    throw new DatasetError(join(base, 'Validation_Set', `${both[0]}.txt`), 0, 'video', 'bad file name', `the video ${both[0]} is in both Train_Set and Validation_Set: the split must be subject-exclusive`);
  }
  const subjects = [...sides.Train_Set!, ...sides.Validation_Set!];
  return { dataset: 'affwild2', aus: AFFWILD2_AUS, frames, protocol: { subjects, folds: [sides.Validation_Set!] }, skipped: bad.counts, dropped };
}
