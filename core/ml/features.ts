// Dataset items -> feature matrices: resolves the backbone (download once, or fall back with a
// note), embeds what the cache lacks on worker threads, and returns row-major X / y per split.
// Training uses it, and so can the cleaner (k-fold out-of-fold probabilities on all items).
import { initBackend, type BackendChoice, type BackendInfo } from './backend.js';
import { DEFAULT_BACKBONE, resolveBackbone, type BackboneSource } from './backbones/index.js';
import { EmbeddingCache } from './embedCache.js';
import { EmbedPool, type EmbedResult } from './embedPool.js';
import type { Preprocessing, TrainItem } from './types.js';
import { viewCacheId, viewsFor, viewSpec, type View } from './views.js';
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
  /**
   * Views to embed besides the original (views.ts), each cached apart; those the backbone cannot
   * give are left out (the result's `views` says which were used). Default: the original only.
   */
  views?: readonly View[];
  signal?: AbortSignal;
  onProgress?: (stage: 'backbone' | 'embedding', done: number, total: number) => void;
}

export interface FeatureSet {
  X: Float32Array;
  y: Int32Array;
  ids: string[];
}

export interface ViewFeatures {
  view: View;
  train: FeatureSet;
  valid: FeatureSet;
}

export interface DatasetFeatures {
  /** The original view. */
  train: FeatureSet;
  valid: FeatureSet;
  /** Every view used, the original first; the same rows (same ids, same order) in each. */
  views: ViewFeatures[];
  dim: number;
  source: BackboneSource;
  backboneNote?: string;
  backend: BackendInfo;
  preprocessing: Preprocessing;
  /** Items that could not be used (undecodable image), with the reason. */
  skipped: { id: string; reason: string }[];
  /** Embeddings read from the cache and computed, counted per view. */
  embedding: { cached: number; computed: number };
}

/** Rows of the items embedded in every view, in item order. */
function stack(items: TrainItem[], features: Map<string, Float32Array>, classIndex: Map<string, number>, dim: number, usable: (id: string) => boolean): FeatureSet {
  const rows = items.filter((it) => usable(it.id));
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
  const dim = spec.featureSize;
  const views = viewsFor(spec, opts.views ?? ['original']);
  const caches = views.map((v) => new EmbeddingCache(opts.dataDir, viewCacheId(spec.id, v), dim));
  // The TensorFlow backends use every core from one thread; wasm needs one thread per core.
  const threads = opts.threads ?? (backend.name === 'tensorflow' ? 1 : 2);
  const runs: EmbedResult[] = [];
  let pool: EmbedPool | undefined;
  try {
    for (const [k, view] of views.entries()) {
      const cached = await caches[k]!.getMany(items.map((it) => it.id));
      // In images: the views of an image count as one, so progress runs 0..N once.
      const progress = (done: number) => opts.onProgress?.('embedding', Math.floor((done + k * items.length) / views.length), items.length);
      if (items.every((it) => cached.has(it.id))) {
        progress(items.length);
        runs.push({ features: cached, failed: new Map(), cached: cached.size, computed: 0 });
        continue;
      }
      // One pool for every view (threads load the backbone once; the larger view's on first use).
      pool ??= await EmbedPool.start(
        {
          source: resolved.source,
          featureSize: dim,
          threads,
          backend: backend.name === 'tensorflow' ? (backend.provider.endsWith('gpu') ? 'tensorflow-gpu' : 'tensorflow') : (backend.name as BackendChoice),
          maxPixels: opts.maxPixels,
        },
        opts.signal,
      );
      const { size, mirror } = viewSpec(view);
      runs.push(
        await pool.embed(
          items.map((it) => ({ id: it.id, input: { kind: 'path' as const, path: it.path, mirror, size } })),
          { cache: caches[k], signal: opts.signal, onProgress: (done) => progress(done) },
        ),
      );
    }
  } finally {
    await pool?.close();
  }
  const usable = (id: string) => runs.every((r) => r.features.has(id));
  const ofSplit = (split: string) => items.filter((it) => it.split === split);
  const perView = views.map((view, k) => ({
    view,
    train: stack(ofSplit('train'), runs[k]!.features, classIndex, dim, usable),
    valid: stack(ofSplit('valid'), runs[k]!.features, classIndex, dim, usable),
  }));
  const failed = new Map<string, string>();
  for (const r of runs) for (const [id, reason] of r.failed) if (!failed.has(id)) failed.set(id, reason);
  return {
    train: perView[0]!.train,
    valid: perView[0]!.valid,
    views: perView,
    dim,
    source: resolved.source,
    backboneNote: resolved.note,
    backend,
    preprocessing: {
      backbone: spec.id, inputSize: spec.inputSize, normalisation: spec.normalisation, featureSize: dim, resize: 'shorter-side-then-centre-crop',
      views: views.length > 1 ? views : undefined,
    },
    skipped: [...failed].map(([id, reason]) => ({ id, reason })),
    embedding: { cached: runs.reduce((s, r) => s + r.cached, 0), computed: runs.reduce((s, r) => s + r.computed, 0) },
  };
}
