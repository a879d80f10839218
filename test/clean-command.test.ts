// The cleaner's Discord side without Discord: suspect messages (buttons, class menu, legend,
// decided state), reactions to actions, who may decide, suspect decisions over a real Redis
// store (pairs, undo, already decided, stale), /clean's progress rendering and the CLI's JSON.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { PermissionFlagsBits, PermissionsBitField } from 'discord.js';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionLog } from '../core/clean/decisions.js';
import type { StoredCleanReport } from '../core/clean/runClean.js';
import type { Suspect } from '../core/clean/types.js';
import { loadConfig } from '../core/config.js';
import { sha256Hex } from '../core/store/blobs.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import type { DatasetRef } from '../core/store/types.js';
import { currentDecisions, decideSuspect, mayDecide, rememberMessage, suspectOfMessage, undoSuspect } from '../bot/clean/decisions.js';
import { reactionAction } from '../bot/clean/handlers.js';
import { actionRows, CLEAN_COMMAND_JOB, renderCleanProgress, suspectBody, suspectText, summaryMessage } from '../bot/clean/views.js';
import { reportJson } from '../cli/clean.js';
import { reportIdFor } from '../workers/clean.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const store = new RedisDatasetStore(redis, prefix, { seed: 42, validPct: 0.2 });
const decisions = new DecisionLog(redis, store, prefix);
const ctx = { redis, decisions, config: loadConfig({ QUEUE_PREFIX: prefix }) };
const ref: DatasetRef = { guildId: 'g1', name: 'bears' };
const alice = { userId: '111', name: 'alice' };
const bob = { userId: '222', name: 'bob' };
const CLASSES = ['grizzly', 'black', 'teddy'];
const ids: string[] = [];

function suspect(i: number, extra: Partial<Suspect> = {}): Suspect {
  return { id: ids[i]!, source: `http://x/${i}.jpg`, label: 'grizzly', score: 0.9, kind: 'label', reason: 'because', ...extra };
}

let reportCount = 0;
/** Suspects: 0 a label issue, 1 a duplicate pair (items 1 and 2), 2 an outlier. */
function makeReport(classes = CLASSES): StoredCleanReport {
  return {
    id: `r${++reportCount}`,
    dataset: ref,
    createdAt: Date.now(),
    kind: 'all',
    classes,
    suspects: [
      suspect(0, { suggested: 'black', probs: { grizzly: 0.05, black: 0.87, teddy: 0.08 } }),
      suspect(1, { kind: 'duplicate', score: 0.99, reason: 'near-duplicate', pairWith: { id: ids[2]!, source: 'http://x/2.jpg', label: 'grizzly' } }),
      suspect(3, { kind: 'outlier', reason: 'far from every class' }),
    ],
    summary: { nItems: 8, counts: { label: 1, leak: 0, duplicate: 1, outlier: 1, quality: 0 }, noiseRate: { grizzly: 0.125, black: 0, teddy: 0 }, labelView: 'confident', folds: 5, repeats: 1, skippedKept: 0, notes: [] },
  };
}

const customIds = (rows: ReturnType<typeof actionRows>) => rows.flatMap((r) => r.toJSON().components.map((c) => ('custom_id' in c ? c.custom_id : '')));
const labels = (rows: ReturnType<typeof actionRows>) => rows.flatMap((r) => r.toJSON().components.map((c) => ('label' in c ? c.label : c.type)));

