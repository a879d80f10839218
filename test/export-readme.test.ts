// The README promises that an exported model loads on its own "with a few lines". This test
// trains a real model (ImageNet backbone from the loopback mirror), exports it, and runs the
// README's snippet, unchanged but for its paths, in a separate Node process with the model mirror
// closed (the zip carries its backbone); once for the ImageNet backbone, once for the bundled fallback.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportZip } from '../core/ml/exportZip.js';
import { ModelStore, modelFromTrainResult } from '../core/ml/models.js';
import { Predictor } from '../core/ml/predictor.js';
import { trainModel } from '../core/ml/train.js';
import { VIEWS } from '../core/ml/views.js';
import { SYNTHETIC_CLASSES, syntheticImages } from './fixtures/images.js';
import { deadUrl, REPO_ROOT, startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';

const run = promisify(execFile);
const work = mkdtempSync(path.join(os.tmpdir(), 'kodiak-export-'));
const imagenet = { guildId: 'local', name: 'shapes' };
const fallback = { guildId: 'local', name: 'fallback' };
let mirror: ModelMirror;
let photo: string;

/** The first ```js block after the "Using an exported model" heading. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using an exported model'));
  const match = section.match(/```js\n([\s\S]*?)```/);
  if (!match) throw new Error('README.md has no snippet under "Using an exported model"');
  return match[1]!;
}

async function trainAndSave(ref: typeof imagenet, mirrorUrl: string, perClass: number, epochs: number): Promise<string> {
  const images = await syntheticImages(perClass, { size: 64, seed: 11 });
  const items = images.map((img, i) => {
    const file = path.join(work, `${i}.jpg`);
    writeFileSync(file, img.bytes);
    return { id: createHash('sha256').update(img.bytes).digest('hex'), label: img.label, split: (i % 5 === 0 ? 'valid' : 'train') as 'train' | 'valid', path: file };
  });
  // Every view the product uses: the snippet must average the same four (two for the fallback).
  const result = await trainModel(items, { dataDir: work, classes: [...SYNTHETIC_CLASSES], mirrorUrl, backend: 'wasm', threads: 1, epochs, seed: 1, views: VIEWS });
  await new ModelStore(work).save(ref, modelFromTrainResult(result, { datasetRevision: 1 }));
  return result.backbone;
}

/** Unzips the export of `ref` and runs the README's snippet on `photo` in a separate Node process. */
async function runSnippet(ref: typeof imagenet): Promise<[string, number][]> {
  const { zip } = await exportZip(new ModelStore(work), ref);
  const dir = path.join(work, `${ref.name}-v1`);
  for (const [name, bytes] of Object.entries(unzipSync(zip))) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), bytes);
  }
  const script = readmeSnippet().replace("'./bears-v1'", JSON.stringify(dir)).replace("'photo.jpg'", JSON.stringify(photo));
  // Inside the repository, so `@tensorflow/tfjs` and `sharp` resolve from its node_modules.
  const file = path.join(REPO_ROOT, `.tmp-export-readme-${process.pid}.mjs`);
  writeFileSync(file, script);
  try {
    const { stdout } = await run(process.execPath, [file], { cwd: REPO_ROOT, timeout: 60_000 });
    return JSON.parse(stdout.slice(stdout.indexOf('[')).replace(/'/g, '"')) as [string, number][];
  } finally {
    rmSync(file, { force: true });
  }
}

/** What the product's own Predictor says of the photo, to compare the snippet with. */
async function predicted(ref: typeof imagenet): Promise<{ class: string; p: number }[]> {
  const predictor = new Predictor({ store: new ModelStore(work), dataDir: work, topK: 3, threshold: 0 });
  try {
    return (await predictor.predict(ref, [photo])).predictions[0]!.top;
  } finally {
    predictor.dispose();
  }
}

beforeAll(async () => {
  mirror = await startModelMirror();
  // Offline training falls back to the bundled backbone (a graph model): its export must stand
  // alone too. First, while the ImageNet backbone is not cached yet.
  expect(await trainAndSave(fallback, await deadUrl(), 4, 8)).toBe('nsfwjs_mobilenet_v2_140');
  expect(await trainAndSave(imagenet, mirror.url, 10, 20)).toBe('mobilenet_v2_035');
  const [stripes] = (await syntheticImages(1, { size: 96, seed: 99 })).filter((img) => img.label === 'blue stripes');
  photo = path.join(work, 'photo.jpg');
  writeFileSync(photo, stripes!.bytes);
  // From here on there is no network: the exports carry their backbones.
  await mirror.close();
}, 240_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
});

describe("the README's snippet for an exported model", () => {
  it('classifies a photo with plain tfjs and sharp from the unzipped export, network off (ImageNet backbone)', async () => {
    const ranked = await runSnippet(imagenet);
    const views = (JSON.parse(readFileSync(path.join(work, 'shapes-v1', 'preprocessing.json'), 'utf8')) as { viewInputs: { view: string; size: number }[] }).viewInputs;
    expect(views.map((v) => `${v.view}@${v.size}`)).toEqual(['original@224', 'mirror@224', '320px@320', '320px-mirror@320']);
    expect(ranked[0]![0]).toBe('blue stripes');
    expect(ranked.map(([, p]) => p).reduce((a, b) => a + b)).toBeCloseTo(1, 3);
    const expected = await predicted(imagenet);
    expected.forEach((e, i) => expect(ranked[i]![1]).toBeCloseTo(e.p, 3));
  }, 90_000);

  it('does the same for a model trained on the bundled fallback backbone', async () => {
    const ranked = await runSnippet(fallback);
    const views = (JSON.parse(readFileSync(path.join(work, 'fallback-v1', 'preprocessing.json'), 'utf8')) as { viewInputs: { view: string }[] }).viewInputs;
    expect(views.map((v) => v.view)).toEqual(['original', 'mirror']); // a graph model has a fixed input size
    const expected = await predicted(fallback);
    expect(ranked.map(([c]) => c)).toEqual(expected.map((e) => e.class));
    expected.forEach((e, i) => expect(ranked[i]![1]).toBeCloseTo(e.p, 3));
  }, 120_000);
});
