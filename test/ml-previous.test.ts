// Honest before -> after: when a training replaces a model version, the earlier version is scored
// on the new version's validation images with the current labels. Here the validation set changes
// between the versions (new images arrive, a validation image is relabelled), so the earlier
// version's recorded accuracy and its accuracy on the new validation set differ.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { ModelStore } from '../core/ml/models.js';
import { Predictor } from '../core/ml/predictor.js';
import { trainDataset, trainReport } from '../core/ml/trainDataset.js';
import { FileBlobStore, sha256Hex } from '../core/store/blobs.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import { SYNTHETIC_CLASSES, syntheticImages } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-previous-'));
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const ref = { guildId: 'g1', name: 'shapes' };
let mirror: ModelMirror;
let services: Parameters<typeof trainDataset>[0];

async function addImages(perClass: number, seed: number, to = ref): Promise<void> {
  for (const im of await syntheticImages(perClass, { size: 48, seed })) {
    const id = await services.blobs.put(im.bytes);
    // Far-apart perceptual hashes: these tests are not about near-duplicates.
    const out = await services.datasets.addItem(to, { id, label: im.label, source: { kind: 'import' }, width: 48, height: 48, bytes: im.bytes.length, phash: sha256Hex(im.bytes).slice(0, 16) });
    expect(out.outcome).toBe('added');
  }
}

beforeAll(async () => {
  await redis.connect();
  mirror = await startModelMirror();
  const config = loadConfig({ DATA_DIR: dataDir, MODEL_MIRROR_URL: mirror.url, QUEUE_PREFIX: prefix, EMBED_THREADS: '1', TF_BACKEND: 'wasm' });
  services = { config, datasets: new RedisDatasetStore(redis, prefix, { seed: 1, validPct: 0.2 }), blobs: new FileBlobStore(path.join(dataDir, 'blobs')), models: new ModelStore(dataDir) };
  await services.datasets.create(ref, [...SYNTHETIC_CLASSES], 'u');
  await addImages(10, 5);
});

afterAll(async () => {
  await mirror?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('before -> after', () => {
  it('scores the replaced version on the new version\'s validation images with the current labels', async () => {
    const first = trainReport(ref, await trainDataset(services, ref, { epochs: 6 }));
    expect(first.previous).toBeUndefined();

    // The validation set changes: more images, and a validation image gets another label.
    await addImages(5, 77);
    const validBefore = (await services.datasets.items(ref)).filter((it) => it.split === 'valid');
    const moved = validBefore[0]!;
    const other = SYNTHETIC_CLASSES.find((c) => c !== moved.label)!;
    expect((await services.datasets.relabel(ref, moved.id, other)).ok).toBe(true);

    const second = trainReport(ref, await trainDataset(services, ref, { epochs: 6 }));
    const valid = (await services.datasets.items(ref)).filter((it) => it.split === 'valid');
    expect(second.nValid).toBe(valid.length);
    // What v1 gets right on exactly these images, labelled as they are now.
    const predictor = new Predictor({ store: services.models, dataDir, topK: 1 });
    const out = await predictor.predict(ref, valid.map((it) => services.blobs.path(it.id)), 1);
    predictor.dispose();
    const right = out.predictions.filter((p, i) => p.top[0]!.class === valid[i]!.label).length;
    expect(right).toBeLessThan(valid.length); // the relabelled image is a miss under its new label
    expect(second.previous).toEqual({ modelVersion: 1, accuracy: right / valid.length });
    // The model version keeps it, for /model info and `kodiak model info`.
    expect((await services.models.get(ref, 2))!.previous).toEqual(second.previous);
  }, 240_000);
});

describe('a dataset that disappears while it trains', () => {
  it('saves no version for a dataset deleted while it trained', async () => {
    const doomed = { guildId: 'g1', name: 'doomed' };
    await services.datasets.create(doomed, [...SYNTHETIC_CLASSES], 'u');
    await addImages(4, 9, doomed);
    let deleting: Promise<void> | undefined;
    // Deleted (as Redis losing it would) as soon as training is under way.
    const training = trainDataset(services, doomed, { epochs: 2 }, () => (deleting ??= services.datasets.delete(doomed)));
    await expect(training).rejects.toThrow(/deleted while it was training: no model was saved/);
    await deleting;
    expect(await services.models.list(doomed)).toEqual([]);
  }, 240_000);
});
