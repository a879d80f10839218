import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../core/errors.js';
import { initBackend } from '../core/ml/backend.js';
import { datasetFeatures } from '../core/ml/features.js';
import { BACKBONES, backboneStatus, cacheDirOf, ensureDownloaded, loadBackbone, resolveBackbone, type Backbone, type BundledSpec, type DownloadSpec } from '../core/ml/backbones/index.js';
import { bundledArtifacts } from '../core/ml/backbones/bundled.js';
import { decodeRgb, toBatchTensor } from '../core/ml/preprocess.js';
import { deadUrl, TEST_MODELS, startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { syntheticImages } from './fixtures/images.js';

const dirs: string[] = [];
const freshDataDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'kodiak-bb-'));
  dirs.push(d);
  return d;
};
let mirror: ModelMirror;
let image: Buffer;

beforeAll(async () => {
  const backend = await initBackend('auto');
  // tfjs-node(-gpu) are optional and not installed here: auto lands on wasm and says why.
  expect(backend).toMatchObject({ name: 'wasm', fineTuneCapable: false, threads: 1 });
  expect(backend.skipped).toEqual([expect.stringMatching(/^tensorflow-gpu: .*tfjs-node-gpu/), expect.stringMatching(/^tensorflow: .*tfjs-node/)]);
  await expect(initBackend('tensorflow')).rejects.toThrow(/no tfjs backend could be initialised \(tensorflow: /);
  mirror = await startModelMirror();
  image = (await syntheticImages(1, { size: 40 }))[0]!.bytes;
});
afterAll(async () => {
  await mirror?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function embedOne(backbone: Backbone): Promise<Float32Array> {
  const batch = toBatchTensor(await decodeRgb(image, backbone.inputSize), backbone.inputSize, backbone.normalisation);
  try {
    return backbone.embed(batch);
  } finally {
    batch.dispose();
  }
}

describe('downloadable backbone through MODEL_MIRROR_URL', () => {
  it('downloads once, checks, caches, and embeds', async () => {
    mirror.fault = 'none';
    const dataDir = freshDataDir();
    const before = mirror.requests.length;
    const resolved = await resolveBackbone('mobilenet_v2_035', { dataDir, mirrorUrl: mirror.url });
    expect(resolved.note).toBeUndefined();
    expect(resolved.source.dir).toBe(cacheDirOf(dataDir, 'mobilenet_v2_035'));
    expect(mirror.requests.slice(before)).toEqual(['/mobilenet_v2_035/model.json', '/mobilenet_v2_035/weights.bin']);
    // The second time comes from the cache: no request.
    await resolveBackbone('mobilenet_v2_035', { dataDir, mirrorUrl: mirror.url });
    expect(mirror.requests.length).toBe(before + 2);
    const backbone = await loadBackbone(resolved.source);
    const features = await embedOne(backbone);
    expect(features.length).toBe(1280);
    expect(features.every(Number.isFinite)).toBe(true);
    expect(features.some((v) => v > 0)).toBe(true);
    backbone.dispose();
  });

  it('honours a sha256 pin of model.json', async () => {
    mirror.fault = 'none';
    const pin = createHash('sha256').update(readFileSync(path.join(TEST_MODELS, 'mobilenet_v2_035_imagenet/model.json'))).digest('hex');
    const ok = await resolveBackbone('mobilenet_v2_035', { dataDir: freshDataDir(), mirrorUrl: mirror.url, sha256: pin });
    expect(ok.note).toBeUndefined();
    await expect(
      resolveBackbone('mobilenet_v2_035', { dataDir: freshDataDir(), mirrorUrl: mirror.url, sha256: '0'.repeat(64), allowFallback: false }),
    ).rejects.toThrow(/BACKBONE_SHA256/);
  });

  it('a connection cut mid-body leaves no cache, and training falls back with a note', async () => {
    mirror.fault = 'cut-weights';
    const dataDir = freshDataDir();
    await expect(resolveBackbone('mobilenet_v2_035', { dataDir, mirrorUrl: mirror.url, allowFallback: false })).rejects.toThrow();
    expect(existsSync(cacheDirOf(dataDir, 'mobilenet_v2_035'))).toBe(false);
    const models = path.join(dataDir, 'models');
    expect(existsSync(models) ? readdirSync(models).filter((name) => name.startsWith('.tmp')) : []).toEqual([]);
    const fallback = await resolveBackbone('mobilenet_v2_035', { dataDir, mirrorUrl: mirror.url });
    expect(fallback.source.spec.id).toBe('nsfwjs_mobilenet_v2_140');
    expect(fallback.note).toMatch(/could not be downloaded/);
    // Once the mirror is healthy again the real backbone is fetched and cached.
    mirror.fault = 'none';
    const healed = await resolveBackbone('mobilenet_v2_035', { dataDir, mirrorUrl: mirror.url });
    expect(healed.note).toBeUndefined();
  });

  it('a model with other shapes is refused and not cached', async () => {
    mirror.fault = 'wrong-shape';
    const dataDir = freshDataDir();
    await expect(resolveBackbone('mobilenet_v2_035', { dataDir, mirrorUrl: mirror.url, allowFallback: false })).rejects.toThrow(
      /output shape \[null,7,7,112\], expected \[null,7,7,1280\]/,
    );
    expect(existsSync(cacheDirOf(dataDir, 'mobilenet_v2_035'))).toBe(false);
    mirror.fault = 'none';
  });

  it('server down: falls back to the bundled MobileNetV2-1.4 and says so', async () => {
    const resolved = await resolveBackbone('mobilenet_v2_035', { dataDir: freshDataDir(), mirrorUrl: await deadUrl() });
    expect(resolved.source.spec.id).toBe('nsfwjs_mobilenet_v2_140');
    expect(resolved.note).toMatch(/ImageNet MobileNetV2-0.35 could not be downloaded .*; used MobileNetV2-1.4 bundled with nsfwjs instead/);
    expect(resolved.note).not.toMatch(/bundled.*bundled/);
    expect(backboneStatus()).toMatchObject({ requested: 'mobilenet_v2_035', used: 'nsfwjs_mobilenet_v2_140', note: resolved.note });
  });

  it('a backbone named explicitly that cannot be loaded stops training with its name; the default falls back', async () => {
    const opts = { dataDir: freshDataDir(), classes: ['a', 'b'], mirrorUrl: await deadUrl(), backend: 'cpu' as const };
    const err = await datasetFeatures([], { ...opts, backbone: 'mobilenet_v2_035' }).then(() => undefined, (e: unknown) => e);
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toMatch(/the backbone named "mobilenet_v2_035" could not be loaded/);
    const unnamed = await datasetFeatures([], opts);
    expect(unnamed.source.spec.id).toBe('nsfwjs_mobilenet_v2_140');
    expect(unnamed.backboneNote).toMatch(/could not be downloaded/);
  });

  it('an unknown backbone is a user error', async () => {
    await expect(resolveBackbone('resnet9000', { dataDir: freshDataDir() })).rejects.toThrow(/unknown backbone "resnet9000"/);
  });
});

describe('downloadable graph model', () => {
  it('downloads a GraphModel (weights with the query string kept), checks the feature node, and embeds', async () => {
    // Serve nsfwjs's MobileNetV2-1.4 as plain files, as TF Hub would serve a graph model.
    const spec = BACKBONES.nsfwjs_mobilenet_v2_140 as BundledSpec;
    const artifacts = bundledArtifacts(spec);
    const folder = freshDataDir();
    const json = { format: 'graph-model', modelTopology: artifacts.modelTopology, signature: artifacts.signature, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }] };
    writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
    writeFileSync(path.join(folder, 'group1-shard1of1.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
    const graphMirror = await startModelMirror('none', { graph_test: folder });
    try {
      const dl: DownloadSpec = {
        id: 'graph_test', title: 'graph test', kind: 'download', format: 'graph', url: `${graphMirror.url}/graph_test/model.json?tfjs-format=file`,
        inputSize: 224, normalisation: spec.normalisation, featureSize: 1792, outputShape: [null, 1792], featureNode: spec.featureNode, pool: false,
      };
      const dataDir = freshDataDir();
      const dir = await ensureDownloaded(dl, { dataDir });
      expect(graphMirror.requests).toEqual(['/graph_test/model.json?tfjs-format=file', '/graph_test/group1-shard1of1.bin?tfjs-format=file']);
      const backbone = await loadBackbone({ spec: dl, dir });
      expect((await embedOne(backbone)).length).toBe(1792);
      backbone.dispose();
      await expect(ensureDownloaded({ ...dl, id: 'graph_test2', outputShape: [null, 1280] }, { dataDir })).rejects.toThrow(
        /output shape \[1,1792\], expected \[null,1280\]/,
      );
    } finally {
      await graphMirror.close();
    }
  });
});

describe('bundled nsfwjs backbones', () => {
  it.each([
    ['nsfwjs_mobilenet_v2', 1280],
    ['nsfwjs_mobilenet_v2_140', 1792],
  ])('%s loads from the package files and gives %i features', async (id, size) => {
    const { source, note } = await resolveBackbone(id, { dataDir: freshDataDir() });
    expect(note).toBeUndefined();
    const backbone = await loadBackbone(source);
    expect(backbone.featureSize).toBe(size);
    const features = await embedOne(backbone);
    expect(features.length).toBe(size);
    expect(features.every(Number.isFinite)).toBe(true);
    backbone.dispose();
  });
});
