import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../core/ml/backend.js';
import { MINUS_ONE_TO_ONE } from '../core/ml/backbones/registry.js';
import { exportZip } from '../core/ml/exportZip.js';
import { trainHead, type TrainedHead } from '../core/ml/head.js';
import { ModelStore, type NewModel } from '../core/ml/models.js';
import { topClasses } from '../core/ml/predictor.js';
import { gaussianClusters } from './fixtures/features.js';
import { startModelMirror } from './fixtures/modelMirror.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-models-'));
const ref = { guildId: '123456', name: 'bears' };
const dim = 16;
const data = gaussianClusters({ n: 90, dim, nClasses: 3, seed: 4 });
let head: TrainedHead;

function newModel(): NewModel {
  return {
    classes: ['grizzly', 'black', 'teddy'],
    backbone: 'mobilenet_v2_035',
    backend: 'wasm',
    preprocessing: { backbone: 'mobilenet_v2_035', inputSize: 224, normalisation: MINUS_ONE_TO_ONE, featureSize: dim, resize: 'shorter-side-then-centre-crop' },
    metrics: { accuracy: 1, errorRate: 0, loss: 0.1, perClass: {}, confusion: [], nTrain: 72, nValid: 18 },
    datasetRevision: 7,
    seed: 42,
    epochs: 5,
    lr: 3e-3,
  };
}

beforeAll(async () => {
  await initBackend('wasm');
  head = await trainHead(data.X, data.y, { nClasses: 3, dim, epochs: 4, hidden: 8 });
});
afterAll(() => {
  head.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ModelStore', () => {
  it('numbers versions, even when two trainings finish at once, and reads them back', async () => {
    const store = new ModelStore(dataDir);
    const [a, b] = await Promise.all([
      store.save(ref, { ...newModel(), head: head.toJSON(), charts: { confusion: new Uint8Array([1, 2, 3]) } }),
      store.save(ref, { ...newModel(), head: head.toJSON() }),
    ]);
    expect([a.version, b.version].sort()).toEqual([1, 2]);
    expect((await store.list(ref)).map((m) => m.version)).toEqual([1, 2]);
    expect((await store.get(ref))!.version).toBe(2);
    expect((await store.get(ref, 1))!.datasetRevision).toBe(7);
    const withChart = a.charts.length ? a : b;
    expect(store.chartPath(ref, withChart.version, 'confusion')).toMatch(/v\d\/confusion\.png$/);
    await expect(store.require(ref, 9)).rejects.toThrow(/no model version 9/);
    await expect(store.require({ ...ref, name: 'cats' })).rejects.toThrow(/no trained model for "cats"/);
    expect(() => store.datasetDir({ guildId: '..', name: 'x' })).toThrow(/invalid guild id/);
  });

  it('keeps the active model per channel', async () => {
    const store = new ModelStore(dataDir);
    expect(await store.getActive(ref.guildId, 'chan1')).toBeUndefined();
    await store.setActive(ref.guildId, 'chan1', { dataset: ref, version: 1, setBy: 'u1' });
    expect(await store.getActive(ref.guildId, 'chan1')).toMatchObject({ dataset: ref, version: 1 });
    await expect(store.setActive(ref.guildId, 'chan2', { dataset: { ...ref, name: 'nope' } })).rejects.toThrow(/no trained model/);
    await expect(store.setActive('999999', 'chan2', { dataset: ref })).rejects.toThrow(/own server/);
    await store.clearActive(ref.guildId, 'chan1');
    expect(await store.getActive(ref.guildId, 'chan1')).toBeUndefined();
  });
});

describe('exportZip', () => {
  it('holds a head that loads with plain tfjs and predicts like the trained head', async () => {
    const store = new ModelStore(dataDir);
    const mirror = await startModelMirror();
    const { zip, fileName, meta } = await exportZip(store, ref, undefined, { mirrorUrl: mirror.url }).finally(() => mirror.close());
    expect(fileName).toBe(`bears-v${meta.version}.zip`);
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['README.md', 'backbone/model.json', 'backbone/weights.bin', 'classes.json', 'metrics.json', 'model.json', 'preprocessing.json', 'weights.bin']);
    expect(JSON.parse(strFromU8(files['classes.json']!))).toEqual(['grizzly', 'black', 'teddy']);
    expect(JSON.parse(strFromU8(files['preprocessing.json']!))).toMatchObject({ inputSize: 224, backboneUrl: expect.stringContaining('0.35_224_no_top/model.json') });
    expect(strFromU8(files['README.md']!)).toContain("tf.loadLayersModel(fromFiles('model.json', 'weights.bin'))");

    const json = JSON.parse(strFromU8(files['model.json']!));
    const w = files['weights.bin']!;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: w.slice().buffer }),
    );
    const exported = tf.tidy(() => (model.predict(tf.tensor2d(data.X, [90, dim])) as tf.Tensor).dataSync() as Float32Array);
    const expected = head.predictProba(data.X);
    exported.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    model.dispose();
  });
});

describe('topClasses', () => {
  it('sorts and cuts', () => {
    expect(topClasses(Float32Array.from([0.1, 0.7, 0.2]), ['a', 'b', 'c'], 2)).toEqual([
      { class: 'b', p: expect.closeTo(0.7, 5) },
      { class: 'c', p: expect.closeTo(0.2, 5) },
    ]);
  });
});
