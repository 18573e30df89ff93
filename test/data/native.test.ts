import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeReader, NativeWriter, recordLayout, SHARD_HEADER_BYTES, type NativeFrame, type NativeMeta } from '../../src/data/native.js';
import { Rng } from '../../src/util/rng.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aunce-native-'));

const META: NativeMeta = {
  dataset: 'unit',
  aus: [1, 2, 4, 6, 12],
  imageSize: 7,
  landmarks: 3,
  subjects: ['S0', 'S1', 'S2', 'S3', 'S4', 'S5'],
  folds: [[0, 1], [2, 3], [4, 5]],
  framesPerShard: 4,
};

function frame(rng: Rng, i: number, meta = META): NativeFrame {
  const A = meta.aus.length;
  const mask = Uint8Array.from({ length: A }, () => (rng.next() < 0.8 ? 1 : 0));
  const labels = mask.map((m) => (m && rng.next() < 0.4 ? 1 : 0));
  const clean = labels.map((l, k) => (mask[k] ? (rng.next() < 0.1 ? 1 - l : l) : 0));
  return {
    subject: Math.floor(i / 3) % meta.subjects.length,
    sequence: i % 2,
    frame: 1000 + i,
    labels,
    mask,
    clean,
    landmarks: i % 5 === 4 ? new Float32Array(0) : Float32Array.from({ length: 2 * meta.landmarks }, () => rng.uniform(0, 7)),
    image: Uint8Array.from({ length: meta.imageSize * meta.imageSize * 3 }, () => rng.int(256)),
  };
}

async function writeSet(dir: string, n: number, meta = META): Promise<NativeFrame[]> {
  const rng = new Rng(7);
  const w = await NativeWriter.create(dir, meta);
  const frames: NativeFrame[] = [];
  for (let i = 0; i < n; i++) {
    const f = frame(rng, i, meta);
    frames.push(f);
    await w.write(f);
  }
  await w.close();
  return frames;
}

function expectSame(got: NativeFrame, exp: NativeFrame): void {
  expect(got.subject).to.equal(exp.subject);
  expect(got.sequence).to.equal(exp.sequence);
  expect(got.frame).to.equal(exp.frame);
  expect([...got.labels]).to.deep.equal([...exp.labels]);
  expect([...got.mask]).to.deep.equal([...exp.mask]);
  expect([...got.clean!]).to.deep.equal([...(exp.clean ?? exp.labels)]);
  expect([...got.landmarks]).to.deep.equal([...exp.landmarks]);
  expect(Buffer.from(got.image).equals(Buffer.from(exp.image))).to.equal(true);
}

