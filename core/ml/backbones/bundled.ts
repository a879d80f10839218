// The MobileNetV2 models the nsfwjs package ships, read from its files directly: its own loader
// decodes the weights char by char (~4 s); requiring model.min.js and the shards takes ~40 ms.
// Its `exports` map blocks deep imports, so the folder is found from require.resolve('nsfwjs').
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { toArtifacts, type ModelJson } from './artifacts.js';
import type { BundledSpec } from './registry.js';

const require = createRequire(import.meta.url);

export function nsfwjsModelsDir(): string {
  // .../nsfwjs/dist/cjs/index.js -> .../nsfwjs/dist/models
  return path.join(path.dirname(require.resolve('nsfwjs')), '..', 'models');
}

export function bundledArtifacts(spec: BundledSpec): tf.io.ModelArtifacts {
  const dir = path.join(nsfwjsModelsDir(), spec.folder);
  const json = require(path.join(dir, 'model.min.js')) as ModelJson;
  const shards: Buffer[] = [];
  for (let i = 1; i <= spec.shards; i++) {
    const base64 = require(path.join(dir, `group1-shard${i}of${spec.shards}.min.js`)) as unknown;
    if (typeof base64 !== 'string') throw new Error(`nsfwjs shard ${i} of ${spec.folder} is not a base64 string`);
    shards.push(Buffer.from(base64, 'base64'));
  }
  return toArtifacts(json, Buffer.concat(shards));
}
