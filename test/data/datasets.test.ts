// Dataset label readers (src/data/datasets): the fixtures in test/fixtures/<dataset>/ are written in
// each dataset's real layout (DATASETS.md); every expected count, rate and weight below is worked out
// by hand from those files. Malformed copies must fail with FILE:LINE: field, or be skipped and counted.
import { expect } from 'chai';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BP4D_PARTS, DISFA_PARTS, DatasetError, droppedCounts, foldSubjects, labelStats, readDataset, selectFrames,
  type DatasetLabels, type DatasetName, type LabelledFrame,
} from '../../src/data/datasets/index.js';
import { bp4dProtocol } from '../../src/data/datasets/bp4d.js';
import { disfaProtocol } from '../../src/data/datasets/disfa.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const fixture = (name: string) => join(FIXTURES, name);

/** A private copy of a fixture to break. */
function copyFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `aunce-${name}-`));
  cpSync(fixture(name), dir, { recursive: true });
  return dir;
}

/** Spec §2.1 from hand-counted positives p and labelled counts n: r = p/n, w = (1/r)/sum(1/r)*m. */
function weightsFrom(p: number[], n: number[]): number[] {
  const inv = p.map((pi, i) => n[i]! / pi);
  const sum = inv.reduce((a, b) => a + b, 0);
  return inv.map((v) => (v / sum) * p.length);
}

function expectClose(got: (number | null)[], want: number[], what: string): void {
  expect(got.length, what).to.equal(want.length);
  got.forEach((g, i) => expect(g, `${what}[${i}]`).to.be.closeTo(want[i]!, 1e-12));
}

function frameOf(ds: DatasetLabels, subject: string, frame: number, sequence?: string): LabelledFrame {
  const f = ds.frames.find((x) => x.subject === subject && x.frame === frame && (sequence === undefined || x.sequence === sequence));
  if (!f) throw new Error(`no frame ${subject} ${sequence ?? ''} ${frame}`);
  return f;
}

/** The error a read throws, as its message. */
function readError(name: DatasetName, root: string, opts: { threshold?: number } = {}): DatasetError {
  try {
    readDataset(name, root, opts);
  } catch (err) {
    expect(err).to.be.instanceOf(DatasetError);
    return err as DatasetError;
  }
  throw new Error('the read succeeded');
}

/** Replace the `line`-th line (1-based) of a file. */
function setLine(file: string, line: number, text: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[line - 1] = text;
  writeFileSync(file, lines.join('\n'));
}

