// `aunce convert` (data-tools/convert.ts): fixtures in the real label layouts plus tiny PNG/JPEG
// frames generated here, converted to the native format and read back through NativeReader; the
// native labels give the same statistics as the raw ones; missing or broken images are named.
import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { deflateSync } from 'node:zlib';
import { convertDataset } from '../../data-tools/convert.js';
import { centreSquare, decodeImage } from '../../data-tools/images.js';
import { readMat5 } from '../../data-tools/mat5.js';
import { runLabels } from '../../src/cli/labels.js';
import { DatasetError, readDataset } from '../../src/data/datasets/index.js';
import { NativeReader } from '../../src/data/native.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/** A uniform w x h PNG of one colour. */
function png(w: number, h: number, rgb: [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([...rgb, 255], 4 * i);
  return PNG.sync.write(p);
}

function jpg(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], 4 * i);
  return jpeg.encode({ width: w, height: h, data }, 95).data;
}

/** The colour each frame's image gets: a function of its subject and frame number. */
const colour = (subject: string, frame: number): [number, number, number] => [subject.charCodeAt(0), frame % 256, Number(subject.slice(1)) * 10];

function write(file: string, bytes: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

/** A copy of the BP4D fixture with a 20x12 PNG for every labelled frame under images/. */
function bp4dWithImages(): string {
  const root = mkdtempSync(join(tmpdir(), 'aunce-convert-'));
  cpSync(join(FIXTURES, 'bp4d'), root, { recursive: true });
  for (const f of readDataset('bp4d', root).frames) write(join(root, 'images', `${f.subject}/${f.sequence}/${f.frame}.png`), png(20, 12, colour(f.subject, f.frame)));
  return root;
}

const PNG_PATTERN = '{subject}/{sequence}/{frame}.png';

/** A little-endian MATLAB 5 MAT-file holding one double matrix `name` (rows x cols, column-major). */
function mat5(name: string, rows: number, cols: number, colMajor: number[], compress = false): Buffer {
  const header = Buffer.alloc(128, 0x20);
  header.write('MATLAB 5.0 MAT-file, written by the aunce tests', 0, 'latin1');
  header.fill(0, 116, 124);
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126, 'latin1');
  const el = (type: number, payload: Buffer) => {
    const tag = Buffer.alloc(8);
    tag.writeUInt32LE(type, 0);
    tag.writeUInt32LE(payload.length, 4);
    return Buffer.concat([tag, payload, Buffer.alloc((8 - (payload.length % 8)) % 8)]);
  };
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(6, 0); // mxDOUBLE_CLASS
  const dims = Buffer.alloc(8);
  dims.writeInt32LE(rows, 0);
  dims.writeInt32LE(cols, 4);
  const re = Buffer.alloc(8 * colMajor.length);
  colMajor.forEach((v, i) => re.writeDoubleLE(v, 8 * i));
  const matrix = el(14, Buffer.concat([el(6, flags), el(5, dims), el(1, Buffer.from(name, 'latin1')), el(9, re)]));
  if (!compress) return Buffer.concat([header, matrix]);
  const z = deflateSync(matrix);
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(15, 0);
  tag.writeUInt32LE(z.length, 4);
  return Buffer.concat([header, tag, z]);
}

/**
 * 66 DISFA points (1-based pixels, 17 jaw points then the 49 inner ones) of a frontal face: eyes
 * centred on (30, 40) and (70, 40), nose tip (50, 60), mouth corners (38, 80) and (62, 80) (0-based).
 */
function face66(): number[] {
  const p49: [number, number][] = Array.from({ length: 49 }, () => [50, 50]);
  for (let i = 19; i < 25; i++) p49[i] = [30 + (i % 2 ? 2 : -2), 40];
  for (let i = 25; i < 31; i++) p49[i] = [70 + (i % 2 ? 2 : -2), 40];
  p49[13] = [50, 60];
  p49[31] = [38, 80];
  p49[37] = [62, 80];
  const pts = [...Array.from({ length: 17 }, (_, i): [number, number] => [10 + 5 * i, 90]), ...p49].map(([x, y]) => [x + 1, y + 1]);
  return [...pts.map((p) => p[0]!), ...pts.map((p) => p[1]!)]; // column-major 66 x 2
}

