import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../core/ml/backend.js';
import { loadBackbone, resolveBackbone, type BackboneSource } from '../core/ml/backbones/index.js';
import { EmbeddingCache } from '../core/ml/embedCache.js';
import { EmbedPool, embedItems, type EmbedItem } from '../core/ml/embedPool.js';
import { decodeRgb, toBatchTensor } from '../core/ml/preprocess.js';
import { syntheticImages } from './fixtures/images.js';
import { createHash } from 'node:crypto';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-embed-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let source: BackboneSource;
let items: EmbedItem[];
let images: Buffer[];
let pool: EmbedPool;

beforeAll(async () => {
  await initBackend('wasm');
  // The bundled model needs no server; the download path has its own tests.
  source = (await resolveBackbone('nsfwjs_mobilenet_v2', { dataDir })).source;
  images = (await syntheticImages(3, { size: 40 })).map((i) => i.bytes);
  items = images.map((bytes) => ({ id: sha(bytes), input: { kind: 'bytes', bytes } }));
  // One pool for the file: starting threads costs seconds on a busy machine.
  pool = await EmbedPool.start({ source, featureSize: 1280, threads: 2, backend: 'wasm' });
});
afterAll(async () => {
  await pool?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('embedItems on worker threads', () => {
  it('embeds on two threads like the main thread does, reports undecodable images, caches, and reuses the cache', async () => {
    const cache = new EmbeddingCache(dataDir, 'nsfwjs_mobilenet_v2', 1280);
    const progress: [number, number][] = [];
    const junk = Buffer.from('this is not an image');
    const withJunk: EmbedItem[] = [...items.slice(0, 5), { id: sha(junk), input: { kind: 'bytes', bytes: junk } }, ...items.slice(5)];
    const first = await pool.embed(withJunk, { batchSize: 2, cache, onProgress: (d, t) => progress.push([d, t]) });
    expect(first.computed).toBe(9);
    expect(first.cached).toBe(0);
    expect(first.failed.get(sha(junk))).toMatch(/unsupported image format|Input buffer/i);
    expect(first.features.has(sha(junk))).toBe(false);
    expect(progress.at(-1)).toEqual([10, 10]);
    expect(progress.map((p) => p[0])).toEqual([...progress.map((p) => p[0])].sort((a, b) => a - b));

    // Same numbers as embedding in this thread.
    const backbone = await loadBackbone(source);
    const batch = toBatchTensor(await decodeRgb(images[4]!, 224), 224, backbone.normalisation);
    const direct = backbone.embed(batch);
    batch.dispose();
    backbone.dispose();
    const pooled = first.features.get(items[4]!.id)!;
    direct.forEach((v, i) => expect(pooled[i]).toBeCloseTo(v, 4));

    // A new image plus the old ones: only the new one is embedded.
    const extra = (await syntheticImages(1, { size: 40, seed: 99 }))[0]!.bytes;
    const second = await pool.embed([...items, { id: sha(extra), input: { kind: 'bytes', bytes: extra } }], { cache });
    expect(second.cached).toBe(9);
    expect(second.computed).toBe(1);
    expect(Array.from(second.features.get(items[4]!.id)!)).toEqual(Array.from(pooled));
    // Everything cached: embedItems does not even start threads.
    const third = await embedItems(items, { source, featureSize: 1280, cache, threads: 0 });
    expect(third).toMatchObject({ cached: 9, computed: 0 });
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    const run = pool.embed(items, {
      batchSize: 1, signal: controller.signal,
      onProgress: (done) => done >= 1 && controller.abort(new Error('cancelled')),
    });
    await expect(run).rejects.toThrow('cancelled');
    await expect(embedItems(items, { source, featureSize: 1280, signal: AbortSignal.abort(new Error('too late')) })).rejects.toThrow('too late');
  });
});
