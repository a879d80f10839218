// Views (IMAGE_VIEWS, core/ml/views.ts): each image is also embedded flipped left to right and at
// 320 px, each view cached apart from the original and reused; the head trains on every view and
// the Predictor averages its probabilities over them.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFeatures } from '../core/ml/features.js';
import { ModelStore, modelFromTrainResult } from '../core/ml/models.js';
import { Predictor } from '../core/ml/predictor.js';
import { trainModel } from '../core/ml/train.js';
import { backboneSpec } from '../core/ml/backbones/registry.js';
import { VIEWS, viewsFor } from '../core/ml/views.js';
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

describe('views', () => {
  it('are embedded once, each cached apart from the original view, and reused', async () => {
    const opts = { dataDir, classes, mirrorUrl: mirror.url, backend: 'wasm' as const, threads: 1, views: VIEWS };
    const first = await datasetFeatures(items, opts);
    expect(first.views.map((v) => v.view)).toEqual(['original', 'mirror', '320px', '320px-mirror']);
    expect(first.embedding).toEqual({ cached: 0, computed: 48 });
    for (const v of first.views) expect(v.train.ids).toEqual(first.train.ids);
    // The pictures are not symmetric, and 320 px shows the backbone more detail.
    expect(first.views[1]!.train.X).not.toEqual(first.train.X);
    expect(first.views[2]!.train.X).not.toEqual(first.train.X);
    expect(first.views[3]!.train.X).not.toEqual(first.views[2]!.train.X);
    const again = await datasetFeatures(items, opts);
    expect(again.embedding).toEqual({ cached: 48, computed: 0 });
    for (const [k, v] of again.views.entries()) expect(v.valid.X).toEqual(first.views[k]!.valid.X);
  }, 120_000);

  it('at 320 px only where the backbone is fully convolutional (not the bundled fallback)', () => {
    expect(viewsFor(backboneSpec('mobilenet_v2_035')!, VIEWS)).toEqual([...VIEWS]);
    expect(viewsFor(backboneSpec('nsfwjs_mobilenet_v2_140')!, VIEWS)).toEqual(['original', 'mirror']);
    expect(viewsFor(backboneSpec('mobilenet_v2_035')!, ['mirror'])).toEqual(['original', 'mirror']);
  });

  it('trains on every view and predicts with their average', async () => {
    const r = await trainModel(items, { dataDir, classes, mirrorUrl: mirror.url, backend: 'wasm', threads: 1, epochs: 5, seed: 1, views: VIEWS });
    expect(r.preprocessing.views).toEqual([...VIEWS]);
    expect(r.embedding.cached).toBe(48);
    expect(r.nTrain).toBe(9); // images, not rows: each image is four rows
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
