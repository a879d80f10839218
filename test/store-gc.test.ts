import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingCache } from '../core/ml/embedCache.js';
import { FileBlobStore } from '../core/store/blobs.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import { checkDeployment, DEPLOYMENT_FILE, DEPLOYMENTS_KEY, readMarker } from '../core/store/deployment.js';
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

const otherDirs: string[] = [];
async function newDataDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-gc-other-'));
  otherDirs.push(dir);
  return dir;
}

const exists = (file: string) => fs.access(file).then(() => true, () => false);

beforeAll(async () => {
  await redis.connect();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-gc-'));
  blobs = new FileBlobStore(path.join(dataDir, 'blobs'));
  embeddings = new EmbeddingCache(dataDir, 'mobilenet_v2_035', 4);
  // The first start pairs a new DATA_DIR with its Redis.
  expect(await checkDeployment(redis, dataDir)).toMatchObject({ ok: true, paired: 'now' });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  for (const dir of [dataDir, ...otherDirs]) {
    const marker = await readMarker(dir).catch(() => undefined);
    if (marker) await redis.hdel(DEPLOYMENTS_KEY, marker.id);
  }
  redis.disconnect();
  for (const dir of otherDirs) await fs.rm(dir, { recursive: true, force: true });
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
    const empty = await newDataDir();
    expect(await sweepUnreferenced(redis, { dataDir: empty })).toEqual({ blobs: 0, embeddings: 0, bytes: 0 });
    expect(await exists(path.join(empty, DEPLOYMENT_FILE))).toBe(true);
  });
});

describe('the sweep against the wrong Redis', () => {
  /** A dataset in the Redis DATA_DIR belongs to, whose images are all old. */
  async function deploymentWithImages(n: number) {
    const dir = await newDataDir();
    expect(await checkDeployment(redis, dir)).toMatchObject({ ok: true });
    const store = new FileBlobStore(path.join(dir, 'blobs'));
    const name = `ds-${otherDirs.length}`;
    await datasets.create({ guildId: 'g', name }, ['a'], 'u');
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = await store.put(Buffer.from(`${dir} image ${i}`));
      await fs.utimes(store.path(id), HOUR_AGO, HOUR_AGO);
      await datasets.addItem({ guildId: 'g', name }, { id, label: 'a', source: { kind: 'import', path: `${i}.jpg` }, width: 1, height: 1, bytes: 1, phash: id.slice(0, 16) });
      ids.push(id);
    }
    return { dir, store, ids, name };
  }

  it('deletes nothing when Redis is empty, flushed or another database', async () => {
    const { dir, store, ids } = await deploymentWithImages(5);
    const emptyRedis = new Redis('redis://127.0.0.1:6379/13', { lazyConnect: true });
    await emptyRedis.connect();
    try {
      const swept = await sweepUnreferenced(emptyRedis, { dataDir: dir });
      expect(swept).toMatchObject({ blobs: 0, embeddings: 0, bytes: 0 });
      expect(swept.refused).toMatch(/does not know/);
      // The marker stays unpaired: a later sweep against that Redis refuses too.
      expect(await emptyRedis.hexists(DEPLOYMENTS_KEY, (await readMarker(dir))!.id)).toBe(0);
    } finally {
      emptyRedis.disconnect();
    }
    for (const id of ids) expect(await exists(store.path(id))).toBe(true);
  });

  it('deletes nothing from a DATA_DIR with images but no marker when no dataset of this Redis holds them', async () => {
    const dir = await newDataDir();
    const store = new FileBlobStore(path.join(dir, 'blobs'));
    const id = await store.put(Buffer.from('collected before deployment markers existed'));
    await fs.utimes(store.path(id), HOUR_AGO, HOUR_AGO);
    const swept = await sweepUnreferenced(redis, { dataDir: dir });
    expect(swept.refused).toMatch(/no deployment marker/);
    expect(await exists(store.path(id))).toBe(true);
    expect(await exists(path.join(dir, DEPLOYMENT_FILE))).toBe(false);
  });

  it('refuses a pass that would remove more than a small share of the files no deleted dataset released', async () => {
    const { dir, store, ids, name } = await deploymentWithImages(30);
    // The items vanish without /dataset delete (a partial flush, another prefix's keys lost...).
    await redis.del(`${prefix}:ds:{g:${name}}:items`);
    const swept = await sweepUnreferenced(redis, { dataDir: dir });
    expect(swept.refused).toMatch(/30 of 30 files .* held by no dataset/);
    for (const id of ids) expect(await exists(store.path(id))).toBe(true);

    // The same share released by /dataset delete goes, and is logged as such by the caller.
    const other = await deploymentWithImages(30);
    await datasets.delete({ guildId: 'g', name: other.name });
    expect(await sweepUnreferenced(redis, { dataDir: other.dir })).toEqual({ blobs: 30, embeddings: 0, bytes: expect.any(Number) });
    expect(await redis.exists(`${prefix}:gc:released`)).toBe(0);
  });
});
