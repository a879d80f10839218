// The README promises that an exported model loads on its own "with a few lines". This test
// trains a real model (ImageNet backbone from the loopback mirror), exports it, and runs the
// README's snippet, unchanged but for its paths, in a separate Node process.
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
import { trainModel } from '../core/ml/train.js';
import { SYNTHETIC_CLASSES, syntheticImages } from './fixtures/images.js';
import { REPO_ROOT, startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';

const run = promisify(execFile);
const work = mkdtempSync(path.join(os.tmpdir(), 'kodiak-export-'));
const ref = { guildId: 'local', name: 'shapes' };
let mirror: ModelMirror;

/** The first ```js block after the "Using an exported model" heading. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using an exported model'));
  const match = section.match(/```js\n([\s\S]*?)```/);
  if (!match) throw new Error('README.md has no snippet under "Using an exported model"');
  return match[1]!;
}

beforeAll(async () => {
  mirror = await startModelMirror();
  const images = await syntheticImages(10, { size: 64, seed: 11 });
  const items = images.map((img, i) => {
    const file = path.join(work, `${i}.jpg`);
    writeFileSync(file, img.bytes);
    return { id: createHash('sha256').update(img.bytes).digest('hex'), label: img.label, split: (i % 5 === 0 ? 'valid' : 'train') as 'train' | 'valid', path: file };
  });
  const result = await trainModel(items, { dataDir: work, classes: [...SYNTHETIC_CLASSES], mirrorUrl: mirror.url, backend: 'wasm', threads: 1, epochs: 20, seed: 1 });
  await new ModelStore(work).save(ref, modelFromTrainResult(result, { datasetRevision: 1 }));
}, 120_000);

afterAll(async () => {
  await mirror?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("the README's snippet for an exported model", () => {
  it('classifies a photo with plain tfjs and sharp from the unzipped export', async () => {
    const { zip } = await exportZip(new ModelStore(work), ref);
    const dir = path.join(work, 'shapes-v1');
    mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(unzipSync(zip))) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), bytes);
    }
    // The export names the backbone's public URL; offline, the same files come from the mirror.
    const pre = JSON.parse(readFileSync(path.join(dir, 'preprocessing.json'), 'utf8'));
    expect(pre.backboneUrl).toMatch(/^https:\/\/.*model\.json$/);
    writeFileSync(path.join(dir, 'preprocessing.json'), JSON.stringify({ ...pre, backboneUrl: `${mirror.url}/mobilenet_v2_035/model.json` }));

    const [stripes] = (await syntheticImages(1, { size: 96, seed: 99 })).filter((img) => img.label === 'blue stripes');
    const photo = path.join(work, 'photo.jpg');
    writeFileSync(photo, stripes!.bytes);

    const script = readmeSnippet().replace("'./bears-v1'", JSON.stringify(dir)).replace("'photo.jpg'", JSON.stringify(photo));
    // Inside the repository, so `@tensorflow/tfjs` and `sharp` resolve from its node_modules.
    const file = path.join(REPO_ROOT, `.tmp-export-readme-${process.pid}.mjs`);
    writeFileSync(file, script);
    try {
      const { stdout } = await run(process.execPath, [file], { cwd: REPO_ROOT, timeout: 60_000 });
      const ranked = JSON.parse(stdout.slice(stdout.indexOf('[')).replace(/'/g, '"')) as [string, number][];
      expect(ranked[0]![0]).toBe('blue stripes');
      expect(ranked.map(([, p]) => p).reduce((a, b) => a + b)).toBeCloseTo(1, 3);
    } finally {
      rmSync(file, { force: true });
    }
  }, 90_000);
});
