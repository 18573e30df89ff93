/**
 * Writes the two pictures of docs/synthetic.md (deterministic):
 *   docs/img/synth_aus.png   two subjects, neutral and then each AU alone at full intensity
 *   docs/img/synth_grid.png  frames of a `bp4d` profile run, each captioned with its active AUs
 * Run: npx tsx scripts/docs/synth_grid.ts [outDir=docs/img]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ALL_AUS, planSynth, renderFace, renderSynthFrame, type FrameLook } from '../../src/data/synth/index.js';

const TILE = 128;
const CAPTION = 26;

// 3x5 pixel glyphs, rows top to bottom, 3 bits each (MSB = left)
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  A: [2, 5, 7, 5, 5], U: [5, 5, 5, 5, 7], '-': [0, 0, 7, 0, 0], ' ': [0, 0, 0, 0, 0],
};

class Sheet {
  readonly png: PNG;
  constructor(readonly cols: number, readonly rows: number) {
    this.png = new PNG({ width: cols * TILE, height: rows * (TILE + CAPTION) });
    this.png.data.fill(255);
  }
  tile(c: number, r: number, rgb: Uint8Array, caption: string): void {
    const { data, width } = this.png;
    const x0 = c * TILE, y0 = r * (TILE + CAPTION);
    for (let y = 0; y < TILE; y++) {
      for (let x = 0; x < TILE; x++) {
        const s = (y * TILE + x) * 3, d = ((y0 + y) * width + x0 + x) * 4;
        data[d] = rgb[s]!;
        data[d + 1] = rgb[s + 1]!;
        data[d + 2] = rgb[s + 2]!;
        data[d + 3] = 255;
      }
    }
    // caption: 2x-scaled glyphs, 8 px per character, wrapped at spaces onto two lines
    const perLine = Math.floor((TILE - 4) / 8);
    const lines: string[] = [''];
    for (const word of caption.split(' ')) {
      const cur = lines[lines.length - 1]!;
      if (cur && cur.length + 1 + word.length > perLine) lines.push(word);
      else lines[lines.length - 1] = cur ? `${cur} ${word}` : word;
    }
    lines.slice(0, 2).forEach((line, li) => [...line].forEach((ch, k) => {
      const g = GLYPHS[ch] ?? GLYPHS[' ']!;
      for (let gy = 0; gy < 5; gy++) {
        for (let gx = 0; gx < 3; gx++) {
          if (!((g[gy]! >> (2 - gx)) & 1)) continue;
          for (let sy = 0; sy < 2; sy++) {
            for (let sx = 0; sx < 2; sx++) {
              const d = ((y0 + TILE + 2 + 12 * li + 2 * gy + sy) * width + x0 + 3 + 8 * k + 2 * gx + sx) * 4;
              data[d] = data[d + 1] = data[d + 2] = 0;
            }
          }
        }
      }
    }));
  }
  save(path: string): void {
    writeFileSync(path, PNG.sync.write(this.png, { colorType: 2, deflateLevel: 9 }));
  }
}

const out = process.argv[2] ?? 'docs/img';
mkdirSync(out, { recursive: true });

// 1. each AU alone, for the lightest and the darkest subject, frontal pose, studio light, no noise
const plan = planSynth({ profile: 'bp4d', subjects: 12, framesPerSubject: 40, seed: 7, size: TILE });
const studio: FrameLook = {
  pose: { roll: 0, yaw: 0, scale: 1, tx: 0, ty: 0 },
  bgTop: [0.75, 0.78, 0.8], bgBottom: [0.55, 0.58, 0.6],
  ambient: 1, light: 0.15, lightDir: [0.6, 0.8], blur: 0, noise: 0, gaze: [0, 0],
};
const aus = new Sheet(8, 4);
const byTone = plan.subjects.map((sub, i) => [sub.skin[0] + sub.skin[1] + sub.skin[2], i] as const).sort((a, b) => a[0] - b[0]);
[byTone[byTone.length - 1]![1], byTone[0]![1]].forEach((subject, row) => {
  [-1, ...ALL_AUS.map((_, a) => a)].forEach((a, k) => {
    const intensity = new Float32Array(ALL_AUS.length);
    if (a >= 0) intensity[a] = 1;
    const face = renderFace(plan.subjects[subject]!, plan.neutral[subject]!, intensity, studio, TILE, 1, 99);
    aus.tile(k % 8, 2 * row + Math.floor(k / 8), face.image, a < 0 ? '-' : `AU${ALL_AUS[a]}`);
  });
});
aus.save(join(out, 'synth_aus.png'));

// 2. frames of a bp4d-profile run with their labels (every 37th frame: many subjects and poses)
const grid = new Sheet(8, 3);
const labelled = plan.meta.aus;
for (let k = 0; k < 24; k++) {
  const f = renderSynthFrame(plan, (k * 37 + 5) % plan.labels.n);
  const on = labelled.filter((_, i) => f.labels[i]);
  grid.tile(k % 8, Math.floor(k / 8), f.image, on.length ? on.join(' ') : '-');
}
grid.save(join(out, 'synth_grid.png'));
console.log(`wrote ${join(out, 'synth_aus.png')} and ${join(out, 'synth_grid.png')}`);
