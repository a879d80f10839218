// Backbones behind one interface. resolveBackbone() makes a backbone available (downloading it
// once, or falling back to a bundled one with a note) and returns a serialisable source that
// any thread can load with loadBackbone().
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors.js';
import { parseModelJson, toArtifacts } from './artifacts.js';
import { bundledArtifacts } from './bundled.js';
import { ensureDownloaded, type DownloadOptions } from './download.js';
import { backboneIds, backboneSpec, FALLBACK_BACKBONE, type BackboneSpec, type Normalisation } from './registry.js';

export * from './registry.js';
export { cacheDirOf, ensureDownloaded } from './download.js';

export interface Backbone {
  readonly id: string;
  readonly inputSize: number;
  readonly normalisation: Normalisation;
  readonly featureSize: number;
  /** Features for a normalised [N, size, size, 3] batch, row-major N x featureSize. */
  embed(batch: tf.Tensor4D): Float32Array;
  /** Image -> feature vector as a LayersModel (pooling included), when the backbone is one; fine-tuning needs it. */
  readonly featureModel?: tf.LayersModel;
  dispose(): void;
}

/** Where to load a backbone from; plain data, so it can be posted to worker threads. */
export interface BackboneSource {
  spec: BackboneSpec;
  /** Cache folder of a downloaded backbone. */
  dir?: string;
}

export interface ResolvedBackbone {
  source: BackboneSource;
  /** Set when the backbone is not the one asked for (the report and /status show it). */
  note?: string;
}

export interface ResolveOptions extends DownloadOptions {
  /** Use the bundled backbone when a download fails (training yes; a saved model's predictions no). */
  allowFallback?: boolean;
}

export function requireSpec(id: string): BackboneSpec {
  const spec = backboneSpec(id);
  if (!spec) throw new UserError(`unknown backbone "${id}"; known: ${backboneIds().join(', ')}`);
  return spec;
}

let lastResolved: { requested: string; used: string; note?: string; at: number } | undefined;

/** What the last resolveBackbone in this process asked for and got (for /status). */
export function backboneStatus(): typeof lastResolved {
  return lastResolved;
}

export async function resolveBackbone(id: string, opts: ResolveOptions): Promise<ResolvedBackbone> {
  const resolved = await resolve(id, opts);
  lastResolved = { requested: id, used: resolved.source.spec.id, note: resolved.note, at: Date.now() };
  return resolved;
}

async function resolve(id: string, opts: ResolveOptions): Promise<ResolvedBackbone> {
  const spec = requireSpec(id);
  if (spec.kind === 'bundled') return { source: { spec } };
  try {
    return { source: { spec, dir: await ensureDownloaded(spec, opts) } };
  } catch (err) {
    opts.signal?.throwIfAborted();
    if (opts.allowFallback === false) throw err;
    const fallback = requireSpec(FALLBACK_BACKBONE);
    const reason = err instanceof Error ? err.message : String(err);
    return {
      source: { spec: fallback },
      note: `${spec.title} could not be downloaded (${reason}); used ${fallback.title} instead, whose features are weaker.`,
    };
  }
}

async function artifactsOf(source: BackboneSource): Promise<tf.io.ModelArtifacts> {
  if (source.spec.kind === 'bundled') return bundledArtifacts(source.spec);
  if (!source.dir) throw new Error(`backbone ${source.spec.id} has no cache folder`);
  const json = parseModelJson(await readFile(path.join(source.dir, 'model.json'), 'utf8'));
  return toArtifacts(json, await readFile(path.join(source.dir, 'weights.bin')));
}

function featureLayerName(spec: BackboneSpec): string | undefined {
  return spec.kind === 'bundled' ? spec.featureLayer : undefined;
}

/**
 * The same LayersModel taking size x size pictures: every input layer's batch shape is changed,
 * the weights stay as they are (a fully convolutional network followed by pooling accepts it).
 */
export function withInputSize(artifacts: tf.io.ModelArtifacts, size: number): tf.io.ModelArtifacts {
  const topology = JSON.parse(JSON.stringify(artifacts.modelTopology)) as unknown;
  let changed = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const shape = o.batch_input_shape ?? o.batchInputShape;
    if (Array.isArray(shape) && shape.length === 4) {
      o[o.batch_input_shape ? 'batch_input_shape' : 'batchInputShape'] = [shape[0], size, size, shape[3]];
      changed++;
    }
    Object.values(o).forEach(visit);
  };
  visit(topology);
  if (changed === 0) throw new Error('the backbone has no image input whose size can be changed');
  return { ...artifacts, modelTopology: topology as tf.io.ModelArtifacts['modelTopology'] };
}

/**
 * Loads the backbone on the current tfjs backend; `inputSize` loads a LayersModel for pictures of
 * another size (the larger views, views.ts).
 */
export async function loadBackbone(source: BackboneSource, opts: { inputSize?: number } = {}): Promise<Backbone> {
  const { spec } = source;
  let artifacts = await artifactsOf(source);
  if (opts.inputSize !== undefined && opts.inputSize !== spec.inputSize) {
    if (spec.format !== 'layers') throw new Error(`${spec.id} is a graph model: its input size is fixed`);
    artifacts = withInputSize(artifacts, opts.inputSize);
  }
  const handler = tf.io.fromMemory(artifacts);
  const common = { id: spec.id, inputSize: spec.inputSize, normalisation: spec.normalisation, featureSize: spec.featureSize };
  if (spec.format === 'layers') {
    const base = await tf.loadLayersModel(handler);
    const layerName = featureLayerName(spec);
    let output = layerName ? base.getLayer(layerName).output : base.outputs[0]!;
    if (!Array.isArray(output) && output.shape.length === 4) {
      output = tf.layers.globalAveragePooling2d({ name: 'kodiak_feature_pool' }).apply(output) as tf.SymbolicTensor;
    }
    const featureModel = tf.model({ inputs: base.inputs, outputs: output as tf.SymbolicTensor });
    // A saved (e.g. fine-tuned) model knows its own input size; trust it over the registry.
    const modelSize = base.inputs[0]?.shape[1];
    return {
      ...common,
      inputSize: typeof modelSize === 'number' ? modelSize : spec.inputSize,
      featureModel,
      embed: (batch) => tf.tidy(() => (featureModel.predict(batch) as tf.Tensor).dataSync() as Float32Array),
      dispose: () => base.dispose(),
    };
  }
  const graph = await tf.loadGraphModel(handler);
  const node = spec.featureNode;
  return {
    ...common,
    embed: (batch) =>
      tf.tidy(() => {
        const out = (node ? graph.execute(batch, node) : graph.predict(batch)) as tf.Tensor;
        return (out.rank > 2 ? out.reshape([out.shape[0]!, -1]) : out).dataSync() as Float32Array;
      }),
    dispose: () => graph.dispose(),
  };
}
