// `kodiak label` decides through the cleaner's own DecisionLog: ids and unique prefixes of them,
// relabel / delete / keep / undo, one decision per image per report (a second one is told who
// made the first), the same audit log as the buttons, and a suspect of the latest report decided
// from the command line shows as decided to Discord's buttons too.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentDecisions } from '../bot/clean/decisions.js';
import { main as datasetMain } from '../cli/dataset.js';
import { main as labelMain } from '../cli/label.js';
import { openCliContext, type CliContext } from '../cli/context.js';
import { resolveImageIds } from '../core/clean/label.js';
import type { StoredCleanReport } from '../core/clean/runClean.js';
import type { DatasetItem } from '../core/store/types.js';
import { cli, cliTestEnv, writeImages } from './helpers/cli.js';

const env = cliTestEnv('cli-label');
const ref = { guildId: 'local', name: 'shapes' };
let ctx: CliContext;
let items: DatasetItem[];

const show = async () => JSON.parse((await cli(datasetMain, ['show', 'shapes', '--json'])).stdout) as { classes: { name: string; train: number; valid: number; trashed: number }[] };
const count = (s: Awaited<ReturnType<typeof show>>, c: string) => {
  const row = s.classes.find((x) => x.name === c)!;
  return { active: row.train + row.valid, trashed: row.trashed };
};
const label = async (args: string[]) => {
  const r = await cli(labelMain, ['shapes', ...args, '--json']);
  return { code: r.code, outcomes: JSON.parse(r.stdout) as { id: string; outcome: string; from?: string; to?: string; message?: string }[] };
};

beforeAll(async () => {
  await writeImages(path.join(env.tmp, 'tree'), 3, 11);
  expect((await cli(datasetMain, ['import', 'shapes', path.join(env.tmp, 'tree')])).code).toBe(0);
  ctx = await openCliContext();
  items = await ctx.datasets.items(ref, { orderBy: 'id' });
}, 30_000);

afterAll(async () => {
  await ctx?.close();
  await env.restore();
});

describe('image ids', () => {
  const ids = [{ id: 'abc123' }, { id: 'abd456' }, { id: 'ffe789' }];
  it('takes whole ids and prefixes no other id shares', () => {
    expect(resolveImageIds(ids, ['ABC', 'ffe789', 'abc1'])).toEqual([ids[0], ids[2]]);
  });
  it('names every id that matches nothing or too much, at once', () => {
    expect(() => resolveImageIds(ids, ['ab', 'zz'])).toThrow('"ab" is the start of 2 image ids: give more of it; no image id starts with "zz"');
  });
});

describe('kodiak label', () => {
  it('relabels an image given by a prefix of its id, and the audit log says who', async () => {
    const img = items.find((i) => i.label === 'red circles')!;
    const before = await show();
    const r = await label([img.id.slice(0, 10), '--to', 'Blue Stripes']);
    expect(r.code).toBe(0);
    expect(r.outcomes).toEqual([expect.objectContaining({ id: img.id, outcome: 'applied', from: 'red circles', to: 'blue stripes' })]);
    const after = await show();
    expect(count(after, 'red circles').active).toBe(count(before, 'red circles').active - 1);
    expect(count(after, 'blue stripes').active).toBe(count(before, 'blue stripes').active + 1);
    const [entry] = await ctx.decisions.auditLog(ref, 1);
    expect(entry).toMatchObject({ event: 'decide', itemId: img.id, action: 'relabel', from: 'red circles', to: 'blue stripes', userName: expect.stringMatching(/\(command line\)$/) });
  });

  it('a second decision on the same image is refused and says who made the first', async () => {
    const img = items.find((i) => i.label === 'red circles')!;
    const r = await label([img.id, '--delete']);
    expect(r.code).toBe(1);
    expect(r.outcomes[0]).toMatchObject({ outcome: 'already-decided', message: expect.stringMatching(/^already relabelled "red circles" -> "blue stripes" by .+ \(command line\) on \d{4}-.*; --undo it first$/) });
    expect((await ctx.datasets.getItem(ref, img.id))!.label).toBe('blue stripes');
  });

  it('--undo puts the label back, and the audit log records the undo', async () => {
    const img = items.find((i) => i.label === 'red circles')!;
    const r = await label([img.id, '--undo']);
    expect(r.outcomes[0]).toMatchObject({ outcome: 'undone', from: 'blue stripes', to: 'red circles' });
    expect((await ctx.datasets.getItem(ref, img.id))!.label).toBe('red circles');
    expect((await ctx.decisions.auditLog(ref, 1))[0]).toMatchObject({ event: 'undo', itemId: img.id, from: 'blue stripes', to: 'red circles' });
    expect((await label([img.id, '--undo'])).outcomes[0]).toMatchObject({ outcome: 'nothing', message: 'no decision on this image to undo' });
  });

  it('--delete moves images to the trash and --undo brings them back', async () => {
    const greens = items.filter((i) => i.label === 'green squares').slice(0, 2);
    const r = await label([...greens.map((g) => g.id), '--delete']);
    expect(r.outcomes.map((o) => [o.outcome, o.to])).toEqual([['applied', 'trash'], ['applied', 'trash']]);
    expect(count(await show(), 'green squares')).toEqual({ active: 1, trashed: 2 });
    await label([...greens.map((g) => g.id), '--undo']);
    expect(count(await show(), 'green squares')).toEqual({ active: 3, trashed: 0 });
  });

  it('a suspect of the latest report decided here shows as decided to the buttons', async () => {
    const img = items.find((i) => i.label === 'blue stripes')!;
    const report: StoredCleanReport = {
      id: randomUUID(),
      dataset: ref,
      createdAt: Date.now(),
      kind: 'labels',
      classes: ['red circles', 'blue stripes', 'green squares'],
      suspects: [{ id: img.id, source: 'x.jpg', label: 'blue stripes', suggested: 'red circles', score: 0.9, kind: 'label', reason: 'test' }],
      summary: { nItems: 9, counts: { label: 1, leak: 0, duplicate: 0, outlier: 0, quality: 0 }, noiseRate: {}, skippedKept: 0, notes: [] },
    };
    await ctx.decisions.saveReport(report);
    const r = await cli(labelMain, ['shapes', img.id.slice(0, 8), '--keep']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${img.id.slice(0, 12)}  kept as "blue stripes"`);
    const [decision] = await currentDecisions(ctx, report, 0);
    expect(decision).toMatchObject({ reportId: report.id, suspectId: '0', action: { type: 'keep' }, state: 'applied' });
    expect((await ctx.decisions.keptLabels(ref)).get(img.id)).toBe('blue stripes');
  });

  it('asks for exactly one action, and a class the dataset has', async () => {
    await expect(cli(labelMain, ['shapes', items[0]!.id, '--keep', '--delete'])).rejects.toThrow('exactly one of --to <class>, --delete, --keep or --undo');
    await expect(cli(labelMain, ['shapes', items[0]!.id, '--to', 'triangles'])).rejects.toThrow('"triangles" is not a class of shapes');
    await expect(cli(labelMain, ['shapes', 'zzzz', '--keep'])).rejects.toThrow('no image id starts with "zzzz"');
  });
});
