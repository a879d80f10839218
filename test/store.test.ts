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
import { assignSplits, drawnSplit, splitDraw } from '../core/store/split.js';
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

  it('gives the same split to the same images imported in two orders into two fresh stores', async () => {
    const images = Array.from({ length: 60 }, (_, n) => item(1000 + n, n % 3 === 0 ? 'b' : 'a'));
    const splitsAfter = async (store2: RedisDatasetStore, order: typeof images) => {
      const ref = { guildId, name: 'split' };
      await store2.create(ref, ['a', 'b'], 'u');
      for (const it of order) expect((await store2.addItem(ref, it)).outcome).toBe('added');
      return new Map((await store2.items(ref)).map((it) => [it.id, it.split] as const));
    };
    const first = await splitsAfter(store, images);
    // Another store (another prefix, another seed) gets the images in reverse order.
    const other = new RedisDatasetStore(redis, `${prefix}:other`, { seed: 7, validPct: 0.2 });
    const second = await splitsAfter(other, [...images].reverse());
    expect([...second.entries()].sort()).toEqual([...first.entries()].sort());
    const counts = await store.splitCounts({ guildId, name: 'split' });
    // About 20% per class, by the draw alone.
    for (const c of Object.values(counts)) expect(c.valid / (c.train + c.valid)).toBeGreaterThan(0.1);
    for (const c of Object.values(counts)) expect(c.valid / (c.train + c.valid)).toBeLessThan(0.35);
  });

  it('moves no image when images are added', async () => {
    const ref = { guildId, name: 'split' };
    const before = new Map((await store.items(ref)).map((it) => [it.id, it.split] as const));
    for (let n = 0; n < 30; n++) await store.addItem(ref, item(2000 + n, n % 2 ? 'a' : 'b'));
    const after = await store.items(ref);
    expect(after).toHaveLength(90);
    for (const it of after) if (before.has(it.id)) expect(it.split).toBe(before.get(it.id));
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

describe('the split rule', () => {
  const ids = Array.from({ length: 4000 }, (_, i) => sha256Hex(Buffer.from(String(i))));

  it('is a draw from the dataset name and the image alone, about 20% valid', () => {
    expect(splitDraw('bears', ids[0]!)).toBe(splitDraw('bears', ids[0]!));
    expect(splitDraw('bears', ids[0]!)).not.toBe(splitDraw('cats', ids[0]!));
    const below = ids.filter((id) => drawnSplit('bears', id, 0.2) === 'valid').length / ids.length;
    expect(below).toBeGreaterThan(0.18);
    expect(below).toBeLessThan(0.22);
  });

  it('holds out an image of every class of 5 or more images, and only of those, the same in any order', () => {
    // Classes of images that all drew train: the smallest case of the stand-in rule.
    const trainOnly = ids.filter((id) => drawnSplit('d', id, 0.2) === 'train');
    const items = [
      ...trainOnly.slice(0, 4).map((id) => ({ id, label: 'four' })),
      ...trainOnly.slice(4, 9).map((id) => ({ id, label: 'five' })),
    ];
    const splits = assignSplits('d', items, 0.2);
    const valid = (label: string) => items.filter((it) => it.label === label && splits.get(it.id) === 'valid');
    expect(valid('four')).toHaveLength(0);
    expect(valid('five')).toHaveLength(1);
    expect([...assignSplits('d', [...items].reverse(), 0.2).entries()].sort()).toEqual([...splits.entries()].sort());
    // The stand-in is the lowest draw of its class, and leaves once an image of the class draws valid.
    const lowest = items.filter((it) => it.label === 'five').sort((x, y) => splitDraw('d', x.id) - splitDraw('d', y.id))[0]!;
    expect(valid('five')[0]).toEqual(lowest);
    const drawnValid = ids.find((id) => drawnSplit('d', id, 0.2) === 'valid')!;
    const grown = assignSplits('d', [...items, { id: drawnValid, label: 'five' }], 0.2);
    expect(grown.get(lowest.id)).toBe('train');
    expect(grown.get(drawnValid)).toBe('valid');
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