describe('native format', () => {
  it('native round trip: every field of every frame comes back [18 frames, 5 shards]', async () => {
    const dir = tmp();
    const frames = await writeSet(dir, 18);
    const r = await NativeReader.open(dir);
    expect(r.length).to.equal(18);
    expect(r.manifest.shards.map((s) => s.frames)).to.deep.equal([4, 4, 4, 4, 2]);
    expect(r.manifest.recordBytes).to.equal(recordLayout(5, 3, 7).bytes);
    expect(r.manifest.recordBytes % 4).to.equal(0);
    for (let i = 0; i < 18; i++) expectSame(await r.get(i), frames[i]!);
    let k = 0;
    for await (const f of r.frames()) expectSame(f, frames[k++]!);
    expect(k).to.equal(18);
    await r.close();
  });

  it('native round trip: clean defaults to labels and landmarks may be absent (L = 0)', async () => {
    const dir = tmp();
    const meta: NativeMeta = { ...META, landmarks: 0, framesPerShard: undefined };
    const w = await NativeWriter.create(dir, meta);
    const f = frame(new Rng(1), 0, meta);
    delete f.clean;
    await w.write(f);
    const m = await w.close();
    expect(m.shards.length).to.equal(1);
    const r = await NativeReader.open(dir);
    const g = await r.get(0);
    expect([...g.clean!]).to.deep.equal([...f.labels]);
    expect(g.landmarks.length).to.equal(0);
    await r.close();
  });

  it('native random access: concurrent gets across more shards than stay open [30 shards of 1]', async () => {
    const dir = tmp();
    const frames = await writeSet(dir, 30, { ...META, framesPerShard: 1 });
    const r = await NativeReader.open(dir);
    expect(r.manifest.shards).to.have.length(30);
    const order = [...Array(30).keys()].map((i) => (i * 7) % 30);
    const got = await Promise.all([...order, ...order].map((i) => r.get(i)));
    got.forEach((g, k) => expectSame(g, frames[order[k % 30]!]!));
    await r.close();
  });

  it('native split: train/test of each fold are the subjects outside/inside the fold', async () => {
    const dir = tmp();
    const frames = await writeSet(dir, 18);
    const r = await NativeReader.open(dir);
    for (let f = 0; f < 3; f++) {
      const test = new Set(META.folds[f]);
      const expTest = frames.map((x, i) => [x, i] as const).filter(([x]) => test.has(x.subject)).map(([, i]) => i);
      const expTrain = frames.map((_, i) => i).filter((i) => !expTest.includes(i));
      expect(r.indices({ fold: f, split: 'test' })).to.deep.equal(expTest);
      expect(r.indices({ fold: f, split: 'train' })).to.deep.equal(expTrain);
      const streamed: number[] = [];
      for await (const x of r.frames({ fold: f, split: 'test' })) {
        expect(test.has(x.subject)).to.equal(true);
        streamed.push(x.frame - 1000);
      }
      expect(streamed).to.deep.equal(expTest);
    }
    expect(r.indices()).to.have.length(18);
    expect(() => r.indices({ fold: 3, split: 'test' })).to.throw(/fold 3 is out of range.*3 folds/);
    expect(() => r.indices({ fold: 0 })).to.throw(/fold and split go together/);
    await r.close();
  });

  it('native atomicity: no manifest until close, and a reader refuses the directory', async () => {
    const dir = tmp();
    const rng = new Rng(3);
    const w = await NativeWriter.create(dir, META);
    for (let i = 0; i < 9; i++) await w.write(frame(rng, i));
    const files = readdirSync(dir);
    expect(files).to.include('shard-00000.bin');
    expect(files).to.include('shard-00001.bin');
    expect(files).to.not.include('manifest.json');
    expect(files.some((f) => f.includes('.tmp'))).to.equal(false);
    let err: Error | null = null;
    await NativeReader.open(dir).catch((e: Error) => (err = e));
    expect(err!.message).to.match(/manifest\.json.*ENOENT/);
    await w.close();
    expect(existsSync(join(dir, 'manifest.json'))).to.equal(true);
    expect((await NativeReader.open(dir)).length).to.equal(9);
  });

  it('native create: refuses an existing dataset unless overwrite, which replaces it', async () => {
    const dir = tmp();
    await writeSet(dir, 9);
    let err: Error | null = null;
    await NativeWriter.create(dir, META).catch((e: Error) => (err = e));
    expect(err!.message).to.match(/already exists/);
    const w = await NativeWriter.create(dir, META, { overwrite: true });
    expect(existsSync(join(dir, 'manifest.json'))).to.equal(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('shard'))).to.deep.equal([]);
    await w.write(frame(new Rng(2), 0));
    await w.close();
    expect((await NativeReader.open(dir)).length).to.equal(1);
  });

  it('native corruption: a flipped byte is a sha256 error naming the shard file', async () => {
    const dir = tmp();
    await writeSet(dir, 9);
    const path = join(dir, 'shard-00001.bin');
    const bytes = readFileSync(path);
    bytes[SHARD_HEADER_BYTES + 40] = 0xff - bytes[SHARD_HEADER_BYTES + 40]!;
    writeFileSync(path, bytes);
    const r = await NativeReader.open(dir);
    await r.get(0); // shard 0 is fine
    let err: Error | null = null;
    await r.get(5).catch((e: Error) => (err = e));
    expect(err!.message).to.include('shard-00001.bin').and.match(/sha256.*corrupted/);
    const r2 = await NativeReader.open(dir);
    err = null;
    try {
      for await (const _ of r2.frames()) void _;
    } catch (e) {
      err = e as Error;
    }
    expect(err!.message).to.include('shard-00001.bin').and.match(/sha256/);
    const fast = await NativeReader.open(dir, { verify: false });
    expect((await fast.get(5)).frame).to.equal(1005); // same shard, no sha256 check without verify
    await fast.close();
  });

  it('native corruption: truncation, a bad magic and a bad header field name file and field', async () => {
    const dir = tmp();
    await writeSet(dir, 9);
    const path = join(dir, 'shard-00002.bin');
    const orig = readFileSync(path);
    const openErr = async () => {
      let err: Error | null = null;
      await NativeReader.open(dir).catch((e: Error) => (err = e));
      return err!.message;
    };
    writeFileSync(path, orig.subarray(0, orig.length - 10));
    expect(await openErr()).to.include('shard-00002.bin').and.match(/size is \d+ bytes, the manifest says/);
    const b = Buffer.from(orig);
    b[0] = 0x58;
    writeFileSync(path, b);
    expect(await openErr()).to.include('shard-00002.bin').and.match(/magic/);
    const c = Buffer.from(orig);
    c.writeUInt32LE(99, 20);
    writeFileSync(path, c);
    expect(await openErr()).to.include('shard-00002.bin').and.match(/imageSize is 99, expected 7/);
    rmSync(path);
    expect(await openErr()).to.include('shard-00002.bin').and.match(/ENOENT/);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.version = 7;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    expect(await openErr()).to.match(/manifest\.json: version is 7/);
  });

  it('native write: bad frames are errors naming the frame and the field', async () => {
    const w = await NativeWriter.create(tmp(), META);
    const f = frame(new Rng(5), 0);
    await w.write(f);
    const bad = async (g: NativeFrame) => {
      let err: Error | null = null;
      await w.write(g).catch((e: Error) => (err = e));
      return err!.message;
    };
    expect(await bad({ ...f, labels: new Uint8Array(4) })).to.match(/frame 1 .*labels has 4 entries, expected 5/);
    expect(await bad({ ...f, image: new Uint8Array(10) })).to.match(/image has 10 bytes, expected 7\*7\*3 = 147/);
    expect(await bad({ ...f, subject: 6 })).to.match(/subject 6 outside \[0, 6\)/);
    expect(await bad({ ...f, mask: new Uint8Array(5), labels: Uint8Array.of(1, 0, 0, 0, 0) })).to.match(/AU1 is masked as missing but its label is 1/);
    expect(await bad({ ...f, landmarks: new Float32Array(5) })).to.match(/landmarks has 5 numbers, expected 6 or 0/);
    let err: Error | null = null;
    await NativeWriter.create(tmp(), { ...META, folds: [[0, 1], [1]] }).catch((e: Error) => (err = e));
    expect(err!.message).to.match(/folds\[1\] repeats subject 1/);
  });
});
