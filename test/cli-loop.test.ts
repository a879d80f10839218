// The lesson's whole loop on the command line, as the README shows it: import a class-per-folder
// tree in which two pictures sit in the wrong folder, train, `clean --json` finds them, `label`
// moves one to the class it belongs to and trashes the other, retrain, and both `dataset show`
// and `train --json`'s before -> after see the change; `label --undo` brings the trashed one back.
// Generated pictures and a handful of epochs keep it quick.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as cleanMain } from '../cli/clean.js';
import { main as datasetMain } from '../cli/dataset.js';
import { main as labelMain } from '../cli/label.js';
import { main as trainMain } from '../cli/train.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { cli, cliTestEnv, writeImages } from './helpers/cli.js';

type Show = { classes: { name: string; train: number; valid: number; trashed: number }[]; models: { version: number }[] };
type Suspect = { id: string; source: string; label: string; suggested: string | null; kind: string };

let mirror: ModelMirror;
let env: ReturnType<typeof cliTestEnv>;
/** The two pictures of red circles put in the blue stripes folder. */
const misplaced: string[] = [];

async function json<T>(main: (argv: string[]) => Promise<number>, argv: string[]): Promise<T> {
  const r = await cli(main, [...argv, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const active = (s: Show, c: string) => {
  const row = s.classes.find((x) => x.name === c)!;
  return row.train + row.valid;
};
const trashed = (s: Show) => s.classes.reduce((n, c) => n + c.trashed, 0);

beforeAll(async () => {
  mirror = await startModelMirror();
  env = cliTestEnv('cli-loop', { MODEL_MIRROR_URL: mirror.url, EMBED_THREADS: '1', CLEAN_REPEATS: '1' });
  const tree = path.join(env.tmp, 'photos');
  const files = await writeImages(tree, 12, 21);
  for (const [file] of files.filter(([, c]) => c === 'red circles').slice(0, 2)) {
    const to = path.join(tree, 'blue stripes', `from-red-${path.basename(file)}`);
    fs.renameSync(file, to);
    misplaced.push(to);
  }
});

afterAll(async () => {
  await env?.restore();
  await mirror?.close();
});

describe('import, train, clean, label, retrain, undo', () => {
  it('runs the loop and every step shows its effect', async () => {
    const imported = await json<{ kept: number }>(datasetMain, ['import', 'shapes', path.join(env.tmp, 'photos')]);
    const before = await json<Show>(datasetMain, ['show', 'shapes']);
    expect(active(before, 'blue stripes')).toBe(active(before, 'red circles') + 4);

    const v1 = await json<{ modelVersion: number; nTrain: number; nValid: number; previous?: unknown }>(trainMain, ['shapes', '--epochs', '10', '--seed', '1']);
    expect(v1.modelVersion).toBe(1);
    expect(v1.previous).toBeUndefined();
    expect(v1.nTrain + v1.nValid).toBe(imported.kept);

    // The cleaner finds both misplaced pictures and suggests the class they came from.
    const clean = await json<{ reportId: string; suspects: Suspect[] }>(cleanMain, ['shapes', '--kind', 'labels']);
    const found = clean.suspects.filter((s) => s.label === 'blue stripes' && s.suggested === 'red circles');
    expect(found.map((s) => s.source).sort()).toEqual([...misplaced].sort());
    const [moved, dropped] = found as [Suspect, Suspect];

    const relabel = await json<{ outcome: string; from: string; to: string }[]>(labelMain, ['shapes', moved.id.slice(0, 12), '--to', 'red circles']);
    expect(relabel).toEqual([expect.objectContaining({ outcome: 'applied', from: 'blue stripes', to: 'red circles' })]);
    const trash = await json<{ outcome: string; to: string }[]>(labelMain, ['shapes', dropped.id, '--delete']);
    expect(trash).toEqual([expect.objectContaining({ outcome: 'applied', to: 'trash' })]);

    const v2 = await json<{ modelVersion: number; nTrain: number; nValid: number; accuracy: number; previous: { modelVersion: number; accuracy: number } }>(trainMain, ['shapes', '--epochs', '10', '--seed', '1']);
    expect(v2.modelVersion).toBe(2);
    // One picture fewer (in the trash), and before -> after on the same validation images.
    expect(v2.nTrain + v2.nValid).toBe(imported.kept - 1);
    expect(v2.previous).toEqual({ modelVersion: 1, accuracy: expect.any(Number) });
    expect(v2.previous.accuracy).toBeGreaterThan(0.5);

    const after = await json<Show>(datasetMain, ['show', 'shapes']);
    expect(active(after, 'red circles')).toBe(active(before, 'red circles') + 1);
    expect(active(after, 'blue stripes')).toBe(active(before, 'blue stripes') - 2);
    expect(trashed(after)).toBe(1);
    expect(after.models.map((m) => m.version)).toEqual([1, 2]);

    const undo = await json<{ outcome: string; to: string }[]>(labelMain, ['shapes', dropped.id.slice(0, 12), '--undo']);
    expect(undo).toEqual([expect.objectContaining({ outcome: 'undone', to: 'blue stripes' })]);
    const restored = await json<Show>(datasetMain, ['show', 'shapes']);
    expect(trashed(restored)).toBe(0);
    expect(active(restored, 'blue stripes')).toBe(active(before, 'blue stripes') - 1);
  }, 180_000);
});
