// The fine-tuning loop on the cpu backend (which has the convolution gradient kernels wasm
// lacks) with a tiny conv "backbone", so it runs in seconds.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../core/ml/backend.js';
import { ZERO_TO_ONE, type Backbone } from '../core/ml/backbones/index.js';
import { fineTuneBackbone, fineTuneUnavailable } from '../core/ml/finetune.js';
import { trainHead } from '../core/ml/head.js';
import { decodeRgb, toBatchTensor } from '../core/ml/preprocess.js';
import { syntheticImages } from './fixtures/images.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { exportZip } from '../core/ml/exportZip.js';
import { ModelStore } from '../core/ml/models.js';
import { Predictor } from '../core/ml/predictor.js';

const SIZE = 12;

function tinyBackbone(): Backbone {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  const conv = tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input);
  const pooled = tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor;
  const featureModel = tf.model({ inputs: input, outputs: pooled });
  return {
    id: 'tiny', inputSize: SIZE, normalisation: ZERO_TO_ONE, featureSize: 6, featureModel,
    embed: (batch) => tf.tidy(() => (featureModel.predict(batch) as tf.Tensor).dataSync() as Float32Array),
    dispose: () => featureModel.dispose(),
  };
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('fine-tuning', () => {
  it('says why it is skipped on wasm', () => {
    const wasm: BackendInfo = { name: 'wasm', provider: 'x', fineTuneCapable: false, threads: 1, skipped: [] };
    expect(fineTuneUnavailable(wasm)).toMatch(/Conv2DBackpropFilter.*tfjs-node/);
    expect(fineTuneUnavailable({ ...wasm, name: 'tensorflow', fineTuneCapable: true })).toBeUndefined();
  });

  it('trains backbone and head together with discriminative rates, and exports a loadable backbone', async () => {
    const images = await syntheticImages(8, { size: 32, seed: 5 });
    const samples = images.map((im) => ({ input: im.bytes, y: im.classIndex }));
    const train = samples.slice(0, 18);
    const valid = samples.slice(18);
    const backbone = tinyBackbone();
    const pixels = await Promise.all(train.map((s) => decodeRgb(s.input, SIZE)));
    const all = new Uint8Array(pixels.length * SIZE * SIZE * 3);
    pixels.forEach((p, i) => all.set(p, i * SIZE * SIZE * 3));
    const batch = toBatchTensor(all, SIZE, ZERO_TO_ONE);
    const X = backbone.embed(batch);
    batch.dispose();
    const head = await trainHead(X, Int32Array.from(train, (s) => s.y), { nClasses: 3, dim: 6, epochs: 3, lr: 1e-2 });
    const before = backbone.featureModel!.getWeights()[0]!.dataSync().slice();

    const epochs: number[] = [];
    const r = await fineTuneBackbone({
      backbone, head: head.toJSON(), classes: ['a', 'b', 'c'], train, valid, epochs: 4, lr: 1e-2, batchSize: 6, seed: 1,
      onEpoch: (e) => epochs.push(e.epoch),
    });
    head.dispose();
    expect(epochs).toEqual([1, 2, 3, 4]);
    expect(r.lrs).toEqual([1e-4, 1e-3, 1e-2]);
    expect(r.history.at(-1)!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    expect(r.validProba.length).toBe(valid.length * 3);
    const after = backbone.featureModel!.getWeights()[0]!.dataSync();
    expect(Array.from(after)).not.toEqual(Array.from(before));

    // The saved backbone reproduces the tuned features.
    const m = r.backboneArtifacts.modelJson as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
    const reloaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: m.modelTopology, weightSpecs: m.weightsManifest[0]!.weights, weightData: r.backboneArtifacts.weights.slice().buffer }),
    );
    const probe = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 9);
    const a = (backbone.featureModel!.predict(probe) as tf.Tensor).dataSync();
    const b = (reloaded.predict(probe) as tf.Tensor).dataSync();
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
    reloaded.dispose();

    // Saved as a model version, the tuned backbone is what the Predictor uses for that version.
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-ft-'));
    try {
      const store = new ModelStore(dataDir);
      const ref = { guildId: 'g1', name: 'tuned' };
      const meta = await store.save(ref, {
        head: r.head, backboneArtifacts: r.backboneArtifacts, classes: ['a', 'b', 'c'], backbone: 'mobilenet_v2_035', backend: 'cpu',
        preprocessing: { backbone: 'mobilenet_v2_035', inputSize: SIZE, normalisation: ZERO_TO_ONE, featureSize: 6, resize: 'shorter-side-then-centre-crop' },
        metrics: { accuracy: 1, errorRate: 0, loss: 0, perClass: {}, confusion: [], nTrain: 18, nValid: 6 },
        datasetRevision: 1, seed: 1, epochs: 4, lr: 1e-2, fineTune: 'done',
      });
      expect(meta.tunedBackbone).toBe(true);
      const predictor = new Predictor({ store, dataDir, threshold: 0 });
      const out = await predictor.predict(ref, valid.map((v) => v.input));
      const expected = Array.from({ length: valid.length }, (_, i) => {
        const row = Array.from(r.validProba.subarray(i * 3, i * 3 + 3));
        return ['a', 'b', 'c'][row.indexOf(Math.max(...row))];
      });
      expect(out.predictions.map((p) => p.top[0]!.class)).toEqual(expected);
      out.predictions.forEach((p, i) => expect(p.top[0]!.p).toBeCloseTo(Math.max(...r.validProba.subarray(i * 3, i * 3 + 3)), 4));
      predictor.dispose();
      const zip = await exportZip(store, ref);
      expect(Object.keys(unzipSync(zip.zip))).toContain('backbone/model.json');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    backbone.dispose();
  });
});