beforeAll(async () => {
  await redis.connect();
  await store.create(ref, CLASSES, alice.userId);
  for (let n = 0; n < 8; n++) {
    const id = sha256Hex(Buffer.from(`image ${n}`));
    ids.push(id);
    await store.addItem(ref, { id, label: 'grizzly', source: { kind: 'search', url: `http://x/${n}.jpg` }, width: 200, height: 200, bytes: 1000, phash: sha256Hex(Buffer.from(`phash ${n}`)).slice(0, 16) });
  }
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('suspect messages', () => {
  it('say what the model thinks, list the reactions, and offer Keep, Delete and one Relabel per other class', () => {
    const report = makeReport();
    expect(suspectText(report, 0)).toContain('labelled **grizzly**; looks like **black** (87%)');
    // The suggested class first, numbered from 1️⃣, so it always has a reaction.
    expect(suspectText(report, 0)).toContain('React ✅ keep · 🗑️ delete · relabel: 1️⃣ black · 2️⃣ teddy');
    const rows = actionRows(report, 0);
    expect(labels(rows)).toEqual(['Keep', 'Delete', 'Relabel → black', 'Relabel → teddy']);
    expect(customIds(rows)).toEqual([`clean:${report.id}:0:keep`, `clean:${report.id}:0:del`, `clean:${report.id}:0:rl:1`, `clean:${report.id}:0:rl:2`]);
  });

  it('use a select menu when there are more than 4 other classes, and stay under 100 characters of custom_id', () => {
    const classes = ['grizzly', 'black', 'teddy', 'panda', 'polar', 'sun bear'];
    const report = { ...makeReport(classes), id: reportIdFor('clean.some-long-job-id.with.many.parts.1234567890') };
    const rows = actionRows(report, 0);
    expect(labels(rows)).toEqual(['Keep', 'Delete', 3]);
    const menu = rows[1]!.toJSON().components[0] as { options: { label: string; value: string }[] };
    expect(menu.options.map((o) => o.label)).toEqual(['black', 'teddy', 'panda', 'polar', 'sun bear']);
    expect(menu.options.map((o) => o.value)).toEqual(['1', '2', '3', '4', '5']);
    for (const id of customIds(rows)) expect(id.length).toBeLessThanOrEqual(100);
  });

  it('show a duplicate pair with Delete left / Delete right / Keep both', () => {
    const report = makeReport();
    expect(labels(actionRows(report, 1))).toEqual(['Delete left', 'Delete right', 'Keep both']);
    expect(suspectText(report, 1)).toContain('React ✅ keep both · 🗑️ delete the right one');
  });

  it('show a pair across training and validation as a pair, saying what it does to the accuracy', () => {
    const report = makeReport();
    const reason = 'the same picture is in training and validation: it inflates the accuracy (99.5% similar embeddings; both labelled "grizzly")';
    report.suspects[1] = { ...report.suspects[1]!, kind: 'leak', reason };
    expect(suspectText(report, 1)).toContain(`**2/3** 🔀 In training and validation: left in training, right in validation: ${reason}`);
    expect(labels(actionRows(report, 1))).toEqual(['Delete left', 'Delete right', 'Keep both']);
    expect(suspectText(report, 1)).toContain('React ✅ keep both · 🗑️ delete the right one');
    expect(reactionAction('✅', report, report.suspects[1]!)).toEqual({ type: 'keep-both' });
    expect(reactionAction('🗑️', report, report.suspects[1]!)).toEqual({ type: 'delete-right' });
    expect(reactionAction('1️⃣', report, report.suspects[1]!)).toBeUndefined();
  });

  it('summarise counts per kind and the estimated label noise per class', () => {
    const embed = summaryMessage(makeReport()).embeds[0]!.toJSON();
    expect(embed.description).toContain('**3 suspects**: 1 label issues, 0 pictures in both training and validation, 1 duplicates, 1 outliers, 0 image-quality issues');
    expect(embed.description).toMatch(/grizzly\s+13%/);
  });
});

describe('reactions', () => {
  const report = makeReport();
  it('map ✅ 🗑️ and numbers to keep, delete and relabel (with or without the variation selector)', () => {
    expect(reactionAction('✅', report, report.suspects[0]!)).toEqual({ type: 'keep' });
    expect(reactionAction('🗑️', report, report.suspects[0]!)).toEqual({ type: 'delete' });
    expect(reactionAction('🗑', report, report.suspects[0]!)).toEqual({ type: 'delete' });
    // n️⃣ is the n-th relabel choice: the suggestion (black) first, then the other classes.
    expect(reactionAction('1️⃣', report, report.suspects[0]!)).toEqual({ type: 'relabel', to: 'black' });
    expect(reactionAction('2️⃣', report, report.suspects[0]!)).toEqual({ type: 'relabel', to: 'teddy' });
    expect(reactionAction('3️⃣', report, report.suspects[0]!)).toBeUndefined();
    expect(reactionAction('👍', report, report.suspects[0]!)).toBeUndefined();
  });

  it('on a pair: ✅ keeps both, 🗑️ deletes the right one, numbers mean nothing', () => {
    expect(reactionAction('✅', report, report.suspects[1]!)).toEqual({ type: 'keep-both' });
    expect(reactionAction('🗑️', report, report.suspects[1]!)).toEqual({ type: 'delete-right' });
    expect(reactionAction('2️⃣', report, report.suspects[1]!)).toBeUndefined();
  });
});

describe('permission to decide', () => {
  const none = new PermissionsBitField();
  it('needs Manage Messages or the cleaner role (by id or by name, any case)', () => {
    expect(mayDecide(new PermissionsBitField(PermissionFlagsBits.ManageMessages), [], undefined)).toBe(true);
    expect(mayDecide(none, [{ id: '9', name: 'Cleaners' }], 'cleaners')).toBe(true);
    expect(mayDecide(none, [{ id: '9', name: 'x' }], '9')).toBe(true);
    expect(mayDecide(none, [{ id: '9', name: 'helpers' }], 'cleaners')).toBe(false);
    expect(mayDecide(none, [{ id: '9', name: 'cleaners' }], undefined)).toBe(false);
    expect(mayDecide(null, [], undefined)).toBe(false);
  });
});

describe('deciding on a suspect', () => {
  it('relabels once; the second decision is the first one; undo restores and brings the buttons back', async () => {
    const report = makeReport();
    const r = await decideSuspect(ctx, report, 0, { type: 'relabel', to: 'black' }, alice);
    expect(r.outcome).toBe('applied');
    expect((await store.getItem(ref, ids[0]!))!.label).toBe('black');
    const again = await decideSuspect(ctx, report, 0, { type: 'delete' }, bob);
    expect(again.outcome).toBe('already-decided');
    if (again.outcome === 'already-decided') expect(again.decision.by.name).toBe('alice');
    expect((await store.getItem(ref, ids[0]!))!.status).toBe('active');

    const body = suspectBody(report, 0, await currentDecisions(ctx, report, 0));
    expect(body.content).toMatch(/relabelled \*\*grizzly\*\* → \*\*black\*\* by \*\*alice\*\* <t:\d+:R>/);
    expect(labels(body.components)).toEqual(['Undo']);

    expect(await undoSuspect(ctx, report, 0, alice)).toEqual({ outcome: 'undone' });
    expect((await store.getItem(ref, ids[0]!))!.label).toBe('grizzly');
    expect(labels(suspectBody(report, 0, await currentDecisions(ctx, report, 0)).components)).toContain('Keep');
    expect((await undoSuspect(ctx, report, 0, alice)).outcome).toBe('nothing');
  });

  it('keeps both images of a pair, or deletes only the right one', async () => {
    const report = makeReport();
    expect((await decideSuspect(ctx, report, 1, { type: 'keep-both' }, alice)).outcome).toBe('applied');
    const kept = await decisions.keptLabels(ref);
    expect(kept.get(ids[1]!)).toBe('grizzly');
    expect(kept.get(ids[2]!)).toBe('grizzly');
    expect(suspectBody(report, 1, await currentDecisions(ctx, report, 1)).content).toMatch(/left: kept as[\s\S]*right: kept as/);

    const other = makeReport();
    expect((await decideSuspect(ctx, other, 1, { type: 'delete-right' }, alice)).outcome).toBe('applied');
    expect((await store.getItem(ref, ids[2]!))!.status).toBe('trashed');
    expect((await store.getItem(ref, ids[1]!))!.status).toBe('active');
    expect((await decideSuspect(ctx, other, 1, { type: 'delete-left' }, bob)).outcome).toBe('already-decided');
    await undoSuspect(ctx, other, 1, alice);
    expect((await store.getItem(ref, ids[2]!))!.status).toBe('active');
  });

  it('changes nothing when the image was relabelled since the message was posted', async () => {
    const report = makeReport();
    await store.relabel(ref, ids[3]!, 'teddy', 'grizzly');
    const r = await decideSuspect(ctx, report, 2, { type: 'delete' }, alice);
    expect(r.outcome).toBe('stale');
    expect((await store.getItem(ref, ids[3]!))!.status).toBe('active');
  });

  it('finds the suspect of a posted message (for reactions after a restart)', async () => {
    await rememberMessage(ctx, '123456', 'r9', 4);
    expect(await suspectOfMessage(ctx, '123456')).toEqual({ reportId: 'r9', index: 4 });
    expect(await suspectOfMessage(ctx, '999')).toBeUndefined();
  });
});

describe('the worker and the command line', () => {
  it('derives a short report id that a retried job reuses', () => {
    expect(reportIdFor('clean.a.1')).toBe(reportIdFor('clean.a.1'));
    expect(reportIdFor('clean.a.1')).not.toBe(reportIdFor('clean.a.2'));
    expect(reportIdFor('clean.a.1')).toMatch(/^[0-9a-f]{16}$/);
  });

  it("renders /clean's progress, and leaves the training's clean stage to the training's message", async () => {
    const data = { dataset: ref, kind: 'all', count: 10, offset: 0 };
    const mine = await renderCleanProgress({ name: CLEAN_COMMAND_JOB, data } as Job, { stage: 'folds', done: 2, total: 5 });
    expect(JSON.stringify(mine)).toContain('training out-of-fold heads 2/5');
    const done = await renderCleanProgress({ name: CLEAN_COMMAND_JOB, data } as Job, { stage: 'done', done: 1, total: 1, suspects: 7 });
    expect(JSON.stringify(done)).toContain('Cleaned bears: 7 suspects');
    expect(await renderCleanProgress({ name: 'clean', data } as Job, { stage: 'folds', done: 2, total: 5 })).toBeUndefined();
  });

  it('prints the ranked suspects with id, source, label, suggested, score and kind', () => {
    const json = reportJson(makeReport(), 2);
    expect(json.suspects).toHaveLength(2);
    expect(json.suspects[0]).toMatchObject({ id: ids[0], source: 'http://x/0.jpg', label: 'grizzly', suggested: 'black', score: 0.9, kind: 'label' });
    expect(json.suspects[1]).toMatchObject({ kind: 'duplicate', suggested: null, pairWith: { id: ids[2] } });
  });
});
