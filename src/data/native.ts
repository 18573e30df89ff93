/**
 * The native dataset format: `manifest.json` plus fixed-size little-endian binary shards of aligned
 * RGB images, AU labels with a missing-mask (and the clean labels before injected noise), landmarks
 * and subject/sequence/frame ids. Byte layout: docs/native-format.md.
 *
 * Shards are written to a temporary name and renamed when complete; the manifest is written last, the
 * same way, so an interrupted conversion never leaves a manifest that points at partial data. The
 * reader checks magic, version, sizes and (once per shard, when first touched) the sha256 from the
 * manifest; its errors name the file and the offending field or frame.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export const NATIVE_FORMAT = 'aunce-native';
export const NATIVE_VERSION = 1;
export const SHARD_MAGIC = 'AUNCSHRD';
export const SHARD_HEADER_BYTES = 32;
export const MANIFEST_FILE = 'manifest.json';
/** default shard size when meta.framesPerShard is not given */
const TARGET_SHARD_BYTES = 64 * 1024 * 1024;
const FLAG_LANDMARKS = 1;
/** most shard files a reader keeps open at once */
const MAX_OPEN_SHARDS = 8;

export interface NativeFrame {
  /** index into manifest.meta.subjects */
  subject: number;
  sequence: number;
  frame: number;
  /** [A] 0/1 */
  labels: Uint8Array;
  /** [A] 1 = labelled, 0 = missing (labels[i] is then 0) */
  mask: Uint8Array;
  /** [A] labels before injected noise (synthetic data); defaults to labels */
  clean?: Uint8Array;
  /** [2L] x, y pairs in image pixels, or empty */
  landmarks: Float32Array;
  /** [S*S*3] RGB, row-major */
  image: Uint8Array;
}

export interface NativeMeta {
  dataset: string;
  /** AU numbers, in label order */
  aus: number[];
  imageSize: number;
  /** L: 68, 49 or 0 */
  landmarks: number;
  subjects: string[];
  /** folds[f] = the TEST subjects (indices into subjects) of fold f; the others train */
  folds: number[][];
  framesPerShard?: number;
  extra?: Record<string, unknown>;
}

export interface NativeShard {
  file: string;
  frames: number;
  bytes: number;
  sha256: string;
  /** run-length subject ids of the shard's frames: [subject, count] pairs, in order */
  subjects: [number, number][];
}

export interface NativeManifest {
  format: typeof NATIVE_FORMAT;
  version: number;
  meta: NativeMeta;
  frames: number;
  recordBytes: number;
  shards: NativeShard[];
}

export interface SplitOptions {
  /** index into meta.folds (0-based) */
  fold?: number;
  /** 'test' = subjects in meta.folds[fold], 'train' = all other subjects */
  split?: 'train' | 'test';
}

/** Byte offsets inside one record (all sizes derive from A, L and S). */
export interface RecordLayout {
  labels: number;
  mask: number;
  clean: number;
  landmarks: number;
  image: number;
  bytes: number;
}

const align4 = (n: number) => (n + 3) & ~3;

export function recordLayout(aus: number, landmarks: number, imageSize: number): RecordLayout {
  const labels = 16;
  const mask = labels + aus;
  const clean = mask + aus;
  const lm = align4(clean + aus);
  const image = lm + 8 * landmarks;
  return { labels, mask, clean, landmarks: lm, image, bytes: align4(image + imageSize * imageSize * 3) };
}

const shardName = (i: number) => `shard-${String(i).padStart(5, '0')}.bin`;

