// A DATA_DIR that cannot be written is the machine's fault, not the images': the import fails
// as a storage error naming the path, and no image is counted as rejected ("corrupt").
// (Tests may run as root, where chmod blocks nothing: DATA_DIR/blobs is made a regular file.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorReplyText } from '../bot/errors.js';
import { addFromFolder } from '../core/collect/collect.js';
import { loadConfig } from '../core/config.js';
import { isStorageError, StorageError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { createRedis } from '../core/redis.js';
import { createServices, type Services } from '../core/services.js';
import { syntheticImages } from './fixtures/images.js';
import { deleteKeys } from './helpers/stack.js';
import { EmbeddingCache } from '../core/ml/embedCache.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-storage-'));
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-storage-src-'));
const redis = createRedis('redis://127.0.0.1:6379');
let services: Services;
const ref = { guildId: 'g', name: 'cats' };

beforeAll(async () => {
  services = createServices(loadConfig({ QUEUE_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), redis, createLogger('silent'));
  fs.writeFileSync(path.join(dataDir, 'blobs'), 'a file where the blob folder should be');
  for (const img of await syntheticImages(3, { size: 64, seed: 3, classes: 1 })) {
    fs.mkdirSync(path.join(folder, img.label), { recursive: true });
    fs.writeFileSync(path.join(folder, img.label, `${randomUUID()}.jpg`), img.bytes);
  }
  await services.datasets.create(ref, ['red circles'], 'u');
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(folder, { recursive: true, force: true });
});

describe('an unwritable DATA_DIR', () => {
  it('fails the import as a storage error with the path, and counts no image against the images', async () => {
    const err = await addFromFolder({ services, dataset: ref, folder }).then(() => undefined, (e: unknown) => e);
    expect(isStorageError(err)).toBe(true);
    expect((err as StorageError).message).toMatch(new RegExp(`storage error: cannot write ${path.join(dataDir, 'blobs')}.*(ENOTDIR|EEXIST)`));
    const meta = await services.datasets.require(ref);
    expect(meta.rejected).toEqual({});
    expect(await services.datasets.items(ref)).toEqual([]);
    // What a user is told: what is wrong, without the server's paths.
    const reply = errorReplyText(err, 'ref1');
    expect(reply).toMatch(/could not store images/);
    expect(reply).not.toContain(dataDir);
  });
});

describe('an unwritable embedding cache', () => {
  it('fails as a storage error naming the folder, not as a crash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-storage-emb-'));
    try {
      fs.writeFileSync(path.join(dir, 'embeddings'), 'a file where the embedding cache should be');
      const cache = new EmbeddingCache(dir, 'mobilenet_v2_035', 4);
      const err = await cache.put('a'.repeat(64), new Float32Array(4)).then(() => undefined, (e: unknown) => e);
      expect(isStorageError(err)).toBe(true);
      expect((err as StorageError).message).toContain(path.join(dir, 'embeddings'));
      expect(errorReplyText(err, 'ref2')).toMatch(/^💾 /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
