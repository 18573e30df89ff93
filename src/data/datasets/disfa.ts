/**
 * DISFA: `ActionUnit_Labels/SN001/SN001_au1.txt` (au1 au2 au4 au5 au6 au9 au12 au15 au17 au20 au25
 * au26). No header; each line `frame,intensity` with frames from 1 and intensity 0-5. An AU is
 * active when intensity >= threshold (2 by default, as the common pipeline; some use 1). The 8
 * evaluated AUs are read; the others are checked by name only. A frame missing from one AU's file
 * is unlabelled for that AU. Label row t maps to the image `SN001/<t-1>.png`.
 */
import { join } from 'node:path';
import {
  BadRows, DatasetError, findDir, imagePath, intCell, isDir, isFile, listDir, readLines, splitCsv,
  type DatasetLabels, type LabelledFrame, type Protocol, type ReadOptions,
} from './common.js';

export const DISFA_AUS = [1, 2, 4, 6, 9, 12, 25, 26];
/** every AU DISFA codes (a file for another AU is an error: an unknown AU code) */
export const DISFA_ALL_AUS = [1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26];

const PART1 = 'SN002 SN010 SN001 SN026 SN027 SN032 SN030 SN009 SN016';
const PART2 = 'SN013 SN018 SN011 SN028 SN012 SN006 SN031 SN021 SN024';
const PART3 = 'SN003 SN029 SN023 SN025 SN008 SN005 SN007 SN017 SN004';
export const DISFA_PARTS = [PART1, PART2, PART3].map((p) => p.split(' '));

export const disfaProtocol = (): Protocol => ({
  subjects: DISFA_PARTS.flat(),
  folds: [DISFA_PARTS[2]!, DISFA_PARTS[1]!, DISFA_PARTS[0]!],
});

export const DISFA_IMAGE_PATTERN = '{subject}/{frame0}.png';

/** One AU file: frame number -> intensity, with the line of each frame. */
function readAuFile(file: string, bad: BadRows): Map<number, { v: number; line: number }> {
  const out = new Map<number, { v: number; line: number }>();
  const lines = readLines(file);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    if (lines[i]!.trim() === '') continue;
    bad.guard(() => {
      const cells = splitCsv(lines[i]!);
      if (cells.length < 2) throw new DatasetError(file, line, 'intensity (column 2)', 'short row', `expected "frame,intensity", got ${JSON.stringify(lines[i])}`);
      if (cells.length > 2) throw new DatasetError(file, line, 'column 3', 'bad value', `expected "frame,intensity" (2 cells), got ${cells.length}`);
      const frame = intCell(cells[0], file, line, 'frame (column 1)');
      if (frame < 1) throw new DatasetError(file, line, 'frame (column 1)', 'bad value', `frames start at 1, got ${frame}`);
      const v = intCell(cells[1], file, line, 'intensity (column 2)');
      if (v < 0 || v > 5) throw new DatasetError(file, line, 'intensity (column 2)', 'bad value', `expected an intensity 0-5, got ${v}`);
      if (out.has(frame)) throw new DatasetError(file, line, 'frame (column 1)', 'duplicate frame', `frame ${frame} appears twice`);
      out.set(frame, { v, line });
    });
  }
  return out;
}

/** One subject's folder of AU files. */
function readSubject(dir: string, subject: string, threshold: number, bad: BadRows, pattern: string): LabelledFrame[] {
  const names = listDir(dir);
  // file names are matched without regard to case (SN001_au1.txt, SN001_AU1.txt)
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  for (const name of names) {
    const m = /^(SN\d{3})_au(\d+)\.txt$/i.exec(name);
    const file = join(dir, name);
    if (!m) {
      if (name.toLowerCase().endsWith('.txt')) bad.handle(new DatasetError(file, 0, 'file name', 'bad file name', `expected ${subject}_au<N>.txt`));
      continue;
    }
    if (m[1]!.toUpperCase() !== subject) bad.handle(new DatasetError(file, 0, 'file name', 'bad file name', `a file of ${m[1]} in the folder of ${subject}`));
    if (!DISFA_ALL_AUS.includes(Number(m[2]))) {
      bad.handle(new DatasetError(file, 0, 'file name', 'unknown AU', `unknown AU code ${m[2]} (DISFA codes ${DISFA_ALL_AUS.join(' ')})`));
    }
  }
  const files: string[] = [];
  const perAu = DISFA_AUS.map((au) => {
    const file = join(dir, byLower.get(`${subject}_au${au}.txt`.toLowerCase()) ?? `${subject}_au${au}.txt`);
    files.push(file);
    if (!isFile(file)) {
      bad.handle(new DatasetError(file, 0, `AU${au}`, 'missing file', `no label file for AU ${au} (expected ${subject}_au${au}.txt; with --skip-bad, AU ${au} is unlabelled for ${subject})`));
      return new Map<number, { v: number; line: number }>();
    }
    return readAuFile(file, bad);
  });
  const frameSet = new Set<number>();
  for (const m of perAu) for (const f of m.keys()) frameSet.add(f);
  const frames = [...frameSet].sort((a, b) => a - b);
  return frames.map((frame) => {
    const labels = new Uint8Array(DISFA_AUS.length);
    const mask = new Uint8Array(DISFA_AUS.length);
    let where = '';
    perAu.forEach((m, k) => {
      const e = m.get(frame);
      if (!e) return;
      mask[k] = 1;
      labels[k] = e.v >= threshold ? 1 : 0;
      where ||= `${files[k]}:${e.line}`;
    });
    const f = { subject, sequence: subject, frame };
    return { ...f, image: imagePath(pattern, f), labels, mask, where };
  });
}

export function readDisfa(root: string, opts: ReadOptions = {}): DatasetLabels {
  const threshold = opts.threshold ?? 2;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 5) throw new RangeError(`disfa: the threshold must be an integer 1-5, got ${threshold}`);
  const dir = findDir(root, ['ActionUnit_Labels', '.'], 'DISFA');
  const bad = new BadRows(opts.skipBad ?? false);
  const subjects = listDir(dir).filter((n) => /^SN\d{3}$/i.test(n) && isDir(join(dir, n)));
  if (subjects.length === 0) throw new DatasetError(dir, 0, 'files', 'missing file', 'DISFA: no subject folders (expected ActionUnit_Labels/SN001/SN001_au1.txt ...)');
  const frames: LabelledFrame[] = [];
  for (const s of subjects) frames.push(...readSubject(join(dir, s), s.toUpperCase(), threshold, bad, opts.imagePattern ?? DISFA_IMAGE_PATTERN));
  return { dataset: 'disfa', aus: DISFA_AUS, frames, protocol: disfaProtocol(), skipped: bad.counts, dropped: [] };
}
