// A command line that helps: `kodiak --help` says what each subcommand is for, bare `kodiak`
// is a mistake reported on stderr, a mistyped option names the one that was meant, `sgd --out`
// takes a folder or a bare name and says what it wrote, and help texts point at README sections
// that exist.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeParseError, nearestOption } from '../cli/args.js';
import { run, usage } from '../cli/run.js';
import { outputFiles } from '../cli/sgd.js';
import { REPO_ROOT } from './fixtures/modelMirror.js';
import { cli } from './helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-cli-help-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SUBCOMMANDS = ['dataset', 'train', 'clean', 'label', 'predict', 'model', 'sgd'];
const balanced = (s: string) => (s.match(/'/g) ?? []).length % 2 === 0 && (s.match(/"/g) ?? []).length % 2 === 0;

describe('kodiak --help', () => {
  it('lists each subcommand with a one-line description', async () => {
    const r = await cli(run, ['--help']);
    expect(r.code).toBe(0);
    for (const name of SUBCOMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S.{15,}$`, 'm'));
    expect(r.stderr).toBe('');
  });

  it('bare kodiak prints the usage on stderr and fails', async () => {
    const r = await cli(run, []);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(usage());
  });

  it('every subcommand answers --help on stdout', async () => {
    for (const name of SUBCOMMANDS) {
      const r = await cli(run, [name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(`^usage: kodiak ${name}`));
    }
  });

  it('help texts name only README sections that exist', async () => {
    const headings = new Set([...fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim()));
    const sources = [...fs.readdirSync(path.join(REPO_ROOT, 'cli')).map((f) => `cli/${f}`), ...fs.readdirSync(path.join(REPO_ROOT, 'commands')).map((f) => `commands/${f}`)];
    const named = sources.flatMap((f) => [...fs.readFileSync(path.join(REPO_ROOT, f), 'utf8').matchAll(/README "([^"]+)"/g)].map((m) => ({ f, section: m[1]! })));
    expect(named.map((n) => n.section)).toContain('Using an exported model');
    expect(named.filter((n) => !headings.has(n.section))).toEqual([]);
  });
});

describe('a mistyped option or command', () => {
  it('names the nearest known option, with balanced quotes', async () => {
    const r = await cli(run, ['train', 'shapes', '--epoch', '3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kodiak train: unknown option --epoch: did you mean --epochs\?$/m);
    expect(r.stderr.split('\n')[0]).toSatisfy(balanced);
    expect(r.stderr).toContain('usage: kodiak train');
  });

  it('suggests nothing when nothing is close', () => {
    expect(nearestOption('--zzz', ['epochs', 'lr', 'seed'])).toBeUndefined();
    expect(nearestOption('--x', ['lr'])).toBeUndefined();
    expect(nearestOption('--los-png', ['out', 'loss-png'])).toBe('loss-png');
  });

  it('says plainly what else is wrong with the options', async () => {
    const missing = await cli(run, ['sgd', '--out']);
    expect(missing.stderr).toMatch(/^kodiak sgd: --out needs a value$/m);
    const stray = await cli(run, ['sgd', 'extra', '--out', 'x']);
    expect(stray.stderr).toMatch(/^kodiak sgd: unexpected argument extra$/m);
    const err = Object.assign(new Error("Option '--json' does not take an argument"), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
    expect(describeParseError(err, ['json'])).toBe('--json takes no value');
  });

  it('an unknown command names the nearest one', async () => {
    const r = await cli(run, ['trian']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kodiak: unknown command trian: did you mean train\?$/m);
  });
});

describe('kodiak sgd --out', () => {
  it('a folder gets sgd.gif and loss.png, and the output says so', async () => {
    const folder = path.join(tmp, 'pictures');
    fs.mkdirSync(folder);
    const r = await cli(run, ['sgd', '--out', folder, '--steps', '10', '--points', '10']);
    expect(r.code).toBe(0);
    const gif = path.join(folder, 'sgd.gif');
    const png = path.join(folder, 'loss.png');
    expect(fs.readFileSync(gif).subarray(0, 6).toString()).toBe('GIF89a');
    expect(fs.readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(r.stdout).toContain(`wrote ${gif} (`);
    expect(r.stdout).toContain(`and ${png}`);
  });

  it('a bare name gets .gif added', async () => {
    const bare = path.join(tmp, 'descent');
    const r = await cli(run, ['sgd', '--out', bare, '--steps', '10', '--points', '10', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files).toMatchObject({ gif: `${bare}.gif`, lossPng: null });
    expect(fs.existsSync(`${bare}.gif`)).toBe(true);
    expect(fs.existsSync(bare)).toBe(false);
  });

  it('keeps a name that has an extension, and a folder ending in a slash is a folder', () => {
    expect(outputFiles('anim.gif', undefined, false)).toEqual({ gif: 'anim.gif' });
    expect(outputFiles('out/', 'curve.png', true)).toEqual({ gif: path.join('out', 'sgd.gif'), lossPng: 'curve.png' });
  });
});