function checkMeta(meta: NativeMeta): void {
  const bad = (field: string, why: string) => {
    throw new RangeError(`native: meta.${field} ${why}`);
  };
  if (typeof meta.dataset !== 'string' || meta.dataset === '') bad('dataset', 'must be a non-empty string');
  if (!Array.isArray(meta.aus) || meta.aus.length === 0 || !meta.aus.every((a) => Number.isInteger(a) && a > 0)) {
    bad('aus', `must be a non-empty list of positive AU numbers, got ${JSON.stringify(meta.aus)}`);
  }
  if (!Number.isInteger(meta.imageSize) || meta.imageSize < 1 || meta.imageSize > 4096) bad('imageSize', `must be an integer in [1, 4096], got ${meta.imageSize}`);
  if (!Number.isInteger(meta.landmarks) || meta.landmarks < 0) bad('landmarks', `must be a count >= 0, got ${meta.landmarks}`);
  if (!Array.isArray(meta.subjects) || meta.subjects.length === 0) bad('subjects', 'must list at least one subject');
  if (!Array.isArray(meta.folds)) bad('folds', 'must be a list of subject-index lists');
  const seen = new Map<number, number>();
  meta.folds.forEach((fold, f) => {
    for (const s of fold) {
      if (!Number.isInteger(s) || s < 0 || s >= meta.subjects.length) bad(`folds[${f}]`, `has subject index ${s}, outside [0, ${meta.subjects.length})`);
      if (seen.has(s)) bad(`folds[${f}]`, `repeats subject ${s} (${meta.subjects[s]}) already in folds[${seen.get(s)}]: folds must be subject-exclusive`);
      seen.set(s, f);
    }
  });
  if (meta.framesPerShard !== undefined && (!Number.isInteger(meta.framesPerShard) || meta.framesPerShard < 1)) {
    bad('framesPerShard', `must be a positive integer, got ${meta.framesPerShard}`);
  }
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export class NativeWriter {
  private readonly layout: RecordLayout;
  private readonly perShard: number;
  private pending: Uint8Array;
  private pendingFrames = 0;
  private pendingSubjects: [number, number][] = [];
  private readonly shards: NativeShard[] = [];
  private total = 0;
  private closed = false;

  private constructor(readonly dir: string, readonly meta: NativeMeta) {
    this.layout = recordLayout(meta.aus.length, meta.landmarks, meta.imageSize);
    this.perShard = meta.framesPerShard ?? Math.max(1, Math.floor(TARGET_SHARD_BYTES / this.layout.bytes));
    this.pending = new Uint8Array(SHARD_HEADER_BYTES + this.perShard * this.layout.bytes);
  }

  /**
   * Starts a dataset in `dir` (created if needed). A directory that already holds a dataset is
   * refused unless `overwrite`; then its manifest goes first, so the old data is never half-valid.
   */
  static async create(dir: string, meta: NativeMeta, opts: { overwrite?: boolean } = {}): Promise<NativeWriter> {
    checkMeta(meta);
    await mkdir(dir, { recursive: true });
    const manifestPath = join(dir, MANIFEST_FILE);
    const exists = await stat(manifestPath).then(() => true, () => false);
    if (exists && !opts.overwrite) throw new Error(`native: ${manifestPath} already exists (pass overwrite to replace the dataset)`);
    if (exists) await rm(manifestPath);
    for (const f of await readdir(dir)) if (/^shard-\d+\.bin(\.tmp-\d+)?$/.test(f)) await rm(join(dir, f));
    return new NativeWriter(dir, structuredClone(meta));
  }

  /** Appends one frame (validated against the meta; errors name the frame number). */
  async write(f: NativeFrame): Promise<void> {
    if (this.closed) throw new Error('native: write after close');
    this.encode(f, this.total);
    this.total++;
    if (this.pendingFrames === this.perShard) await this.flush();
  }

  /** Writes the last shard and then the manifest; returns the manifest. */
  async close(): Promise<NativeManifest> {
    if (this.closed) throw new Error('native: close called twice');
    this.closed = true;
    if (this.pendingFrames > 0) await this.flush();
    const manifest: NativeManifest = {
      format: NATIVE_FORMAT,
      version: NATIVE_VERSION,
      meta: this.meta,
      frames: this.total,
      recordBytes: this.layout.bytes,
      shards: this.shards,
    };
    await writeAtomic(join(this.dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
    return manifest;
  }

  private encode(f: NativeFrame, index: number): void {
    const { aus, landmarks: L, imageSize: S, subjects } = this.meta;
    const A = aus.length;
    const bad = (why: string): never => {
      throw new RangeError(`native: frame ${index} (subject ${f.subject}, sequence ${f.sequence}, frame ${f.frame}): ${why}`);
    };
    if (!Number.isInteger(f.subject) || f.subject < 0 || f.subject >= subjects.length) bad(`subject ${f.subject} outside [0, ${subjects.length})`);
    if (!Number.isInteger(f.sequence) || f.sequence < 0 || f.sequence > 0xffffffff) bad(`sequence must be a u32`);
    if (!Number.isInteger(f.frame) || f.frame < -0x80000000 || f.frame > 0x7fffffff) bad(`frame number must be an i32`);
    if (f.labels.length !== A) bad(`labels has ${f.labels.length} entries, expected ${A}`);
    if (f.mask.length !== A) bad(`mask has ${f.mask.length} entries, expected ${A}`);
    if (f.clean && f.clean.length !== A) bad(`clean has ${f.clean.length} entries, expected ${A}`);
    for (let i = 0; i < A; i++) {
      if (f.labels[i]! > 1 || f.mask[i]! > 1 || (f.clean && f.clean[i]! > 1)) bad(`labels, mask and clean must be 0/1 (AU${aus[i]})`);
      if (!f.mask[i] && (f.labels[i] || (f.clean && f.clean[i]))) bad(`AU${aus[i]} is masked as missing but its label is 1`);
    }
    if (f.landmarks.length !== 2 * L && f.landmarks.length !== 0) bad(`landmarks has ${f.landmarks.length} numbers, expected ${2 * L} or 0`);
    if (f.image.length !== S * S * 3) bad(`image has ${f.image.length} bytes, expected ${S}*${S}*3 = ${S * S * 3}`);

    const lay = this.layout;
    const base = SHARD_HEADER_BYTES + this.pendingFrames * lay.bytes;
    const rec = this.pending.subarray(base, base + lay.bytes);
    rec.fill(0);
    const dv = new DataView(rec.buffer, rec.byteOffset, lay.bytes);
    dv.setUint32(0, f.subject, true);
    dv.setUint32(4, f.sequence, true);
    dv.setInt32(8, f.frame, true);
    const hasLm = f.landmarks.length > 0 && L > 0;
    dv.setUint32(12, hasLm ? FLAG_LANDMARKS : 0, true);
    rec.set(f.labels, lay.labels);
    rec.set(f.mask, lay.mask);
    rec.set(f.clean ?? f.labels, lay.clean);
    if (hasLm) for (let i = 0; i < 2 * L; i++) dv.setFloat32(lay.landmarks + 4 * i, f.landmarks[i]!, true);
    rec.set(f.image, lay.image);

    const last = this.pendingSubjects[this.pendingSubjects.length - 1];
    if (last && last[0] === f.subject) last[1]++;
    else this.pendingSubjects.push([f.subject, 1]);
    this.pendingFrames++;
  }

  private async flush(): Promise<void> {
    const n = this.pendingFrames;
    const bytes = SHARD_HEADER_BYTES + n * this.layout.bytes;
    const data = this.pending.subarray(0, bytes);
    const dv = new DataView(data.buffer, data.byteOffset, SHARD_HEADER_BYTES);
    for (let i = 0; i < 8; i++) data[i] = SHARD_MAGIC.charCodeAt(i);
    dv.setUint32(8, NATIVE_VERSION, true);
    dv.setUint32(12, this.meta.aus.length, true);
    dv.setUint32(16, this.meta.landmarks, true);
    dv.setUint32(20, this.meta.imageSize, true);
    dv.setUint32(24, n, true);
    dv.setUint32(28, this.layout.bytes, true);
    const file = shardName(this.shards.length);
    await writeAtomic(join(this.dir, file), data);
    const sha256 = createHash('sha256').update(data).digest('hex');
    this.shards.push({ file, frames: n, bytes, sha256, subjects: this.pendingSubjects });
    this.pendingFrames = 0;
    this.pendingSubjects = [];
  }
}

/** Subject indices that belong to a fold's train or test split (all subjects with no options). */
export function splitSubjects(meta: NativeMeta, opts: SplitOptions = {}): Set<number> {
  const all = meta.subjects.map((_, i) => i);
  if (opts.fold === undefined && opts.split === undefined) return new Set(all);
  if (opts.fold === undefined || opts.split === undefined) throw new RangeError('native: fold and split go together (got only one of them)');
  if (!Number.isInteger(opts.fold) || opts.fold < 0 || opts.fold >= meta.folds.length) {
    throw new RangeError(`native: fold ${opts.fold} is out of range; ${meta.dataset} has ${meta.folds.length} folds (0-based)`);
  }
  if (opts.split !== 'train' && opts.split !== 'test') throw new RangeError(`native: split must be 'train' or 'test', got '${opts.split}'`);
  const test = new Set(meta.folds[opts.fold]);
  return opts.split === 'test' ? test : new Set(all.filter((s) => !test.has(s)));
}

export class NativeReader {
  readonly length: number;
  private readonly layout: RecordLayout;
  private readonly starts: number[] = [];
  private readonly subjectOf: Int32Array;
  /** open shard files, least recently used first */
  private readonly handles = new Map<number, { fh: FileHandle; users: number }>();
  private readonly verified = new Set<number>();
  private cache: { shard: number; data: Uint8Array } | null = null;

  private constructor(readonly dir: string, readonly manifest: NativeManifest) {
    const { meta } = manifest;
    this.layout = recordLayout(meta.aus.length, meta.landmarks, meta.imageSize);
    this.length = manifest.frames;
    this.subjectOf = new Int32Array(manifest.frames);
    let at = 0;
    for (const s of manifest.shards) {
      this.starts.push(at);
      for (const [subject, count] of s.subjects) this.subjectOf.fill(subject, at, (at += count));
    }
  }

  /**
   * Opens a dataset: checks the manifest and each shard's header and size, and (unless
   * `verify: false`) each shard's sha256 the first time the shard is read.
   */
  static async open(dir: string, opts: { verify?: boolean } = {}): Promise<NativeReader> {
    const path = join(dir, MANIFEST_FILE);
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new Error(`native: cannot read ${path} (${e.code ?? e.message}); is ${dir} a converted dataset?`);
    });
    let m: NativeManifest;
    try {
      m = JSON.parse(text) as NativeManifest;
    } catch (e) {
      throw new Error(`native: ${path} is not valid JSON (${(e as Error).message})`);
    }
    const bad = (field: string, why: string): never => {
      throw new Error(`native: ${path}: ${field} ${why}`);
    };
    if (m.format !== NATIVE_FORMAT) bad('format', `is '${m.format}', expected '${NATIVE_FORMAT}'`);
    if (m.version !== NATIVE_VERSION) bad('version', `is ${m.version}, this reader knows version ${NATIVE_VERSION}`);
    try {
      checkMeta(m.meta);
    } catch (e) {
      bad('meta', `is invalid: ${(e as Error).message}`);
    }
    const lay = recordLayout(m.meta.aus.length, m.meta.landmarks, m.meta.imageSize);
    if (m.recordBytes !== lay.bytes) bad('recordBytes', `is ${m.recordBytes}, the meta implies ${lay.bytes}`);
    if (!Array.isArray(m.shards)) bad('shards', 'is missing');
    let total = 0;
    m.shards.forEach((s, i) => {
      const runs = Array.isArray(s.subjects) ? s.subjects.reduce((a, [subj, c]) => {
        if (!Number.isInteger(subj) || subj < 0 || subj >= m.meta.subjects.length) bad(`shards[${i}].subjects`, `has subject ${subj} out of range`);
        return a + c;
      }, 0) : -1;
      if (runs !== s.frames) bad(`shards[${i}].subjects`, `covers ${runs} frames, the shard has ${s.frames}`);
      if (s.bytes !== SHARD_HEADER_BYTES + s.frames * lay.bytes) bad(`shards[${i}].bytes`, `is ${s.bytes}, expected ${SHARD_HEADER_BYTES + s.frames * lay.bytes}`);
      total += s.frames;
    });
    if (total !== m.frames) bad('frames', `is ${m.frames}, the shards hold ${total}`);
    const reader = new NativeReader(dir, m);
    for (let i = 0; i < m.shards.length; i++) {
      await reader.checkHeader(i);
      if (opts.verify === false) reader.verified.add(i);
    }
    return reader;
  }

  /** Frame indices of a fold's split, in order (all frames with no options). */
  indices(opts: SplitOptions = {}): number[] {
    const keep = splitSubjects(this.manifest.meta, opts);
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) if (keep.has(this.subjectOf[i]!)) out.push(i);
    return out;
  }

  /** Subject index of frame i without reading the shard. */
  subjectOfFrame(i: number): number {
    this.checkIndex(i);
    return this.subjectOf[i]!;
  }

  async get(i: number): Promise<NativeFrame> {
    this.checkIndex(i);
    const shard = this.shardOf(i);
    const local = i - this.starts[shard]!;
    const lay = this.layout;
    const off = SHARD_HEADER_BYTES + local * lay.bytes;
    if (this.cache?.shard === shard) return this.decode(this.cache.data.subarray(off, off + lay.bytes), i, shard);
    await this.verify(shard);
    const rec = new Uint8Array(lay.bytes);
    const { bytesRead } = await this.withHandle(shard, (fh) => fh.read(rec, 0, lay.bytes, off));
    if (bytesRead !== lay.bytes) throw new Error(`native: ${this.shardPath(shard)}: frame ${i} is truncated (read ${bytesRead} of ${lay.bytes} bytes)`);
    return this.decode(rec, i, shard);
  }

  /** Frames of a split in order; whole shards are read (and verified) at once. */
  async *frames(opts: SplitOptions = {}): AsyncIterable<NativeFrame> {
    const keep = splitSubjects(this.manifest.meta, opts);
    const lay = this.layout;
    for (let s = 0; s < this.manifest.shards.length; s++) {
      const info = this.manifest.shards[s]!;
      if (!info.subjects.some(([subj]) => keep.has(subj))) continue;
      const data = await this.loadShard(s);
      for (let k = 0; k < info.frames; k++) {
        const i = this.starts[s]! + k;
        if (!keep.has(this.subjectOf[i]!)) continue;
        const off = SHARD_HEADER_BYTES + k * lay.bytes;
        yield this.decode(data.subarray(off, off + lay.bytes), i, s);
      }
    }
  }

  async close(): Promise<void> {
    const held = [...this.handles.values()];
    this.handles.clear();
    for (const h of held) await h.fh.close();
    this.cache = null;
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`native: frame index ${i} is out of range [0, ${this.length}) in ${this.dir}`);
  }

  private shardOf(i: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private shardPath(s: number): string {
    return join(this.dir, this.manifest.shards[s]!.file);
  }

  /**
   * Runs fn with an open handle on shard s. At most MAX_OPEN_SHARDS handles stay open (least recently
   * used ones close first, never while in use), so datasets with thousands of shards stay under the
   * file-descriptor limit.
   */
  private async withHandle<T>(s: number, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    // a handle counts its user before any await, so that eviction never closes it under a read
    let h = this.handles.get(s);
    if (h) h.users++;
    else {
      const fh = await open(this.shardPath(s), 'r').catch((e: NodeJS.ErrnoException) => {
        throw new Error(`native: cannot open ${this.shardPath(s)} (${e.code ?? e.message})`);
      });
      h = this.handles.get(s);
      if (h) {
        h.users++;
        await fh.close();
      } else h = { fh, users: 1 };
    }
    this.handles.delete(s);
    this.handles.set(s, h);
    try {
      return await fn(h.fh);
    } finally {
      h.users--;
      for (const [k, v] of this.handles) {
        if (this.handles.size <= MAX_OPEN_SHARDS) break;
        if (v.users > 0) continue;
        this.handles.delete(k);
        await v.fh.close();
      }
    }
  }

  private async checkHeader(s: number): Promise<void> {
    const path = this.shardPath(s);
    const info = this.manifest.shards[s]!;
    await this.withHandle(s, async (fh) => {
      const size = (await fh.stat()).size;
      if (size !== info.bytes) throw new Error(`native: ${path}: size is ${size} bytes, the manifest says ${info.bytes} (truncated or replaced shard)`);
      const head = new Uint8Array(SHARD_HEADER_BYTES);
      await fh.read(head, 0, SHARD_HEADER_BYTES, 0);
      this.checkHeaderBytes(head, s);
    });
  }

  private checkHeaderBytes(head: Uint8Array, s: number): void {
    const path = this.shardPath(s);
    const { meta } = this.manifest;
    const magic = String.fromCharCode(...head.subarray(0, 8));
    if (magic !== SHARD_MAGIC) throw new Error(`native: ${path}: magic is ${JSON.stringify(magic)}, expected '${SHARD_MAGIC}'`);
    const dv = new DataView(head.buffer, head.byteOffset, SHARD_HEADER_BYTES);
    const want: [string, number, number][] = [
      ['version', dv.getUint32(8, true), NATIVE_VERSION],
      ['aus', dv.getUint32(12, true), meta.aus.length],
      ['landmarks', dv.getUint32(16, true), meta.landmarks],
      ['imageSize', dv.getUint32(20, true), meta.imageSize],
      ['frames', dv.getUint32(24, true), this.manifest.shards[s]!.frames],
      ['recordBytes', dv.getUint32(28, true), this.layout.bytes],
    ];
    for (const [field, got, exp] of want) if (got !== exp) throw new Error(`native: ${path}: header field ${field} is ${got}, expected ${exp}`);
  }

  private async verify(s: number): Promise<void> {
    if (this.verified.has(s)) return;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(this.shardPath(s))) hash.update(chunk as Buffer);
    this.checkSha(hash.digest('hex'), s);
  }

  private checkSha(got: string, s: number): void {
    const exp = this.manifest.shards[s]!.sha256;
    if (got !== exp) throw new Error(`native: ${this.shardPath(s)}: sha256 is ${got}, the manifest says ${exp} (corrupted shard)`);
    this.verified.add(s);
  }

  private async loadShard(s: number): Promise<Uint8Array> {
    if (this.cache?.shard === s) return this.cache.data;
    const path = this.shardPath(s);
    const data = new Uint8Array(await readFile(path));
    if (data.length !== this.manifest.shards[s]!.bytes) throw new Error(`native: ${path}: size is ${data.length} bytes, the manifest says ${this.manifest.shards[s]!.bytes}`);
    this.checkHeaderBytes(data.subarray(0, SHARD_HEADER_BYTES), s);
    if (!this.verified.has(s)) this.checkSha(createHash('sha256').update(data).digest('hex'), s);
    this.cache = { shard: s, data };
    return data;
  }

  private decode(rec: Uint8Array, i: number, s: number): NativeFrame {
    const { aus, landmarks: L, imageSize: S } = this.manifest.meta;
    const A = aus.length;
    const lay = this.layout;
    const dv = new DataView(rec.buffer, rec.byteOffset, lay.bytes);
    const subject = dv.getUint32(0, true);
    if (subject !== this.subjectOf[i]) {
      throw new Error(`native: ${this.shardPath(s)}: frame ${i} has subject ${subject}, the manifest says ${this.subjectOf[i]}`);
    }
    const flags = dv.getUint32(12, true);
    const landmarks = new Float32Array(flags & FLAG_LANDMARKS ? 2 * L : 0);
    for (let k = 0; k < landmarks.length; k++) landmarks[k] = dv.getFloat32(lay.landmarks + 4 * k, true);
    return {
      subject,
      sequence: dv.getUint32(4, true),
      frame: dv.getInt32(8, true),
      labels: rec.slice(lay.labels, lay.labels + A),
      mask: rec.slice(lay.mask, lay.mask + A),
      clean: rec.slice(lay.clean, lay.clean + A),
      landmarks,
      image: rec.slice(lay.image, lay.image + S * S * 3),
    };
  }
}
