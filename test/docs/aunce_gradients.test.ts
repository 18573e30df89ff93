// docs/aunce-gradients.md cannot go stale: every `aunce loss --explain` table on the page is re-run
// (in this process through runLoss + formatExplanation, exactly as the command's action does, and
// one table through the real command) and must match the page to the precision printed; the β and τ
// sweep tables are recomputed on the fused GPU op; every SVG the page shows exists and is valid SVG.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runLoss } from '../../src/cli/loss.js';
import { readLossInput } from '../../src/cli/loss_input.js';
import { formatExplanation } from '../../src/losses/explain.js';
import {
  BLOCKS,
  EXAMPLES,
  PAGE,
  ROOT,
  SVGS,
  exampleFile,
  getBlock,
  numbersOf,
  samePrinted,
  sweep,
  sweepTable,
} from '../../scripts/docs/aunce_gradients.js';
import { sharedDevice } from '../helpers.js';

const page = readFileSync(join(ROOT, PAGE), 'utf8');

/** Asserts that `fresh` prints the same text as `shown`, numbers within one unit of the last digit shown. */
function expectSamePrinted(shown: string, fresh: string, what: string): void {
  const a = numbersOf(shown);
  const b = numbersOf(fresh);
  expect(b.skeleton, `${what}: the text around the numbers`).to.equal(a.skeleton);
  expect(b.numbers.length, `${what}: how many numbers`).to.equal(a.numbers.length);
  const bad = a.numbers.flatMap((x, i) => (samePrinted(x, b.numbers[i]!) ? [] : [`#${i}: page ${x}, fresh run ${b.numbers[i]}`]));
  expect(bad, `${what}: numbers that changed (regenerate with npm run docs:aunce)`).to.deep.equal([]);
}

/** The command line a block shows and the output under it. */
function splitBlock(id: string): { args: string[]; output: string } {
  const lines = getBlock(page, id).split('\n');
  expect(lines[0], `${id}: code fence`).to.equal('```text');
  expect(lines[lines.length - 1], `${id}: closing fence`).to.equal('```');
  const cmd = lines[1]!;
  expect(cmd.startsWith('$ aunce '), `${id}: first line is the command`).to.equal(true);
  return { args: cmd.slice('$ aunce '.length).split(' '), output: lines.slice(2, -1).join('\n') };
}

/** The value of `--name` in a command line. */
const flag = (args: readonly string[], name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

describe('docs/aunce-gradients.md', function () {
  this.timeout(60000);
  /** the real command for explain-1, started first so that it runs while the in-process checks do */
  let command: Promise<{ stdout: string }>;
  before(() => {
    command = promisify(execFile)(process.execPath, [join(ROOT, 'bin/aunce.js'), ...splitBlock('explain-1').args], { cwd: ROOT, encoding: 'utf8' });
    command.catch(() => {});
  });

  it('aunce-gradients page: shows every explain block the generator knows, with its command', () => {
    for (const [id, args] of Object.entries(BLOCKS)) expect(splitBlock(id).args, id).to.deep.equal(args);
  });

  for (const id of Object.keys(BLOCKS)) {
    it(`aunce-gradients page: ${id} matches a fresh explain run to the printed precision`, async () => {
      const { args, output } = splitBlock(id);
      const input = readLossInput(join(ROOT, flag(args, '-i')!));
      const explain = { anchor: Number(flag(args, '--anchor') ?? 0), au: Number(flag(args, '--au') ?? 0) };
      const r = await runLoss(input, { device: await sharedDevice(), explain, note: () => {} });
      const top = flag(args, '--top');
      expectSamePrinted(output, formatExplanation(r.explanation!, top === undefined ? Infinity : Number(top)), id);
    });
  }


  for (const kind of ['beta', 'tau'] as const) {
    it(`aunce-gradients page: the ${kind} sweep table matches the fused GPU op`, async () => {
      const pts = await sweep(kind, await sharedDevice());
      expectSamePrinted(getBlock(page, `sweep-${kind}`), sweepTable(kind, pts), `sweep-${kind}`);
    });
  }

  it('aunce-gradients page: every SVG it shows exists and is a well-formed SVG document', () => {
    const refs = [...page.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    expect(refs, 'the page shows both plots').to.include.members(Object.values(SVGS).map((p) => p.replace(/^docs\//, '')));
    for (const ref of refs) {
      const file = join(ROOT, 'docs', ref);
      expect(existsSync(file), `${ref} exists`).to.equal(true);
      const svg = readFileSync(file, 'utf8');
      expect(svg, `${ref}: root element`).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* width="\d+" height="\d+"/);
      // tags balance: every element closes, in order
      const stack: string[] = [];
      for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)([^>]*?)(\/?)>/g)) {
        if (m[4]) continue;
        if (m[1]) expect(stack.pop(), `${ref}: </${m[2]}>`).to.equal(m[2]);
        else stack.push(m[2]!);
      }
      expect(stack, `${ref}: unclosed elements`).to.deep.equal([]);
      expect(svg, `${ref}: has plotted lines`).to.match(/<path[^>]*class="[^"]*"[^>]*d="M/);
    }
  });

  it('aunce-gradients page: every example batch is a valid `aunce loss` input', () => {
    for (const name of Object.keys(EXAMPLES)) {
      const input = readLossInput(join(ROOT, exampleFile(name)));
      expect([input.B, input.K, input.D], name).to.deep.equal([8, 1, 16]);
    }
  });

  it('aunce-gradients page: explain-1 matches the real `aunce loss` command', async () => {
    expectSamePrinted(splitBlock('explain-1').output, (await command).stdout.trimEnd(), 'explain-1 (command)');
  });

  it('aunce-gradients page: a changed digit or index is caught, a float32 rounding flip is not', () => {
    expect(samePrinted('0.1173', '0.1174')).to.equal(true);
    expect(samePrinted('0.1173', '0.1175')).to.equal(false);
    expect(samePrinted('2.857e-4', '2.858e-4')).to.equal(true);
    expect(samePrinted('2.857e-4', '2.867e-4')).to.equal(false);
    expect(samePrinted('8', '9'), 'sample indices compare exactly').to.equal(false);
    const shown = getBlock(page, 'explain-1');
    const stale = shown.replace(/perplexity of the negatives' weights: (\d+)\.(\d+)/, (_, i: string, d: string) => `perplexity of the negatives' weights: ${Number(i) + 1}.${d}`);
    expect(stale).to.not.equal(shown);
    expect(() => expectSamePrinted(shown, stale, 'tampered')).to.throw(/numbers that changed/);
  });
});