/** 100 x 100, red left of x = 50, blue from it. */
function halves(): Buffer {
  const p = new PNG({ width: 100, height: 100 });
  for (let i = 0; i < 100 * 100; i++) p.data.set(i % 100 < 50 ? [255, 0, 0, 255] : [0, 0, 255, 255], 4 * i);
  return PNG.sync.write(p);
}

describe('cli convert', () => {
  let root = '';
  before(() => {
    root = bp4dWithImages();
  });
  after(() => rmSync(root, { recursive: true }));

  it('convert bp4d: frames, labels, masks, folds and images read back through NativeReader [12 frames, 3 shards]', async () => {
    const out = join(root, 'native');
    const r = await convertDataset('bp4d', { root, out, images: join(root, 'images'), imagePattern: PNG_PATTERN, size: 8, framesPerShard: 5 });
    expect(r.manifest.frames).to.equal(12);
    expect(r.manifest.shards.length).to.equal(3);
    const { meta } = r.manifest;
    expect(meta.subjects).to.deep.equal(['F001', 'M011', 'F007']);
    expect(meta.folds).to.deep.equal([[2], [1], [0]]); // fold 1 tests part 3 (F007), fold 3 part 1 (F001)
    expect(meta.landmarks).to.equal(0);
    expect(meta.extra?.alignment).to.match(/^none: centre square/);
    const raw = readDataset('bp4d', root).frames;
    const reader = await NativeReader.open(out);
    try {
      let i = 0;
      for await (const f of reader.frames()) {
        const e = raw[i++]!;
        expect(meta.subjects[f.subject]).to.equal(e.subject);
        expect((meta.extra?.sequences as string[])[f.sequence]).to.equal(e.sequence);
        expect(f.frame).to.equal(e.frame);
        expect([...f.labels]).to.deep.equal([...e.labels]);
        expect([...f.mask]).to.deep.equal([...e.mask]);
        const c = colour(e.subject, e.frame);
        for (let p = 0; p < 64; p++) expect([f.image[3 * p], f.image[3 * p + 1], f.image[3 * p + 2]]).to.deep.equal(c);
      }
      expect(i).to.equal(12);
    } finally {
      await reader.close();
    }
  });

  it('convert bp4d: labels native gives the raw statistics for every fold and split', async () => {
    const out = join(root, 'native');
    for (const sel of [{}, ...[1, 2, 3].flatMap((fold) => (['train', 'test'] as const).map((split) => ({ fold, split })))]) {
      const a = await runLabels('native', { root: out, ...sel });
      const b = await runLabels('bp4d', { root, ...sel });
      expect(a.stats, JSON.stringify(sel)).to.deep.equal(b.stats);
    }
  });

  it('convert bp4d: a frame with no image is an error naming the label file, line and field; --skip-bad counts it', async () => {
    const copy = bp4dWithImages();
    rmSync(join(copy, 'images', 'F001', 'T1', '2441.png'));
    writeFileSync(join(copy, 'images', 'F007', 'T1', '501.png'), 'not an image');
    const opts = { root: copy, out: join(copy, 'native'), images: join(copy, 'images'), imagePattern: PNG_PATTERN, size: 8 };
    let err: unknown;
    await convertDataset('bp4d', opts).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(DatasetError);
    expect((err as Error).message).to.match(/AU_OCC\/F001_T1\.csv:3: image: the frame's image .*F001\/T1\/2441\.png does not exist/);
    const r = await convertDataset('bp4d', { ...opts, skipBad: true, overwrite: true });
    expect(r.skipped).to.deep.equal({ 'no image': 1, 'bad image': 1 });
    expect(r.manifest.frames).to.equal(10);
    let again: unknown;
    await convertDataset('bp4d', { ...opts, skipBad: true }).catch((e: unknown) => (again = e));
    expect((again as Error).message).to.match(/already holds a native dataset \(manifest\.json\): pass --overwrite/);
    rmSync(copy, { recursive: true });
  });

  it('convert affwild2: JPEG frames, -1 rows dropped and reported, one split only', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'aunce-convert-aw-'));
    cpSync(join(FIXTURES, 'affwild2'), copy, { recursive: true });
    for (const f of readDataset('affwild2', copy).frames) write(join(copy, f.image), jpg(16, 16, [200, 40, 90]));
    const r = await convertDataset('affwild2', { root: copy, out: join(copy, 'out'), split: 'train', size: 8 });
    expect(r.manifest.frames).to.equal(5);
    expect(r.dropped).to.deep.equal({ '-1 row (unannotated)': 2 });
    expect(r.manifest.meta.subjects).to.deep.equal(['10-60-1280x720_left', 'video1']);
    expect(r.manifest.meta.folds).to.deep.equal([[]]);
    const reader = await NativeReader.open(join(copy, 'out'));
    const f = await reader.get(0);
    await reader.close();
    // JPEG is lossy: a flat colour comes back within a few levels
    for (let p = 0; p < 64; p++) expect(Math.abs(f.image[3 * p]! - 200) + Math.abs(f.image[3 * p + 1]! - 40) + Math.abs(f.image[3 * p + 2]! - 90)).to.be.below(8);
    rmSync(copy, { recursive: true });
  });

  it('convert disfa: a root with the video but no frames says that there is no video decoder', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'aunce-convert-disfa-'));
    cpSync(join(FIXTURES, 'disfa'), copy, { recursive: true });
    write(join(copy, 'Videos_LeftCamera', 'LeftVideoSN001_comp.avi'), new Uint8Array(16));
    let err: unknown;
    await convertDataset('disfa', { root: copy, out: join(copy, 'out'), size: 8 }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/no frame folder for SN001 .*LeftVideoSN001_comp\.avi is there: this project has no video decoder.*ffmpeg/);
    rmSync(copy, { recursive: true });
  });
});

