import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../core/errors.js';
import { FileBlobStore, sha256Hex } from '../core/store/blobs.js';
import { hammingDistance } from '../core/collect/phash.js';
import { cleanClassName, parseClassList } from '../core/store/classNames.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import { decideSplit, splitDraw } from '../core/store/split.js';
import type { DatasetItem } from '../core/store/types.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const store = new RedisDatasetStore(redis, prefix, { seed: 42, validPct: 0.2 });
const guildId = 'g1';

function item(n: number, label: string, phash?: string): Omit<DatasetItem, 'split' | 'status' | 'addedAt'> {
  const id = sha256Hex(Buffer.from(`image ${n}`));
  // Distinct phashes far apart in Hamming distance unless given.
  const ph = phash ?? sha256Hex(Buffer.from(`phash ${n}`)).slice(0, 16);
  return { id, label, source: { kind: 'search', url: `http://x/${n}.jpg` }, width: 100, height: 100, bytes: 1000, phash: ph };
}

async function rejectsWithUserError(p: Promise<unknown>, text: RegExp) {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isUserError(err), String(err)).toBe(true);
  expect((err as Error).message).toMatch(text);
}

beforeAll(async () => {
  await redis.connect();
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('class names', () => {
  it('neutralises mentions and markdown', () => {
    expect(cleanClassName('**grizzly** @everyone')).toBe('grizzly everyone');
    expect(cleanClassName('<@123456789> teddy __bear__ <@&42> `x`')).toBe('teddy bear x');
    expect(cleanClassName('  @here  black/brown bear ')).toBe('here black-brown bear');
    expect(() => cleanClassName('<@123> **')).toThrow(/not a usable class name/);
    expect(() => cleanClassName('x'.repeat(51))).toThrow(/at most 50/);
    expect(parseClassList('grizzly bear, black bear,  teddy bear ,')).toEqual(['grizzly bear', 'black bear', 'teddy bear']);
  });

  it('refuses class names that differ only in case', async () => {
    await rejectsWithUserError(store.create({ guildId, name: 'dupes' }, ['Bear', 'bear'], 'u'), /given twice/);
    expect(await store.get({ guildId, name: 'dupes' })).toBeUndefined();
  });
});

describe('RedisDatasetStore', () => {
  it('creates, lists and refuses a second dataset of the same name', async () => {
    const meta = await store.create({ guildId, name: 'bears' }, ['grizzly', '@everyone *black*', 'teddy'], 'u1');
    expect(meta.classes).toEqual(['grizzly', 'everyone black', 'teddy']);
    expect(meta.revision).toBe(0);
    await rejectsWithUserError(store.create({ guildId, name: 'bears' }, ['x'], 'u2'), /already exists/);
    expect((await store.list(guildId)).map((m) => m.name)).toContain('bears');
  });

  it('throws UserError for a dataset that does not exist or a bad name', async () => {
    await rejectsWithUserError(store.require({ guildId, name: 'nope' }), /no dataset called "nope"/);
    await rejectsWithUserError(store.addItem({ guildId, name: 'nope' }, item(1, 'grizzly')), /no dataset/);
    await rejectsWithUserError(store.require({ guildId, name: 'Bad Name!' }), /not a dataset name/);
    await rejectsWithUserError(store.delete({ guildId, name: 'nope' }), /no dataset/);
  });

  it('adds items idempotently and catches near-duplicates', async () => {
    const ref = { guildId, name: 'bears' };
    const a = await store.addItem(ref, item(1, 'GRIZZLY', '00000000000000ff'));
    expect(a.outcome).toBe('added');
    if (a.outcome === 'added') expect(a.item.label).toBe('grizzly');
    const again = await store.addItem(ref, item(1, 'grizzly', '00000000000000ff'));
    expect(again.outcome).toBe('duplicate');
    // 4 bits away: near-duplicate; 5 bits away: a different picture.
    const near = await store.addItem(ref, item(2, 'teddy', '000000000000000f'));
    expect(near).toMatchObject({ outcome: 'near-duplicate', distance: 4 });
    const far = await store.addItem(ref, item(3, 'teddy', '0000000000000007'));
    expect(far.outcome).toBe('added');
    // Differences in the high 32 bits count too.
    const high = await store.addItem(ref, item(4, 'teddy', '80000000000000ff'));
    expect(high).toMatchObject({ outcome: 'near-duplicate', distance: 1 });
    await rejectsWithUserError(store.addItem(ref, item(5, 'panda')), /not a class/);
    expect(await store.items(ref)).toHaveLength(2);
    expect((await store.require(ref)).revision).toBe(2);
  });

  it('finds the nearest earlier hash through its index exactly as a full scan would', async () => {
    const ref = { guildId, name: 'nearindex' };
    await store.create(ref, ['a'], 'u');
    // Families of hashes a few bits from a base, so near-duplicates at every distance occur.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const flip = (hex: string, bits: number) => {
      let v = BigInt(`0x${hex}`);
      for (let i = 0; i < bits; i++) v ^= 1n << BigInt(Math.floor(rand() * 64));
      return v.toString(16).padStart(16, '0');
    };
    const bases = Array.from({ length: 6 }, (_, i) => sha256Hex(Buffer.from(`base ${i}`)).slice(0, 16));
    const kept: string[] = [];
    let nearDuplicates = 0;
    for (let n = 0; n < 150; n++) {
      const phash = flip(bases[n % bases.length]!, Math.floor(rand() * 9));
      const nearest = Math.min(99, ...kept.map((h) => hammingDistance(h, phash)));
      const out = await store.addItem(ref, item(5000 + n, 'a', phash));
      if (nearest <= 4) {
        expect(out).toMatchObject({ outcome: 'near-duplicate', distance: nearest });
        if (out.outcome === 'near-duplicate') expect(hammingDistance(out.existing.phash, phash)).toBe(nearest);
        nearDuplicates++;
      } else {
        expect(out.outcome).toBe('added');
        kept.push(phash);
      }
    }
    expect(nearDuplicates).toBeGreaterThan(30);
    expect(kept.length).toBeGreaterThan(30);
    // An index lost (or made by an older version) is rebuilt from the hashes on the next add.
    await redis.del(`${prefix}:ds:{${guildId}:nearindex}:phidx`);
    const again = await store.addItem(ref, item(9999, 'a', flip(kept[0]!, 1)));
    expect(again).toMatchObject({ outcome: 'near-duplicate', distance: expect.any(Number) });
  });

  it('adds with metadata read once, and refuses when the dataset was made again since', async () => {
    const ref = { guildId, name: 'batch' };
    const meta = await store.create(ref, ['a'], 'u');
    expect((await store.addItem(ref, item(200, 'A'), meta)).outcome).toBe('added');
    await store.delete(ref);
    await new Promise((r) => setTimeout(r, 2));
    await store.create(ref, ['a'], 'u');
    await rejectsWithUserError(store.addItem(ref, item(201, 'a'), meta), /no dataset/);
    expect(await store.items(ref)).toHaveLength(0);
    // A class the metadata does not know yet: read afresh.
    const fresh = await store.addClasses(ref, ['b']);
    expect((await store.addItem(ref, item(202, 'b'), { ...fresh, classes: ['a'] })).outcome).toBe('added');
  });

  it('adds the same item concurrently exactly once', async () => {
    const ref = { guildId, name: 'race' };
    await store.create(ref, ['a'], 'u');
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.addItem(ref, item(100, 'a'))));
    expect(outcomes.filter((o) => o.outcome === 'added')).toHaveLength(1);
    expect(await store.items(ref)).toHaveLength(1);
  });

  it('relabels and trashes with compare-and-set', async () => {
    const ref = { guildId, name: 'bears' };
    const [first] = await store.items(ref);
    const rev = (await store.require(ref)).revision;
    const moved = await store.relabel(ref, first!.id, 'teddy', first!.label);
    expect(moved.ok).toBe(true);
    expect(moved.item.label).toBe('teddy');
    const stale = await store.relabel(ref, first!.id, 'grizzly', first!.label);
    expect(stale.ok).toBe(false);
    expect(stale.item.label).toBe('teddy');
    const trashed = await store.setStatus(ref, first!.id, 'trashed', 'active');
    expect(trashed.ok).toBe(true);
    expect(await store.items(ref)).toHaveLength(1);
    expect(await store.items(ref, { includeTrashed: true })).toHaveLength(2);
    expect((await store.require(ref)).revision).toBe(rev + 2);
    await rejectsWithUserError(store.relabel(ref, first!.id, 'panda'), /not a class/);
  });

  it('keeps each class within one image of the validation share, and never moves images', async () => {
    const ref = { guildId, name: 'split' };
    await store.create(ref, ['a', 'b'], 'u');
    const splits = new Map<string, string>();
    for (let n = 0; n < 60; n++) {
      const out = await store.addItem(ref, item(1000 + n, n % 3 === 0 ? 'b' : 'a'));
      if (out.outcome !== 'added') throw new Error(out.outcome);
      splits.set(out.item.id, out.item.split);
      const counts = await store.splitCounts(ref);
      for (const c of Object.values(counts)) expect(Math.abs(c.valid - 0.2 * (c.train + c.valid))).toBeLessThan(1);
    }
    for (const it of await store.items(ref)) expect(it.split).toBe(splits.get(it.id));
    const counts = await store.splitCounts(ref);
    expect(counts.a).toEqual({ train: 32, valid: 8 });
    expect(counts.b).toEqual({ train: 16, valid: 4 });
  });

  it('counts rejections and deletes', async () => {
    const ref = { guildId, name: 'split' };
    await store.addRejections(ref, { 'not-an-image': 2, timeout: 1 });
    await store.addRejections(ref, { 'not-an-image': 1 });
    expect((await store.require(ref)).rejected).toEqual({ 'not-an-image': 3, timeout: 1 });
    // A retried collect job replaces what its first attempt counted.
    await store.addRejections(ref, { timeout: 4, '404': 1 }, 'collect:7');
    await store.addRejections(ref, { timeout: 2 }, 'collect:7');
    await store.addRejections(ref, { '404': 1 }, 'collect:8');
    expect((await store.require(ref)).rejected).toMatchObject({ 'not-an-image': 3, timeout: 3, '404': 1 });
    await store.delete(ref);
    expect(await store.get(ref)).toBeUndefined();
    expect((await store.list(guildId)).map((m) => m.name)).not.toContain('split');
  });
});

