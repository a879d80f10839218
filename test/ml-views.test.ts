// The mirror view (MIRROR_VIEW): each image is also embedded flipped left to right, cached apart
// from the original view and reused; the head trains on both views and the Predictor averages its
// probabilities over them.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFeatures } from '../core/ml/features.js';
import { ModelStore, modelFromTrainResult } from '../core/ml/models.js';
import { Predictor } from '../core/ml/predictor.js';
import { trainModel } from '../core/ml/train.js';
import type { TrainItem } from '../core/ml/types.js';
import { SYNTHETIC_CLASSES, syntheticImages } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-views-'));
const classes = [...SYNTHETIC_CLASSES];
let mirror: ModelMirror;
let items: TrainItem[];

beforeAll(async () => {
  mirror = await startModelMirror();
  items = (await syntheticImages(4, { size: 48, seed: 21 })).map((im, i) => {
    const id = createHash('sha256').update(im.bytes).digest('hex');
    const file = path.join(dataDir, `${id}.jpg`);
    writeFileSync(file, im.bytes);
    return { id, label: im.label, split: i % 4 === 0 ? 'valid' : 'train', path: file };
  });
});
afterAll(async () => {
  await mirror?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the mirror view', () => {
  it('is embedded once, cached apart from the original view, and reused', async () => {
    const opts = { dataDir, classes, mirrorUrl: mirror.url, backend: 'wasm' as const, threads: 1, mirror: true };
    const first = await datasetFeatures(items, opts);
    expect(first.embedding).toEqual({ cached: 0, computed: 24 });
    expect(first.mirror!.train.ids).toEqual(first.train.ids);
    expect(first.mirror!.train.X).not.toEqual(first.train.X); // the pictures are not symmetric
    const again = await datasetFeatures(items, opts);
    expect(again.embedding).toEqual({ cached: 24, computed: 0 });
    expect(again.mirror!.valid.X).toEqual(first.mirror!.valid.X);
  }, 120_000);

  it('trains on both views and predicts with their average', async () => {
    const r = await trainModel(items, { dataDir, classes, mirrorUrl: mirror.url, backend: 'wasm', threads: 1, epochs: 5, seed: 1, mirror: true });
    expect(r.preprocessing.views).toEqual(['original', 'mirror']);
    expect(r.embedding.cached).toBe(24);
    expect(r.nTrain).toBe(9); // images, not rows: each image is two rows
    const ref = { guildId: 'g', name: 'views' };
    const store = new ModelStore(dataDir);
    await store.save(ref, modelFromTrainResult(r, { datasetRevision: 1 }));
    const predictor = new Predictor({ store, dataDir, topK: 3, threshold: 0 });
    const out = await predictor.predict(ref, items.map((it) => it.path));
    predictor.dispose();
    for (const p of out.predictions) expect(p.top.reduce((s, t) => s + t.p, 0)).toBeCloseTo(1, 4);
    const right = out.predictions.filter((p, i) => p.top[0]!.class === items[i]!.label).length;
    expect(right).toBeGreaterThanOrEqual(10);
  }, 120_000);
});