describe('cli convert aligned', () => {
  it('convert disfa: frames aligned from the 66 MAT landmarks, 49 aligned points stored [12 frames]', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'aunce-convert-lm-'));
    cpSync(join(FIXTURES, 'disfa'), copy, { recursive: true });
    const pts = face66();
    for (const f of readDataset('disfa', copy).frames) {
      write(join(copy, 'frames', f.image), halves());
      const n = String(f.frame - 1).padStart(4, '0');
      // three namings: plain, the l0NNNN variant (compressed), and without tmp_frame_lm
      const name = f.subject === 'SN003' ? `tmp_frame_lm/l0${n}_lm.mat` : f.subject === 'SN013' ? `${f.subject}_${n}_lm.mat` : `tmp_frame_lm/${f.subject}_${n}_lm.mat`;
      write(join(copy, 'Landmark_Points', f.subject, name), mat5('pts', 66, 2, pts, f.subject === 'SN003'));
    }
    const out = join(copy, 'out');
    const r = await convertDataset('disfa', { root: copy, images: join(copy, 'frames'), out, size: 16 });
    expect(r.manifest.frames).to.equal(12);
    expect(r.manifest.meta.landmarks).to.equal(49);
    expect(r.manifest.meta.extra?.alignment).to.match(/^49-point similarity alignment .* enlarge 2\.9/);
    const reader = await NativeReader.open(out);
    try {
      for await (const f of reader.frames()) {
        // box x 30..70, y 40..80 -> centre (50, 60), half = 0.5 * 2.9 * 40 = 58, s = 7.5 / 58:
        // the nose tip lands on the centre (7.5, 7.5); source x = u / s - 8, y = v / s + 2
        expect(f.landmarks[26]).to.be.closeTo(7.5, 1e-4);
        expect(f.landmarks[27]).to.be.closeTo(7.5, 1e-4);
        const px = (u: number, v: number) => [...f.image.subarray((v * 16 + u) * 3, (v * 16 + u) * 3 + 3)];
        expect(px(3, 8)).to.deep.equal([255, 0, 0]); // x = 15.2
        expect(px(12, 8)).to.deep.equal([0, 0, 255]); // x = 84.8
        expect(px(0, 8)).to.deep.equal([128, 128, 128]); // x = -8: outside, grey
      }
    } finally {
      await reader.close();
    }
    rmSync(join(copy, 'Landmark_Points', 'SN013', 'SN013_0001_lm.mat'));
    let err: unknown;
    await convertDataset('disfa', { root: copy, images: join(copy, 'frames'), out: join(copy, 'out2'), size: 16 }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/SN013_au1\.txt:2: landmarks: no landmark file for SN013 frame 2/);
    const skip = await convertDataset('disfa', { root: copy, images: join(copy, 'frames'), out: join(copy, 'out2'), size: 16, skipBad: true, overwrite: true });
    expect(skip.skipped).to.deep.equal({ 'no landmarks': 1 });
    const none = await convertDataset('disfa', { root: copy, images: join(copy, 'frames'), out: join(copy, 'out3'), size: 16, landmarks: 'none' });
    expect(none.manifest.meta.landmarks).to.equal(0);
    rmSync(copy, { recursive: true });
  });

  it('readMat5: plain and compressed doubles, column-major; v7.3 and non-MAT files are named', () => {
    for (const compress of [false, true]) {
      const m = readMat5(new Uint8Array(mat5('pts', 3, 2, [1, 2, 3, 4.5, 5, 6], compress)), 'a.mat').get('pts')!;
      expect(m.dims).to.deep.equal([3, 2]);
      expect([...m.data]).to.deep.equal([1, 2, 3, 4.5, 5, 6]);
    }
    const v73 = Buffer.alloc(512);
    v73.write('MATLAB 7.3 MAT-file, Platform: GLNXA64', 0, 'latin1');
    expect(() => readMat5(new Uint8Array(v73), 'b.mat')).to.throw(/b\.mat: a MATLAB v7\.3 \(HDF5\) file/);
    expect(() => readMat5(new Uint8Array(200), 'c.mat')).to.throw(/c\.mat: not a MATLAB 5 MAT-file/);
  });
});

