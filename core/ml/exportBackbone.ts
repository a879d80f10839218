// The backbone an export carries, so the zip classifies photos with no network: the weights the
// model was trained with, as backbone/model.json + backbone/weights.bin. A LayersModel backbone
// is saved as its feature model (cut at the feature layer, global average pooling included), so
// it maps pixels straight to the features the head takes; a GraphModel is saved as it is, and
// preprocessing.json names the node whose output is the feature vector.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadBackbone, resolveBackbone, withInputSize, type BackboneSource } from './backbones/index.js';
import { bundledArtifacts } from './backbones/bundled.js';
import { parseModelJson, singleFileJson, toArtifacts, type ModelJson } from './backbones/artifacts.js';
import { captureArtifacts } from './finetune.js';
import type { ModelMeta } from './models.js';
import type * as tf from '@tensorflow/tfjs';

export interface BackboneSourceOptions {
  dataDir: string;
  mirrorUrl?: string;
  sha256?: string;
}

export interface ExportedBackbone {
  /** backbone/model.json, backbone/weights.bin, and backbone/model-<size>px.json per extra input size. */
  files: { 'backbone/model.json': Uint8Array; 'backbone/weights.bin': Uint8Array } & Record<string, Uint8Array>;
  /** How to load and run backbone/model.json (written to preprocessing.json). */
  format: 'layers' | 'graph';
  /** GraphModel: execute this node for the features (absent: the model's output). */
  featureNode?: string;
}

const enc = (json: unknown) => new TextEncoder().encode(JSON.stringify(json));

function artifactsJson(a: tf.io.ModelArtifacts): ModelJson {
  const weights = a.weightSpecs ?? [];
  return singleFileJson({ format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? undefined, modelTopology: a.modelTopology, weightsManifest: [{ paths: [], weights }], signature: a.signature, userDefinedMetadata: a.userDefinedMetadata, modelInitializer: a.modelInitializer });
}

async function graphArtifacts(source: BackboneSource): Promise<tf.io.ModelArtifacts> {
  if (source.spec.kind === 'bundled') return bundledArtifacts(source.spec);
  const json = parseModelJson(await readFile(path.join(source.dir!, 'model.json'), 'utf8'));
  return toArtifacts(json, await readFile(path.join(source.dir!, 'weights.bin')));
}

/** The zip's model.json for a LayersModel backbone's pictures of `size` px (same weights.bin). */
export function backboneJsonPath(size: number | undefined): string {
  return size === undefined ? 'backbone/model.json' : `backbone/model-${size}px.json`;
}

/**
 * The stock backbone of `meta` as files for the zip (needs the tfjs backend initialised), with a
 * model.json for each of `extraSizes` (the larger views; LayersModels only) sharing its weights.
 */
export async function exportBackbone(meta: Pick<ModelMeta, 'backbone'>, opts: BackboneSourceOptions, extraSizes: number[] = []): Promise<ExportedBackbone> {
  let source: BackboneSource;
  try {
    ({ source } = await resolveBackbone(meta.backbone, { dataDir: opts.dataDir, mirrorUrl: opts.mirrorUrl, sha256: opts.sha256, allowFallback: false }));
  } catch (err) {
    throw new Error(`the export carries the model's backbone ${meta.backbone}, which could not be loaded: ${(err as Error).message}`);
  }
  if (source.spec.format === 'graph') {
    const a = await graphArtifacts(source);
    const weights = new Uint8Array(a.weightData as ArrayBuffer);
    return { files: { 'backbone/model.json': enc(artifactsJson(a)), 'backbone/weights.bin': weights }, format: 'graph', featureNode: source.spec.featureNode };
  }
  const backbone = await loadBackbone(source);
  try {
    const { modelJson, weights } = await captureArtifacts(backbone.featureModel!, 'kodiak export');
    const files: ExportedBackbone['files'] = { 'backbone/model.json': enc(modelJson), 'backbone/weights.bin': weights };
    for (const size of extraSizes) {
      const resized = withInputSize({ modelTopology: modelJson.modelTopology as tf.io.ModelArtifacts['modelTopology'] }, size);
      files[backboneJsonPath(size)] = enc({ ...modelJson, modelTopology: resized.modelTopology });
    }
    return { files, format: 'layers' };
  } finally {
    backbone.dispose();
  }
}