describe('datasets bp4d', () => {
  const ds = readDataset('bp4d', fixture('bp4d'));
  const OCC = join('AUCoding', 'AU_OCC');

  it('bp4d read: every row of the four AU_OCC files, both header styles [12 frames]', () => {
    expect(ds.aus).to.deep.equal([1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]);
    expect(ds.frames.length).to.equal(4 + 2 + 3 + 3);
    // numbered header: F001_T1 2441 = AU1 AU6 AU7 AU10 AU12
    expect([...frameOf(ds, 'F001', 2441, 'T1').labels]).to.deep.equal([1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    // named header (AU01 ... with an extra AU05 column, CRLF lines): M011_T2 101 = AU2 AU4 AU14 AU15
    const m = frameOf(ds, 'M011', 101);
    expect([...m.labels]).to.deep.equal([0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(m.sequence).to.equal('T2');
    expect(m.image).to.equal('M011/T2/101.jpg');
  });

  it('bp4d read: a trailing comma on every line is accepted [F007_T1]', () => {
    const root = copyFixture('bp4d');
    const f = join(root, OCC, 'F007_T1.csv');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/\n/g, ',\n'));
    const ds2 = readDataset('bp4d', root);
    expect(ds2.frames.map((x) => [...x.labels, ...x.mask])).to.deep.equal(ds.frames.map((x) => [...x.labels, ...x.mask]));
    rmSync(root, { recursive: true });
  });

  it('bp4d read: 9 is not coded (masked, never active) [F001_T1 2442, M011_T2 102]', () => {
    const f = frameOf(ds, 'F001', 2442, 'T1');
    expect(f.mask[2]).to.equal(0);
    expect(f.labels[2]).to.equal(0);
    expect([...frameOf(ds, 'M011', 102).mask]).to.deep.equal(new Array(12).fill(0));
    expect(frameOf(ds, 'F001', 2443, 'T1').mask[7]).to.equal(0);
  });

  it('bp4d fold 1 train: counts, rates, missing and weights by hand [9 frames]', () => {
    const s = labelStats(selectFrames(ds, { fold: 1, split: 'train' }), ds.aus);
    // F001_T1 (4) + F001_T2 (2) + M011_T2 (3, one all-9 row) train; F007 (part 3) tests.
    const pos = [2, 3, 1, 4, 4, 4, 5, 4, 1, 1, 1, 2];
    const lab = [8, 8, 7, 8, 8, 8, 8, 7, 8, 8, 8, 8];
    expect(s.frames).to.equal(9);
    expectClose(s.occurrence, pos.map((p, i) => p / lab[i]!), 'occurrence');
    expect(s.missing).to.deep.equal(lab.map((n) => 9 - n));
    expectClose(s.weights, weightsFrom(pos, lab), 'weights');
    expect(s.weights.reduce((a, b) => a! + b!, 0)).to.be.closeTo(12, 1e-12);
  });

  it('bp4d fold 1 test: an AU that never occurs has no weight, the rest sum to their count [3 frames]', () => {
    const s = labelStats(selectFrames(ds, { fold: 1, split: 'test' }), ds.aus);
    expect(s.frames).to.equal(3);
    expect(s.weights[1]).to.equal(null); // AU2
    expect(s.weights[7]).to.equal(null); // AU14
    const finite = s.weights.filter((w): w is number => w !== null);
    expect(finite.reduce((a, b) => a + b, 0)).to.be.closeTo(10, 1e-12);
    // AU1: 2 of 3 frames (F007 500, 501); AU4: 1 of 3 (502)
    expect(s.occurrence[0]).to.be.closeTo(2 / 3, 1e-15);
    expect(s.occurrence[2]).to.be.closeTo(1 / 3, 1e-15);
  });

  it('bp4d folds: the standard parts, subject-exclusive, each subject tested once [41 subjects]', () => {
    const p = bp4dProtocol();
    expect(p.subjects.length).to.equal(41);
    expect(new Set(p.subjects).size).to.equal(41);
    expect(BP4D_PARTS.map((x) => x.length)).to.deep.equal([14, 14, 13]);
    expect(p.folds[0]).to.deep.equal(BP4D_PARTS[2]); // fold 1 tests part 3
    expect(p.folds[2]).to.deep.equal(BP4D_PARTS[0]); // fold 3 tests part 1
    for (let f = 1; f <= 3; f++) {
      const train = foldSubjects(p, { fold: f, split: 'train' }, 'bp4d');
      const test = foldSubjects(p, { fold: f, split: 'test' }, 'bp4d');
      expect([...test].filter((s) => train.has(s))).to.deep.equal([]);
      expect(train.size + test.size).to.equal(41);
    }
  });

  it('bp4d malformed: wrong header, short row, non-numeric cell, bad value, unknown AU name file:line and field', () => {
    const cases: [string, (f: string) => void, RegExp][] = [
      ['wrong header', (f) => setLine(f, 1, readFileSync(f, 'utf8').split('\n')[0]!.replace(',4,', ',four,')), /F001_T1\.csv:1: header column 5: expected an AU number.*"four"/],
      ['short row', (f) => setLine(f, 3, '2441,1,0'), /F001_T1\.csv:3: column 4: the row has 3 cells, the header 100/],
      ['non-numeric', (f) => setLine(f, 2, readFileSync(f, 'utf8').split('\n')[1]!.replace(/^2440,0,0,9,0/, '2440,0,0,9,x')), /F001_T1\.csv:2: AU4 \(column 5, header "4"\): expected an integer, got "x"/],
      ['bad value', (f) => setLine(f, 4, readFileSync(f, 'utf8').split('\n')[3]!.replace(/^2442,1/, '2442,5')), /F001_T1\.csv:4: AU1 \(column 2, header "1"\): expected 0, 1 or 9/],
      ['non-numeric frame', (f) => setLine(f, 5, readFileSync(f, 'utf8').split('\n')[4]!.replace(/^2443/, 'abc')), /F001_T1\.csv:5: frame \(column 1\): expected an integer/],
      ['duplicate frame', (f) => setLine(f, 5, readFileSync(f, 'utf8').split('\n')[4]!.replace(/^2443/, '2440')), /F001_T1\.csv:5: frame \(column 1\): frame 2440 appears twice/],
    ];
    for (const [what, edit, re] of cases) {
      const root = copyFixture('bp4d');
      edit(join(root, OCC, 'F001_T1.csv'));
      expect(readError('bp4d', root).message, what).to.match(re);
      rmSync(root, { recursive: true });
    }
    const root = copyFixture('bp4d');
    const named = join(root, OCC, 'M011_T2.csv');
    setLine(named, 1, 'Frame,AU01,AU02,AU04,AU05,AU06,AU07,AU10,AU12,AU14,AU15,AU17,AU23,AU150\r');
    expect(readError('bp4d', root).message).to.match(/M011_T2\.csv:1: header column 14: unknown AU code 150/);
    setLine(named, 1, 'Frame,AU01,AU02,AU04,AU05,AU06,AU07,AU10,AU12,AU14,AU15,AU17,AU23,AU25\r');
    expect(readError('bp4d', root).message).to.match(/M011_T2\.csv:1: header: no column for AU 24/);
    rmSync(root, { recursive: true });
  });

  it('bp4d skipBad: bad rows are skipped and counted per reason, never silently', () => {
    const root = copyFixture('bp4d');
    const f = join(root, OCC, 'F001_T1.csv');
    setLine(f, 3, '2441,1,0');
    setLine(f, 2, readFileSync(f, 'utf8').split('\n')[1]!.replace(/^2440,0,0,9,0/, '2440,0,0,9,x'));
    appendFileSync(join(root, OCC, 'F007_T1.csv'), '503,1\n');
    const ds2 = readDataset('bp4d', root, { skipBad: true });
    expect(ds2.skipped).to.deep.equal({ 'short row': 2, 'non-numeric cell': 1 });
    expect(ds2.frames.length).to.equal(12 - 2);
    rmSync(root, { recursive: true });
  });

  it('bp4d fold: a subject outside the parts is an error naming its file, or skipped and counted', () => {
    const root = copyFixture('bp4d');
    cpSync(join(root, OCC, 'F007_T1.csv'), join(root, OCC, 'F099_T1.csv'));
    const ds2 = readDataset('bp4d', root);
    expect(selectFrames(ds2, {}).length).to.equal(15);
    expect(() => selectFrames(ds2, { fold: 2, split: 'train' })).to.throw(DatasetError, /F099_T1\.csv:2: subject: the subject F099 is in none/);
    expect(selectFrames(ds2, { fold: 2, split: 'train' }, true).length).to.equal(4 + 2 + 3);
    expect(ds2.skipped).to.deep.equal({ 'unknown subject': 3 });
    expect(() => selectFrames(ds2, { split: 'train' })).to.throw(RangeError, /--split needs --fold/);
    expect(() => selectFrames(ds2, { fold: 4, split: 'train' })).to.throw(RangeError, /fold 4 does not exist/);
    rmSync(root, { recursive: true });
  });
});

describe('datasets disfa', () => {
  const ds = readDataset('disfa', fixture('disfa'));
  const LAB = 'ActionUnit_Labels';

  it('disfa read: frames are the union of the AU files, a frame missing from one file is unlabelled [12 frames]', () => {
    expect(ds.aus).to.deep.equal([1, 2, 4, 6, 9, 12, 25, 26]);
    expect(ds.frames.length).to.equal(5 + 4 + 3);
    const f = frameOf(ds, 'SN003', 4); // SN003_au9.txt stops at frame 3
    expect([...f.mask]).to.deep.equal([1, 1, 1, 1, 0, 1, 1, 1]);
    expect(f.image).to.equal('SN003/3.png');
    expect(frameOf(ds, 'SN001', 1).image).to.equal('SN001/0.png');
  });

  it('disfa fold 1 train at the default threshold 2 [8 frames]', () => {
    const s = labelStats(selectFrames(ds, { fold: 1, split: 'train' }), ds.aus);
    // SN001 (part 1) + SN013 (part 2); intensities >= 2
    const pos = [3, 3, 1, 3, 1, 4, 5, 1];
    const lab = new Array(8).fill(8);
    expect(s.frames).to.equal(8);
    expectClose(s.occurrence, pos.map((p) => p / 8), 'occurrence');
    expect(s.missing).to.deep.equal(new Array(8).fill(0));
    expectClose(s.weights, weightsFrom(pos, lab), 'weights');
  });

  it('disfa fold 1 train at threshold 1 [8 frames]', () => {
    const ds1 = readDataset('disfa', fixture('disfa'), { threshold: 1 });
    const s = labelStats(selectFrames(ds1, { fold: 1, split: 'train' }), ds1.aus);
    const pos = [4, 3, 1, 6, 1, 5, 6, 4];
    expectClose(s.occurrence, pos.map((p) => p / 8), 'occurrence');
    expectClose(s.weights, weightsFrom(pos, new Array(8).fill(8)), 'weights');
  });

  it('disfa fold 1 test: AU9 has 3 labelled frames of 4 [SN003]', () => {
    const s = labelStats(selectFrames(ds, { fold: 1, split: 'test' }), ds.aus);
    expect(s.frames).to.equal(4);
    expect(s.missing).to.deep.equal([0, 0, 0, 0, 1, 0, 0, 0]);
    expect(s.occurrence[4]).to.be.closeTo(2 / 3, 1e-15);
  });

  it('disfa folds: the standard parts, subject-exclusive [27 subjects]', () => {
    const p = disfaProtocol();
    expect(p.subjects.length).to.equal(27);
    expect(new Set(p.subjects).size).to.equal(27);
    for (const s of ['SN014', 'SN015', 'SN019', 'SN020', 'SN022']) expect(p.subjects).to.not.include(s);
    expect(DISFA_PARTS.map((x) => x.length)).to.deep.equal([9, 9, 9]);
    for (let f = 1; f <= 3; f++) {
      const train = foldSubjects(p, { fold: f, split: 'train' }, 'disfa');
      const test = foldSubjects(p, { fold: f, split: 'test' }, 'disfa');
      expect([...test].filter((s) => train.has(s))).to.deep.equal([]);
      expect(test.size).to.equal(9);
    }
  });

  it('disfa malformed: short row, non-numeric, intensity out of range, missing file, unknown AU file', () => {
    const cases: [string, (root: string) => void, RegExp][] = [
      ['short row', (r) => setLine(join(r, LAB, 'SN001', 'SN001_au4.txt'), 2, '2'), /SN001_au4\.txt:2: intensity \(column 2\): expected "frame,intensity"/],
      ['non-numeric', (r) => setLine(join(r, LAB, 'SN001', 'SN001_au6.txt'), 3, '3,two'), /SN001_au6\.txt:3: intensity \(column 2\): expected an integer, got "two"/],
      ['range', (r) => setLine(join(r, LAB, 'SN013', 'SN013_au25.txt'), 1, '1,7'), /SN013_au25\.txt:1: intensity \(column 2\): expected an intensity 0-5, got 7/],
      ['missing file', (r) => rmSync(join(r, LAB, 'SN003', 'SN003_au26.txt')), /SN003_au26\.txt: AU26: no label file for AU 26/],
      ['unknown AU', (r) => writeFileSync(join(r, LAB, 'SN001', 'SN001_au99.txt'), '1,0\n'), /SN001_au99\.txt: file name: unknown AU code 99/],
    ];
    for (const [what, edit, re] of cases) {
      const root = copyFixture('disfa');
      edit(root);
      expect(readError('disfa', root).message, what).to.match(re);
      rmSync(root, { recursive: true });
    }
  });

  it('disfa read: AU file names in another case are found [SN001_AU12.TXT]', () => {
    const root = copyFixture('disfa');
    const dir = join(root, LAB, 'SN001');
    cpSync(join(dir, 'SN001_au12.txt'), join(dir, 'SN001_AU12.TXT'));
    rmSync(join(dir, 'SN001_au12.txt'));
    const ds2 = readDataset('disfa', root);
    expect(ds2.frames.map((f) => [...f.labels])).to.deep.equal(ds.frames.map((f) => [...f.labels]));
    rmSync(root, { recursive: true });
  });

  it('disfa skipBad: a missing AU file leaves that AU unlabelled and is counted', () => {
    const root = copyFixture('disfa');
    rmSync(join(root, LAB, 'SN003', 'SN003_au26.txt'));
    setLine(join(root, LAB, 'SN001', 'SN001_au4.txt'), 2, '2');
    const ds2 = readDataset('disfa', root, { skipBad: true });
    expect(ds2.skipped).to.deep.equal({ 'missing file': 1, 'short row': 1 });
    const s = labelStats(selectFrames(ds2, { fold: 1, split: 'test' }), ds2.aus);
    expect(s.missing).to.deep.equal([0, 0, 0, 0, 1, 0, 0, 4]);
    expect(frameOf(ds2, 'SN001', 2).mask[2]).to.equal(0); // AU4's row for frame 2 was skipped
    rmSync(root, { recursive: true });
  });
});

describe('datasets gft', () => {
  const ds = readDataset('gft', fixture('gft'));

  it('gft read: derived CSV and path list + label matrix together [8 frames]', () => {
    expect(ds.aus).to.deep.equal([1, 2, 4, 6, 10, 12, 14, 15, 23, 24]);
    expect(ds.frames.length).to.equal(5 + 3);
    expect(ds.protocol.subjects).to.deep.equal(['001A', '002B', '008A', '028C']);
    expect(ds.protocol.folds).to.deep.equal([['008A', '028C']]);
    // CSV row 001A/2: au1 au6 au10 au12 au24 (au7 and au17 are not GFT AUs)
    expect([...frameOf(ds, '001A', 2).labels]).to.deep.equal([1, 0, 0, 1, 1, 1, 0, 0, 0, 1]);
    expect(frameOf(ds, '002B', 6).mask[4]).to.equal(0); // 9 in the label matrix
  });

  it('gft official split: train on the 78, test on groups 008 010 019 022 028 030 [5 + 3 frames]', () => {
    const s = labelStats(selectFrames(ds, { split: 'train' }), ds.aus);
    const pos = [3, 1, 1, 3, 3, 4, 1, 1, 1, 2];
    const lab = [5, 5, 5, 5, 4, 5, 5, 5, 5, 5];
    expect(s.frames).to.equal(5);
    expectClose(s.occurrence, pos.map((p, i) => p / lab[i]!), 'occurrence');
    expect(s.missing).to.deep.equal([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expectClose(s.weights, weightsFrom(pos, lab), 'weights');
    expect(selectFrames(ds, { fold: 1, split: 'test' }).map((f) => f.subject).sort()).to.deep.equal(['008A', '028C', '028C']);
    expect(() => selectFrames(ds, { fold: 2, split: 'test' })).to.throw(RangeError, /fold 2 does not exist \(folds 1-1\)/);
  });

  it('gft malformed: header, short row, non-numeric, label matrix, no participant id', () => {
    const cases: [string, (root: string) => void, RegExp][] = [
      ['header', (r) => setLine(join(r, 'gft_au_labels.csv'), 1, 'file_name_list,image_path,anchor_image_path,speaker,au1,au2,au5,au6,au7,au10,au12,au14,au15,au17,au23,au24'),
        /gft_au_labels\.csv:1: header column 7: expected "au4", got "au5"/],
      ['short row', (r) => setLine(join(r, 'gft_au_labels.csv'), 3, '001A_00002,001A/2.jpg,001A/1.jpg,001A,1,0'), /gft_au_labels\.csv:3: au4: the row has 6 cells, the header 16/],
      ['non-numeric', (r) => setLine(join(r, 'gft_au_labels.csv'), 2, '001A_00001,001A/1.jpg,001A/1.jpg,001A,1,0,0,1,0,1,yes,0,0,0,0,0'), /gft_au_labels\.csv:2: au12: expected an integer, got "yes"/],
      ['matrix', (r) => setLine(join(r, 'list', 'GFT_label.txt'), 2, '1 1 0 0'), /GFT_label\.txt:2: column 5: expected 10 labels/],
      ['participant', (r) => setLine(join(r, 'list', 'GFT_img_path.txt'), 1, 'someone/5.jpg'), /GFT_img_path\.txt:1: image path: no participant id/],
      ['no image', (r) => setLine(join(r, 'list', 'GFT_img_path.txt'), 3, ''), /GFT_img_path\.txt:3: image path: empty line/],
    ];
    for (const [what, edit, re] of cases) {
      const root = copyFixture('gft');
      edit(root);
      expect(readError('gft', root).message, what).to.match(re);
      rmSync(root, { recursive: true });
    }
  });
});

describe('datasets affwild2', () => {
  const ds = readDataset('affwild2', fixture('affwild2'));

  it('affwild2 read: -1 rows dropped and counted per split, partial -1 rows masked [8 frames]', () => {
    expect(ds.frames.length).to.equal(8);
    expect(droppedCounts(ds, { split: 'train' })).to.deep.equal({ '-1 row (unannotated)': 2 });
    expect(droppedCounts(ds, { split: 'test' })).to.deep.equal({});
    const f = frameOf(ds, '10-60-1280x720_left', 2);
    expect([...f.mask]).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]);
    expect(f.image).to.equal('cropped_aligned/10-60-1280x720_left/00002.jpg');
    expect(frameOf(ds, 'video1', 3).image).to.equal('cropped_aligned/video1/00003.jpg');
  });

  it('affwild2 train/validation: rates over labelled frames [5 train frames]', () => {
    const s = labelStats(selectFrames(ds, { split: 'train' }), ds.aus);
    const pos = [2, 1, 1, 2, 2, 1, 2, 1, 1, 1, 3, 1];
    const lab = [4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 4, 4];
    expect(s.frames).to.equal(5);
    expectClose(s.occurrence, pos.map((p, i) => p / lab[i]!), 'occurrence');
    expect(s.missing).to.deep.equal(lab.map((n) => 5 - n));
    expectClose(s.weights, weightsFrom(pos, lab), 'weights');
    expect(ds.protocol.folds).to.deep.equal([['video2']]);
  });

  it('affwild2 read: Train_Set alone is read; its validation side is empty', () => {
    const root = copyFixture('affwild2');
    rmSync(join(root, 'AU_Set', 'Validation_Set'), { recursive: true });
    const ds2 = readDataset('affwild2', root);
    expect(selectFrames(ds2, { split: 'train' }).length).to.equal(5);
    expect(selectFrames(ds2, { split: 'test' }).length).to.equal(0);
    rmSync(join(root, 'AU_Set', 'Train_Set'), { recursive: true });
    expect(readError('affwild2', root).message).to.match(/expected AU_Set\/Train_Set and AU_Set\/Validation_Set/);
    rmSync(root, { recursive: true });
  });

  it('affwild2 malformed: unknown AU in the header, short row, bad value name file:line and field', () => {
    const TRAIN = join('AU_Set', 'Train_Set', 'video1.txt');
    const cases: [string, string, number, string, RegExp][] = [
      ['unknown AU', TRAIN, 1, 'AU1,AU2,AU4,AU5,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26', /video1\.txt:1: header column 4: expected "AU6", got "AU5"/],
      ['short row', TRAIN, 4, '1,1', /video1\.txt:4: AU4: the row has 2 cells, the header 12/],
      ['bad value', TRAIN, 2, '0,0,0,0,0,0,2,0,0,0,1,0', /video1\.txt:2: AU12: expected 0, 1 or -1/],
      ['non-numeric', TRAIN, 5, '0,0,1,1,1,0,0,0,0,0,0,?', /video1\.txt:5: AU26: expected an integer, got "\?"/],
    ];
    for (const [what, file, line, text, re] of cases) {
      const root = copyFixture('affwild2');
      setLine(join(root, file), line, text);
      const err = readError('affwild2', root);
      expect(err.message, what).to.match(re);
      rmSync(root, { recursive: true });
    }
    const root = copyFixture('affwild2');
    setLine(join(root, TRAIN), 4, '1,1');
    const ds2 = readDataset('affwild2', root, { skipBad: true });
    expect(ds2.skipped).to.deep.equal({ 'short row': 1 });
    expect(ds2.frames.length).to.equal(7);
    rmSync(root, { recursive: true });
  });
});