describe('data-tools images', () => {
  it('centreSquare: keeps only the centre square [6x4 -> 4x4]', () => {
    const data = new Uint8Array(6 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) data.set(x === 0 || x === 5 ? [255, 0, 0] : [0, 255, 0], (y * 6 + x) * 3);
    const out = centreSquare({ width: 6, height: 4, data }, 4);
    for (let p = 0; p < 16; p++) expect([out[3 * p], out[3 * p + 1], out[3 * p + 2]]).to.deep.equal([0, 255, 0]);
  });

  it('centreSquare: box average when shrinking, bilinear when enlarging [4x4 -> 2x2, 2x1 -> 4x4]', () => {
    const data = new Uint8Array(4 * 4 * 3);
    for (let i = 0; i < 16; i++) data.fill(((i >> 2) + (i & 3)) % 2 ? 255 : 0, 3 * i, 3 * i + 3);
    expect([...centreSquare({ width: 4, height: 4, data }, 2)]).to.deep.equal(new Array(12).fill(128));
    // 2x2 source (0 and 200 columns) to 4x4: samples at 0.25-pixel offsets -> 0, 50, 150, 200 per row
    const two = new Uint8Array([0, 0, 0, 200, 200, 200, 0, 0, 0, 200, 200, 200]);
    const up = centreSquare({ width: 2, height: 2, data: two }, 4);
    expect([0, 1, 2, 3].map((x) => up[3 * x])).to.deep.equal([0, 50, 150, 200]);
  });

  it('decodeImage: PNG and JPEG by signature; anything else names the file', () => {
    const p = decodeImage(new Uint8Array(png(3, 2, [1, 2, 3])), 'a.jpg');
    expect([p.width, p.height, ...p.data.slice(0, 3)]).to.deep.equal([3, 2, 1, 2, 3]);
    const j = decodeImage(jpg(8, 8, [128, 128, 128]), 'b.png');
    expect([j.width, j.height]).to.deep.equal([8, 8]);
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4]), 'c.jpg')).to.throw(/c\.jpg: not a JPEG or PNG/);
  });
});
