// Model files <-> tfjs ModelArtifacts, without tfjs-node's file:// handler: the json plus one
// concatenated weights buffer, so a model can be loaded from a cache folder or from memory.
import * as tf from '@tensorflow/tfjs';

export interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Bytes the weights in a manifest occupy, so a truncated download is caught before loading. */
export function manifestBytes(manifest: ModelJson['weightsManifest']): number {
  let total = 0;
  for (const group of manifest)
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const dtype = w.quantization?.dtype ?? w.dtype;
      const bytes = DTYPE_BYTES[dtype];
      if (bytes === undefined) throw new Error(`unsupported weight dtype ${dtype}`);
      total += count * bytes;
    }
  return total;
}

export function parseModelJson(text: string): ModelJson {
  let json: ModelJson;
  try {
    json = JSON.parse(text) as ModelJson;
  } catch {
    throw new Error('model.json is not valid JSON');
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest))
    throw new Error('model.json has no modelTopology or weightsManifest');
  return json;
}

export function toArtifacts(json: ModelJson, weights: Uint8Array): tf.io.ModelArtifacts {
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? null,
    signature: json.signature as tf.io.ModelArtifacts['signature'],
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
    modelInitializer: json.modelInitializer as tf.io.ModelArtifacts['modelInitializer'],
  };
}

/** The same json with one weights file, as the cache stores it. */
export function singleFileJson(json: ModelJson, fileName = 'weights.bin'): ModelJson {
  return { ...json, weightsManifest: [{ paths: [fileName], weights: json.weightsManifest.flatMap((g) => g.weights) }] };
}
