// The acceptance path, offline: the ImageNet backbone is downloaded from a loopback mirror of
// test/fixtures/models, images the test generates are embedded on two threads, a head is trained
// and evaluated, the model is saved, retrained after relabels from the embedding cache, and
// photos are classified after the mirror has gone away.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingCharts } from '../core/ml/charts.js';
import { ModelStore, modelFromTrainResult } from '../core/ml/models.js';
import { Predictor } from '../core/ml/predictor.js';
import { trainModel, type TrainModelResult } from '../core/ml/train.js';
import type { TrainItem } from '../core/ml/types.js';
import { SYNTHETIC_CLASSES, syntheticImages } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-train-'));
const classes = [...SYNTHETIC_CLASSES];
const ref = { guildId: '424242', name: 'shapes' };
let mirror: ModelMirror;
let items: TrainItem[];
let first: TrainModelResult;

beforeAll(async () => {
  mirror = await startModelMirror();
  const images = await syntheticImages(16, { size: 48, seed: 11 });
  items = images.map((im, i) => {
    const id = createHash('sha256').update(im.bytes).digest('hex');
    const file = path.join(dataDir, `${id}.jpg`);
    writeFileSync(file, im.bytes);
    // 6 of every 16 per class held out: 18 validation images.
    return { id, label: im.label, split: Math.floor(i / 3) % 8 < 3 ? 'valid' : 'train', path: file };
  });
});
afterAll(async () => {
  await mirror?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('trainModel end to end', () => {
  it('downloads the backbone through the mirror, embeds, trains and evaluates (accuracy >= 0.95)', async () => {
    const stages = new Set<string>();
    first = await trainModel(items, {
      dataDir, classes, mirrorUrl: mirror.url, backend: 'wasm', threads: 2, epochs: 12, seed: 3,
      onProgress: (stage) => stages.add(stage),
    });
    expect([...stages]).toEqual(['backbone', 'embedding', 'training', 'evaluation']);
    expect(mirror.requests).toEqual(['/mobilenet_v2_035/model.json', '/mobilenet_v2_035/weights.bin']);
    expect(first.backbone).toBe('mobilenet_v2_035');
    expect(first.backboneNote).toBeUndefined();
    expect(first.backend).toBe('wasm');
    expect(first.embedding).toEqual({ cached: 0, computed: 48 });
    expect(first.nValid).toBe(18);
    expect(first.nTrain).toBe(30);
    expect(first.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(first.errorRate).toBeCloseTo(1 - first.accuracy, 10);
    expect(first.confusion.flat().reduce((a, b) => a + b, 0)).toBe(18);
    for (const c of classes) expect(first.perClass[c]!.n).toBe(6);
    expect(first.curves.validAccuracy).toHaveLength(12);
  });

  it('saves a version with charts, retrains after relabels from the cache, and reports fine-tuning as skipped on wasm', async () => {
    const store = new ModelStore(dataDir);
    const charts = await trainingCharts(classes, first.confusion, first.curves);
    expect(charts.confusion.subarray(1, 4).toString()).toBe('PNG');
    const v1 = await store.save(ref, modelFromTrainResult(first, { datasetRevision: 1, createdBy: 'u1', charts }));
    expect(v1.version).toBe(1);

    const relabelled = items.map((it, i) => (i < 2 ? { ...it, label: classes[(classes.indexOf(it.label as never) + 1) % 3]! } : it));
    const second = await trainModel(relabelled, { dataDir, classes, mirrorUrl: mirror.url, backend: 'wasm', epochs: 12, seed: 3, fineTune: true });
    expect(second.embedding).toEqual({ cached: 48, computed: 0 });
    expect(mirror.requests).toHaveLength(2);
    expect(second.fineTune).toMatch(/^skipped: the wasm backend has no gradient kernels/);
    const v2 = await store.save(ref, modelFromTrainResult(second, { datasetRevision: 2 }));
    expect(v2.version).toBe(2);
  });

  it('classifies new photos offline, with the top class first, and flags non-images', async () => {
    await mirror?.close(); // from here on nothing can be downloaded
    const predictor = new Predictor({ store: new ModelStore(dataDir), dataDir, mirrorUrl: mirror.url, threshold: 0.5 });
    const fresh = await syntheticImages(2, { size: 56, seed: 77 });
    const out = await predictor.predict(ref, [...fresh.map((f) => f.bytes), Buffer.from('%PDF-1.4 not an image')], 1);
    expect(out.modelVersion).toBe(1);
    expect(out.predictions).toHaveLength(7);
    fresh.forEach((f, i) => {
      expect(out.predictions[i]!.top[0]!.class).toBe(f.label);
      expect(out.predictions[i]!.top).toHaveLength(3);
    });
    expect(out.predictions[6]).toMatchObject({ top: [], notSure: true, error: expect.stringMatching(/not an image/) });
    // An 8x8 picture, and a picture of nothing the model knows: no confident class for either.
    const tiny = await sharp(fresh[0]!.bytes).resize(8, 8).jpeg().toBuffer();
    const noise = await sharp(Buffer.from(Array.from({ length: 96 * 96 * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: 96, height: 96, channels: 3 } }).jpeg().toBuffer();
    const odd = await predictor.predict(ref, [tiny, noise], 1);
    expect(odd.predictions[0]).toMatchObject({ notSure: true, noneOfThese: true, warning: expect.stringMatching(/8 px/) });
    expect(odd.predictions[1]).toMatchObject({ notSure: true, noneOfThese: true, reason: expect.stringMatching(/far from every image/) });
    // The latest version by default, from memory the second time.
    const latest = await predictor.predict(ref, [fresh[0]!.bytes]);
    expect(latest.modelVersion).toBe(2);
    predictor.dispose();
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    const run = trainModel(items, {
      dataDir, classes, backend: 'wasm', epochs: 50, signal: controller.signal,
      onProgress: (stage, done) => stage === 'training' && done === 2 && controller.abort(new Error('cancelled by user')),
    });
    await expect(run).rejects.toThrow('cancelled by user');
  });
});
