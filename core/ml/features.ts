// Dataset items -> feature matrices: resolves the backbone (download once, or fall back with a
// note), embeds what the cache lacks on worker threads, and returns row-major X / y per split.
// Training uses it, and so can the cleaner (k-fold out-of-fold probabilities on all items).
import { initBackend, type BackendChoice, type BackendInfo } from './backend.js';
import { DEFAULT_BACKBONE, resolveBackbone, type BackboneSource } from './backbones/index.js';
import { EmbeddingCache } from './embedCache.js';
import { embedItems } from './embedPool.js';
import type { Preprocessing, TrainItem } from './types.js';
import { UserError } from '../errors.js';

export interface FeatureOptions {
  dataDir: string;
  classes: string[];
  backbone?: string;
  mirrorUrl?: string;
  backboneSha256?: string;
  backend?: BackendChoice;
  /** Embedding worker threads (wasm: one core each). */
  threads?: number;
  maxPixels?: number;
  /**
   * Whether `backbone` was named by the user (no fallback if it cannot be loaded). Default: named
   * when `backbone` is given.
   */
  backboneNamed?: boolean;
  /** Also embed each image flipped left to right (cached apart): `mirror` in the result. */
  mirror?: boolean;
  signal?: AbortSignal;
  onProgress?: (stage: 'backbone' | 'embedding', done: number, total: number) => void;
}

export interface FeatureSet {
  X: Float32Array;
  y: Int32Array;
  ids: string[];
}

export interface DatasetFeatures {
  train: FeatureSet;
  valid: FeatureSet;
  /** The same rows (same ids, same order) embedded flipped, when asked for. */
  mirror?: { train: FeatureSet; valid: FeatureSet };
  dim: number;
  source: BackboneSource;
  backboneNote?: string;
  backend: BackendInfo;
  preprocessing: Preprocessing;
  /** Items that could not be used (undecodable image), with the reason. */
  skipped: { id: string; reason: string }[];
  embedding: { cached: number; computed: number };
}

function stack(items: TrainItem[], features: Map<string, Float32Array>, classIndex: Map<string, number>, dim: number, also?: Map<string, Float32Array>): FeatureSet {
  const rows = items.filter((it) => features.has(it.id) && (!also || also.has(it.id)));
  const X = new Float32Array(rows.length * dim);
  rows.forEach((it, i) => X.set(features.get(it.id)!, i * dim));
  return { X, y: Int32Array.from(rows, (it) => classIndex.get(it.label)!), ids: rows.map((it) => it.id) };
}

/**
 * The backbone asked for. Only the default may fall back to the bundled one (with a note): a
 * backbone named explicitly (BACKBONE, --backbone) is a promise, so failing to load it stops.
 */
async function resolveNamed(opts: FeatureOptions) {
  const id = opts.backbone ?? DEFAULT_BACKBONE;
  const named = opts.backboneNamed ?? opts.backbone !== undefined;
  try {
    return await resolveBackbone(id, { dataDir: opts.dataDir, mirrorUrl: opts.mirrorUrl, sha256: opts.backboneSha256, signal: opts.signal, allowFallback: !named });
  } catch (err) {
    opts.signal?.throwIfAborted();
    if (err instanceof UserError) throw err;
    throw new UserError(`the backbone named "${id}" could not be loaded (${(err as Error).message}); name another one, or leave BACKBONE unset to use the default, which falls back to a bundled backbone offline`);
  }
}

export async function datasetFeatures(items: TrainItem[], opts: FeatureOptions): Promise<DatasetFeatures> {
  const classIndex = new Map(opts.classes.map((c, i) => [c, i]));
  const unknown = [...new Set(items.filter((it) => !classIndex.has(it.label)).map((it) => it.label))];
  if (unknown.length) throw new UserError(`images are labelled with unknown classes: ${unknown.join(', ')}`);
  const backend = await initBackend(opts.backend ?? 'auto');
  opts.onProgress?.('backbone', 0, 1);
  const resolved = await resolveNamed(opts);
  opts.onProgress?.('backbone', 1, 1);
  const { spec } = resolved.source;
  const cache = new EmbeddingCache(opts.dataDir, spec.id, spec.featureSize);
  // The TensorFlow backends use every core from one thread; wasm needs one thread per core.
  const threads = opts.threads ?? (backend.name === 'tensorflow' ? 1 : 2);
  const views = opts.mirror ? [false, true] : [false];
  const runs = [];
  for (const mirror of views) {
    // Each view has its own cache folder: <backbone id> and <backbone id>.mirror.
    const viewCache = mirror ? new EmbeddingCache(opts.dataDir, `${spec.id}.mirror`, spec.featureSize) : cache;
    runs.push(
      await embedItems(
        items.map((it) => ({ id: it.id, input: { kind: 'path' as const, path: it.path, mirror } })),
        {
          source: resolved.source,
          featureSize: spec.featureSize,
          threads,
          backend: backend.name === 'tensorflow' ? (backend.provider.endsWith('gpu') ? 'tensorflow-gpu' : 'tensorflow') : (backend.name as BackendChoice),
          cache: viewCache,
          maxPixels: opts.maxPixels,
          signal: opts.signal,
          // In images: both views of an image count as one.
          onProgress: (done, total) => opts.onProgress?.('embedding', Math.floor((done + (mirror ? total : 0)) / views.length), total),
        },
      ),
    );
  }
  const [embedded, flipped] = runs as [Awaited<ReturnType<typeof embedItems>>, Awaited<ReturnType<typeof embedItems>> | undefined];
  const dim = spec.featureSize;
  const ofSplit = (split: string) => items.filter((it) => it.split === split);
  return {
    train: stack(ofSplit('train'), embedded.features, classIndex, dim, flipped?.features),
    valid: stack(ofSplit('valid'), embedded.features, classIndex, dim, flipped?.features),
    mirror: flipped && {
      train: stack(ofSplit('train'), flipped.features, classIndex, dim, embedded.features),
      valid: stack(ofSplit('valid'), flipped.features, classIndex, dim, embedded.features),
    },
    dim,
    source: resolved.source,
    backboneNote: resolved.note,
    backend,
    preprocessing: {
      backbone: spec.id, inputSize: spec.inputSize, normalisation: spec.normalisation, featureSize: dim, resize: 'shorter-side-then-centre-crop',
      views: flipped ? ['original', 'mirror'] : undefined,
    },
    skipped: [...embedded.failed].map(([id, reason]) => ({ id, reason })),
    embedding: { cached: runs.reduce((s, r) => s + r.cached, 0), computed: runs.reduce((s, r) => s + r.computed, 0) },
  };
}
