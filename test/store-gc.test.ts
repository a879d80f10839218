import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingCache } from '../core/ml/embedCache.js';
import { FileBlobStore } from '../core/store/blobs.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import { sweepUnreferenced } from '../core/store/gc.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const datasets = new RedisDatasetStore(redis, prefix, { seed: 42, validPct: 0.2 });
let dataDir = '';
let blobs: FileBlobStore;
let embeddings: EmbeddingCache;
const HOUR_AGO = new Date(Date.now() - 3_600_000);

async function storeImage(text: string): Promise<string> {
  const id = await blobs.put(Buffer.from(text));
  await embeddings.put(id, new Float32Array([1, 2, 3, 4]));
  await fs.utimes(blobs.path(id), HOUR_AGO, HOUR_AGO);
  await fs.utimes(embeddings.pathOf(id), HOUR_AGO, HOUR_AGO);
  return id;
}

async function addTo(name: string, id: string): Promise<void> {
  const outcome = await datasets.addItem({ guildId: 'g', name }, { id, label: 'a', source: { kind: 'import', path: `${id}.jpg` }, width: 1, height: 1, bytes: 1, phash: id.slice(0, 16) });
  expect(outcome.outcome).toBe('added');
}

const exists = (file: string) => fs.access(file).then(() => true, () => false);

beforeAll(async () => {
  await redis.connect();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-gc-'));
  blobs = new FileBlobStore(path.join(dataDir, 'blobs'));
  embeddings = new EmbeddingCache(dataDir, 'mobilenet_v2_035', 4);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('sweeping image files no dataset holds', () => {
  it('removes the files of a deleted dataset, keeping shared, trashed, young and re-added ones', async () => {
    await datasets.create({ guildId: 'g', name: 'gone' }, ['a'], 'u');
    await datasets.create({ guildId: 'g', name: 'kept' }, ['a'], 'u');
    const shared = await storeImage('in both datasets');
    const onlyGone = await storeImage('only in the deleted one');
    const trashed = await storeImage('trashed in the kept one');
    const readded = await storeImage('re-collected while the sweep runs');
    for (const id of [shared, onlyGone, readded]) await addTo('gone', id);
    for (const id of [shared, trashed]) await addTo('kept', id);
    await datasets.setStatus({ guildId: 'g', name: 'kept' }, trashed, 'trashed');
    const young = await blobs.put(Buffer.from('written a moment ago, its item not added yet'));
    const leftover = `${blobs.path(shared)}.1234.abcd.tmp`;
    await fs.writeFile(leftover, 'a crashed write');
    await fs.utimes(leftover, HOUR_AGO, HOUR_AGO);

    await datasets.delete({ guildId: 'g', name: 'gone' });
    // Collected again into another dataset: the store touches the existing blob.
    await blobs.put(Buffer.from('re-collected while the sweep runs'));

    const swept = await sweepUnreferenced(redis, { dataDir });
    expect(await exists(blobs.path(onlyGone))).toBe(false);
    expect(await exists(embeddings.pathOf(onlyGone))).toBe(false);
    expect(await exists(leftover)).toBe(false);
    for (const id of [shared, trashed, young, readded]) expect(await exists(blobs.path(id)), id).toBe(true);
    for (const id of [shared, trashed]) expect(await exists(embeddings.pathOf(id))).toBe(true);
    // The re-added image's embedding was old and unheld: it goes, and is recomputed if needed.
    expect(swept).toEqual({ blobs: 2, embeddings: 2, bytes: expect.any(Number) });
    expect(swept.bytes).toBeGreaterThan(0);

    // Nothing left to do the second time.
    expect(await sweepUnreferenced(redis, { dataDir })).toEqual({ blobs: 0, embeddings: 0, bytes: 0 });
  });

  it('copes with a data folder that has no files yet', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-gc-empty-'));
    expect(await sweepUnreferenced(redis, { dataDir: empty })).toEqual({ blobs: 0, embeddings: 0, bytes: 0 });
    await fs.rm(empty, { recursive: true });
  });
});
