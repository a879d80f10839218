import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../core/errors.js';
import { CLAIM_STALE_MS, DecisionLog } from '../core/clean/decisions.js';
import type { CleanReport } from '../core/clean/types.js';
import { sha256Hex } from '../core/store/blobs.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import type { DatasetRef } from '../core/store/types.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const store = new RedisDatasetStore(redis, prefix, { seed: 42, validPct: 0.2 });
const log = new DecisionLog(redis, store, prefix);
const ref: DatasetRef = { guildId: 'g1', name: 'bears' };
const alice = { userId: '111', name: 'alice' };
const bob = { userId: '222', name: 'bob' };
const ids: string[] = [];

beforeAll(async () => {
  await redis.connect();
  await store.create(ref, ['grizzly', 'black', 'teddy'], alice.userId);
  for (let n = 0; n < 8; n++) {
    const id = sha256Hex(Buffer.from(`image ${n}`));
    ids.push(id);
    const phash = sha256Hex(Buffer.from(`phash ${n}`)).slice(0, 16);
    await store.addItem(ref, { id, label: 'grizzly', source: { kind: 'search', url: `http://x/${n}.jpg` }, width: 200, height: 200, bytes: 1000, phash });
  }
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('cleaning decisions', () => {
  it('applies a relabel once; a second click says who decided and when; undo restores it', async () => {
    const revision = (await store.require(ref)).revision;
    const first = await log.decide({ ref, reportId: 'r1', itemId: ids[0]!, action: { type: 'relabel', to: 'teddy' }, by: alice, expectedLabel: 'grizzly' });
    expect(first.outcome).toBe('applied');
    expect((await store.getItem(ref, ids[0]!))!.label).toBe('teddy');
    expect((await store.require(ref)).revision).toBeGreaterThan(revision);

    const second = await log.decide({ ref, reportId: 'r1', itemId: ids[0]!, action: { type: 'delete' }, by: bob, expectedLabel: 'grizzly' });
    expect(second.outcome).toBe('already-decided');
    if (second.outcome !== 'already-decided' || first.outcome !== 'applied') throw new Error('unreachable');
    expect(second.decision).toMatchObject({ id: first.decision.id, by: alice, action: { type: 'relabel', to: 'teddy' }, from: 'grizzly', to: 'teddy', state: 'applied' });
    expect(second.decision.at).toBe(first.decision.at);
    expect((await store.getItem(ref, ids[0]!))!.status).toBe('active');

    const undone = await log.undo(first.decision.id, bob);
    expect(undone).toMatchObject({ outcome: 'undone', decision: { undo: { by: bob } } });
    expect((await store.getItem(ref, ids[0]!))!.label).toBe('grizzly');
    expect(await log.undo(first.decision.id, alice)).toMatchObject({ outcome: 'already-undone', decision: { undo: { by: bob } } });
    // Undone, the item can be decided again in the same report.
    expect((await log.decide({ ref, reportId: 'r1', itemId: ids[0]!, action: { type: 'keep' }, by: bob, expectedLabel: 'grizzly' })).outcome).toBe('applied');

    const audit = await log.auditLog(ref);
    expect(audit.slice(0, 3).map((e) => [e.event, e.action, e.from, e.to, e.userName])).toEqual([
      ['decide', 'keep', 'grizzly', 'grizzly', 'bob'],
      ['undo', 'relabel', 'teddy', 'grizzly', 'bob'],
      ['decide', 'relabel', 'grizzly', 'teddy', 'alice'],
    ]);
    expect(audit[2]!.at).toBe(first.decision.at);
  });

  it('deletes to the trash, leaves the blob alone, and undo restores from the trash', async () => {
    const r = await log.decide({ ref, reportId: 'r1', itemId: ids[1]!, action: { type: 'delete' }, by: alice, expectedLabel: 'grizzly' });
    expect(r).toMatchObject({ outcome: 'applied', decision: { to: 'trash' } });
    expect((await store.getItem(ref, ids[1]!))!.status).toBe('trashed');
    expect((await store.items(ref)).map((i) => i.id)).not.toContain(ids[1]);
    if (r.outcome !== 'applied') throw new Error('unreachable');
    expect((await log.undo(r.decision.id, alice)).outcome).toBe('undone');
    expect((await store.getItem(ref, ids[1]!))!.status).toBe('active');
  });

  it('applies exactly one of many concurrent clicks on the same item', async () => {
    const clicks = await Promise.all(
      ['grizzly', 'black', 'teddy', 'black', 'teddy', 'black'].map((to, i) =>
        to === 'grizzly'
          ? log.decide({ ref, reportId: 'r2', itemId: ids[2]!, action: { type: 'keep' }, by: i % 2 ? alice : bob, expectedLabel: 'grizzly' })
          : log.decide({ ref, reportId: 'r2', itemId: ids[2]!, action: { type: 'relabel', to }, by: i % 2 ? alice : bob, expectedLabel: 'grizzly' }),
      ),
    );
    const applied = clicks.filter((c) => c.outcome === 'applied');
    expect(applied).toHaveLength(1);
    expect(clicks.filter((c) => c.outcome === 'already-decided')).toHaveLength(5);
    const winner = applied[0]!.outcome === 'applied' ? applied[0]!.decision : undefined;
    for (const c of clicks) if (c.outcome === 'already-decided') expect(c.decision.id).toBe(winner!.id);
    expect((await store.getItem(ref, ids[2]!))!.label).toBe(winner!.to);
    expect((await log.auditLog(ref)).filter((e) => e.itemId === ids[2]).length).toBe(1);
  });

  it('changes nothing when the label changed since the message was posted', async () => {
    await store.relabel(ref, ids[3]!, 'black');
    const r = await log.decide({ ref, reportId: 'r1', itemId: ids[3]!, action: { type: 'relabel', to: 'teddy' }, by: alice, expectedLabel: 'grizzly' });
    expect(r).toMatchObject({ outcome: 'stale', item: { label: 'black' } });
    expect((await store.getItem(ref, ids[3]!))!.label).toBe('black');
    // The stale attempt left no decision behind: a correct click still works.
    expect((await log.decide({ ref, reportId: 'r1', itemId: ids[3]!, action: { type: 'keep' }, by: alice, expectedLabel: 'black' })).outcome).toBe('applied');
  });

  it('refuses an undo when the image was relabelled again since', async () => {
    const r = await log.decide({ ref, reportId: 'r3', itemId: ids[4]!, action: { type: 'relabel', to: 'black' }, by: alice, expectedLabel: 'grizzly' });
    if (r.outcome !== 'applied') throw new Error(`expected applied, got ${r.outcome}`);
    await store.relabel(ref, ids[4]!, 'teddy');
    expect(await log.undo(r.decision.id, bob)).toMatchObject({ outcome: 'stale', item: { label: 'teddy' } });
    expect((await log.getDecision(r.decision.id))!.state).toBe('applied');
  });

  it('remembers kept images with their label, and forgets them on undo', async () => {
    const r = await log.decide({ ref, reportId: 'r4', itemId: ids[5]!, action: { type: 'keep' }, by: alice, expectedLabel: 'grizzly' });
    expect((await log.keptLabels(ref)).get(ids[5]!)).toBe('grizzly');
    expect((await log.decisionFor(ref, 'r4', ids[5]!))!.by).toEqual(alice);
    if (r.outcome !== 'applied') throw new Error('unreachable');
    await log.undo(r.decision.id, alice);
    expect((await log.keptLabels(ref)).has(ids[5]!)).toBe(false);
    expect(await log.decisionFor(ref, 'r4', ids[5]!)).toBeUndefined();
  });

  it('gives clear user errors for nonsense decisions', async () => {
    const same = log.decide({ ref, reportId: 'r1', itemId: ids[6]!, action: { type: 'relabel', to: 'grizzly' }, by: alice, expectedLabel: 'grizzly' });
    expect(isUserError(await same.catch((e: unknown) => e))).toBe(true);
    const missing = log.decide({ ref, reportId: 'r1', itemId: 'f'.repeat(64), action: { type: 'keep' }, by: alice, expectedLabel: 'grizzly' });
    expect(await missing.catch((e: unknown) => (e as Error).message)).toMatch(/no longer in bears/);
    expect(await log.undo(randomUUID(), alice).catch((e: unknown) => (e as Error).message)).toMatch(/too old to undo/);
  });

  it('takes over a claim whose process died before applying it, and frees the item when the store fails', async () => {
    const base = `${prefix}:clean:{${ref.guildId}:${ref.name}}`;
    // A pending claim from a crashed process, older than CLAIM_STALE_MS.
    await redis.set(`${base}:decided:r5:${ids[6]}`, 'dead');
    await redis.hset(`${base}:decision:dead`, 'data', JSON.stringify({ id: 'dead', by: bob }), 'state', 'pending', 'claimedAt', String(Date.now() - CLAIM_STALE_MS - 1000));
    const r = await log.decide({ ref, reportId: 'r5', itemId: ids[6]!, action: { type: 'relabel', to: 'black' }, by: alice, expectedLabel: 'grizzly' });
    expect(r).toMatchObject({ outcome: 'applied', decision: { by: alice } });
    expect(await redis.exists(`${base}:decision:dead`)).toBe(0);

    const failing = new DecisionLog(redis, { ...store, getItem: store.getItem.bind(store), setStatus: async () => { throw new Error('store down'); } } as never, prefix);
    const attempt = failing.decide({ ref, reportId: 'r6', itemId: ids[7]!, action: { type: 'delete' }, by: alice, expectedLabel: 'grizzly' });
    await expect(attempt).rejects.toThrow(/store down/);
    expect(await log.decisionFor(ref, 'r6', ids[7]!)).toBeUndefined();
    expect((await log.decide({ ref, reportId: 'r6', itemId: ids[7]!, action: { type: 'delete' }, by: bob, expectedLabel: 'grizzly' })).outcome).toBe('applied');
  });

  it('stores reports for paging, with a TTL, and remembers the newest per dataset', async () => {
    const report: CleanReport = {
      id: randomUUID(),
      dataset: ref,
      createdAt: Date.now(),
      kind: 'all',
      classes: ['grizzly', 'black', 'teddy'],
      suspects: [{ id: ids[7]!, source: 'http://x/7.jpg', label: 'grizzly', score: 0.9, kind: 'label', reason: 'r', suggested: 'black' }],
      summary: { nItems: 8, counts: { label: 1, leak: 0, duplicate: 0, outlier: 0, quality: 0 }, noiseRate: { grizzly: 0.1 }, skippedKept: 0, notes: [] },
    };
    await log.saveReport(report);
    expect(await log.loadReport(report.id)).toEqual(report);
    expect(await log.latestReportId(ref)).toBe(report.id);
    const ttl = await redis.ttl(`${prefix}:clean:report:${report.id}`);
    expect(ttl).toBeGreaterThan(24 * 3600);
    expect(ttl).toBeLessThanOrEqual(3 * 24 * 3600);
    expect(await log.loadReport(randomUUID())).toBeUndefined();
  });
});