describe('split draw', () => {
  it('is stable and uniform enough', () => {
    expect(splitDraw(42, 'abc')).toBe(splitDraw(42, 'abc'));
    expect(splitDraw(42, 'abc')).not.toBe(splitDraw(43, 'abc'));
    const draws = Array.from({ length: 2000 }, (_, i) => splitDraw(1, String(i)));
    const below = draws.filter((u) => u < 0.2).length / draws.length;
    expect(below).toBeGreaterThan(0.16);
    expect(below).toBeLessThan(0.24);
    expect(decideSplit(0.1, 0.2, 1, 4)).toBe('train');
    expect(decideSplit(0.9, 0.2, 0, 4)).toBe('valid');
  });
});

describe('FileBlobStore', () => {
  it('stores by sha256, atomically and idempotently', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-blobs-'));
    try {
      const blobs = new FileBlobStore(dir);
      const bytes = Buffer.from('hello');
      const key = await blobs.put(bytes);
      expect(key).toBe(sha256Hex(bytes));
      expect(blobs.path(key)).toBe(path.join(dir, key.slice(0, 2), key.slice(2, 4), key));
      expect(await blobs.put(bytes)).toBe(key);
      expect(await blobs.has(key)).toBe(true);
      expect((await blobs.get(key)).toString()).toBe('hello');
      expect(await blobs.has(sha256Hex(Buffer.from('other')))).toBe(false);
      expect(() => blobs.path('../etc/passwd')).toThrow();
      const leftovers = (await fs.readdir(path.dirname(blobs.path(key)))).filter((f) => f.endsWith('.tmp'));
      expect(leftovers).toEqual([]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
