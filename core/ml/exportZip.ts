// /model export: a zip that loads on its own. The head becomes a plain tfjs LayersModel (the
// input standardisation folded into its first Dense layer, softmax at the end), next to
// classes.json, preprocessing.json (which backbone, where to get it, how to prepare pixels),
// metrics.json, the backbone's weights (backbone/, see exportBackbone.ts) and a README with the few
// lines of tfjs that classify an image with no network.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import * as tf from '@tensorflow/tfjs';
import { backboneSpec } from './backbones/registry.js';
import { backboneJsonPath, exportBackbone, type BackboneSourceOptions, type ExportedBackbone } from './exportBackbone.js';
import { viewSpec, type View } from './views.js';
import { foldedLayers, type HeadJSON } from './head.js';
import type { DatasetRef } from '../jobs.js';
import type { ModelMeta, ModelStore } from './models.js';

/** The head as tfjs LayersModel files (model.json + weights.bin). */
export async function headModelFiles(head: HeadJSON): Promise<{ modelJson: string; weights: Uint8Array }> {
  const layers = foldedLayers(head);
  const model = tf.sequential();
  layers.forEach((l, i) =>
    model.add(tf.layers.dense({ units: l.units, inputShape: i === 0 ? [l.inputs] : undefined, activation: i + 1 === layers.length ? 'softmax' : 'relu' })),
  );
  tf.tidy(() => model.setWeights(layers.flatMap((l) => [tf.tensor2d(l.kernel, [l.inputs, l.units]), tf.tensor1d(l.bias)])));
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const a = artifacts!;
  const json = { format: 'layers-model', generatedBy: 'kodiak', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
  return { modelJson: JSON.stringify(json), weights: new Uint8Array(a.weightData as ArrayBuffer) };
}

/** How the zip's README feeds each view the head was trained on: input side, flip, backbone file. */
export interface ViewInput {
  view: View;
  size: number;
  mirror: boolean;
  backbone: string;
}

export function viewInputs(meta: Pick<ModelMeta, 'preprocessing'>): ViewInput[] {
  const p = meta.preprocessing;
  return (p.views ?? ['original']).map((view) => {
    const { size, mirror } = viewSpec(view);
    return { view, size: size ?? p.inputSize, mirror, backbone: backboneJsonPath(size) };
  });
}

function readme(meta: ModelMeta, backbone: { format: 'layers' | 'graph'; featureNode?: string }): string {
  const p = meta.preprocessing;
  const views = viewInputs(meta);
  const scale = p.normalisation.range === '[-1,1]' ? '.div(127.5).sub(1)' : '.div(255)';
  const features =
    backbone.format === 'layers'
      ? `(await tf.loadLayersModel(fromFiles(view.backbone, 'backbone/weights.bin'))).predict(x) // pooling included`
      : `${backbone.featureNode ? `(await tf.loadGraphModel(fromFiles(view.backbone, 'backbone/weights.bin'))).execute(x, ${JSON.stringify(backbone.featureNode)})` : `(await tf.loadGraphModel(fromFiles(view.backbone, 'backbone/weights.bin'))).predict(x)`}`;
  return `# ${meta.dataset.name} v${meta.version}

Classes: ${meta.classes.join(', ')}. Validation accuracy ${(meta.metrics.accuracy * 100).toFixed(1)}% on ${meta.metrics.nValid} images.
Backbone: ${meta.backbone} (${p.inputSize} px, pixels scaled to ${p.normalisation.range}, resize the shorter side then centre-crop), carried in backbone/: no network needed.
\`model.json\` is the classifier head: ${p.featureSize} backbone features in, class probabilities out.
The head was trained on ${views.length === 1 ? 'one view of each picture' : `${views.length} views of each picture (${views.map((v) => v.view).join(', ')})`}; a prediction averages its probabilities over them (\`viewInputs\` in preprocessing.json).

\`\`\`js
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import fs from 'node:fs';
// Run from this folder. Plain tfjs in Node loads files through fromMemory (tfjs-node also takes file:// URLs).
const fromFiles = (json, weights) => {
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  return tf.io.fromMemory({ modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0].weights, weightData: new Uint8Array(fs.readFileSync(weights)).buffer });
};
const head = await tf.loadLayersModel(fromFiles('model.json', 'weights.bin'));
const classes = ${JSON.stringify(meta.classes)};
const views = ${JSON.stringify(views.map(({ size, mirror, backbone: b }) => ({ size, mirror, backbone: b })))};
const probs = new Array(classes.length).fill(0);
for (const view of views) {
  const { data } = await sharp('photo.jpg').resize(view.size, view.size, { fit: 'cover' }).flop(view.mirror).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = tf.tensor4d(new Float32Array(data), [1, view.size, view.size, 3])${scale};
  const features = ${features};
  head.predict(features.reshape([1, -1])).dataSync().forEach((p, i) => (probs[i] += p / views.length));
}
console.log(classes.map((c, i) => [c, probs[i]]).sort((a, b) => b[1] - a[1]));
\`\`\`
`;
}

/** The zip of a model version (the latest when `version` is absent), backbone included. */
export async function exportZip(
  store: ModelStore,
  ref: DatasetRef,
  version?: number,
  backboneOpts: Partial<BackboneSourceOptions> = {},
): Promise<{ fileName: string; zip: Uint8Array; meta: ModelMeta }> {
  const meta = await store.require(ref, version);
  const head = await store.head(ref, meta.version);
  const { modelJson, weights } = await headModelFiles(head);
  const spec = backboneSpec(meta.backbone);
  const tuned = store.tunedBackboneDir(ref, meta.version);
  const backbone: ExportedBackbone = tuned
    ? { files: { 'backbone/model.json': await readFile(path.join(tuned, 'model.json')), 'backbone/weights.bin': await readFile(path.join(tuned, 'weights.bin')) }, format: 'layers' }
    : await exportBackbone(meta, { dataDir: store.dataDir, ...backboneOpts }, [...new Set(viewInputs(meta).filter((v) => v.size !== meta.preprocessing.inputSize).map((v) => v.size))]);
  const files: Record<string, Uint8Array> = {
    'model.json': strToU8(modelJson),
    'weights.bin': weights,
    'classes.json': strToU8(JSON.stringify(meta.classes)),
    'preprocessing.json': strToU8(
      JSON.stringify(
        { ...meta.preprocessing, viewInputs: viewInputs(meta), backboneFiles: { format: backbone.format, featureNode: backbone.featureNode, tuned: !!tuned }, backboneUrl: spec?.kind === 'download' ? spec.url : undefined, backboneSpec: spec },
        null,
        1,
      ),
    ),
    'metrics.json': strToU8(JSON.stringify({ ...meta.metrics, version: meta.version, datasetRevision: meta.datasetRevision, seed: meta.seed }, null, 1)),
    ...backbone.files,
    'README.md': strToU8(readme(meta, backbone)),
  };
  return { fileName: `${ref.name}-v${meta.version}.zip`, zip: zipSync(files, { level: 6 }), meta };
}
