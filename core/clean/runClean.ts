// Runs the cleaner over a stored dataset: its active images, their embeddings from the backbone
// of the dataset's latest model (read from the embedding cache, so after a training nothing is
// re-embedded), the kept-label memory, then findSuspects. The clean worker and `kodiak clean`
// both come through here.
import { DEFAULT_BACKBONE } from '../ml/backbones/registry.js';
import { datasetFeatures } from '../ml/features.js';
import type { DatasetRef, CleanKind } from '../jobs.js';
import type { Services } from '../services.js';
import { UserError } from '../errors.js';
import { headFitPredict } from './headFitPredict.js';
import { findSuspects, type CleanItem } from './report.js';
import type { CleanReport, LabelView } from './types.js';

/** A report stored with the page the request asked for (the notify payload carries only its id). */
export type StoredCleanReport = CleanReport & { page?: { offset: number; count: number } };

export type CleanStage = 'embedding' | 'folds' | 'checks';

/** What a clean job reports as progress; the bot renders it in /clean's progress message. */
export interface CleanProgress {
  stage: CleanStage | 'done';
  done: number;
  total: number;
  suspects?: number;
}

export interface RunCleanOptions {
  dataset: DatasetRef;
  kind: CleanKind;
  /** Confident learning (default) or the lesson's in-sample top losses. */
  labelView?: LabelView;
  reportId?: string;
  signal?: AbortSignal;
  onProgress?: (stage: CleanStage, done: number, total: number) => void;
}

export async function runClean(services: Services, opts: RunCleanOptions): Promise<CleanReport> {
  const { config, datasets, blobs, models } = services;
  const meta = await datasets.require(opts.dataset);
  // By id: folds and head batches are seeded, and must not depend on download order.
  const items = await datasets.items(opts.dataset, { orderBy: 'id' });
  if (items.length < 2) throw new UserError(`${opts.dataset.name} has ${items.length} image(s): add some before cleaning it`);
  const latest = await models.get(opts.dataset);
  const features = await datasetFeatures(
    items.map((i) => ({ id: i.id, label: i.label, split: i.split, path: blobs.path(i.id) })),
    {
      dataDir: config.DATA_DIR,
      classes: meta.classes,
      // The stock backbone the latest model was trained on: its embeddings are cached already.
      backbone: latest?.backbone ?? config.BACKBONE ?? DEFAULT_BACKBONE,
      // Only a BACKBONE setting is a promise; the latest model's backbone may fall back offline.
      backboneNamed: config.BACKBONE !== undefined,
      mirrorUrl: config.MODEL_MIRROR_URL,
      backboneSha256: config.BACKBONE_SHA256,
      backend: config.TF_BACKEND,
      threads: config.EMBED_THREADS,
      maxPixels: config.MAX_IMAGE_PIXELS,
      // The views training uses (cached by it): the label model sees them all.
      views: config.IMAGE_VIEWS,
      signal: opts.signal,
      onProgress: (stage, done, total) => stage === 'embedding' && opts.onProgress?.('embedding', done, total),
    },
  );
  // Rows of both splits, one matrix per view aligned with the items that could be embedded.
  const [embeddings, ...moreViews] = features.views.map((v) => {
    const rows = new Map<string, Float32Array>();
    for (const set of [v.train, v.valid]) set.ids.forEach((id, i) => rows.set(id, set.X.subarray(i * features.dim, (i + 1) * features.dim)));
    return rows;
  });
  const usable: CleanItem[] = items.filter((i) => embeddings!.has(i.id));
  const matrix = (rows: Map<string, Float32Array>) => {
    const out = new Float32Array(usable.length * features.dim);
    usable.forEach((item, i) => out.set(rows.get(item.id)!, i * features.dim));
    return out;
  };

  const report = await findSuspects({
    items: usable,
    embeddings: matrix(embeddings!),
    moreViews: moreViews.map(matrix),
    classes: meta.classes,
    kind: opts.kind,
    labelView: opts.labelView,
    fitPredict: headFitPredict({ signal: opts.signal }),
    seed: meta.seed,
    repeats: config.CLEAN_REPEATS,
    keptLabels: await services.decisions.keptLabels(opts.dataset),
    readImage: async (id) => blobs.path(id),
    dataset: opts.dataset,
    reportId: opts.reportId,
    onFold: (done, total) => {
      if (opts.signal?.aborted) throw new Error('cancelled');
      opts.onProgress?.('folds', done, total);
      // After the last fold come the cheaper checks (duplicates, outliers, image quality).
      if (done === total) opts.onProgress?.('checks', 0, 1);
    },
  });
  report.datasetCreatedAt = meta.createdAt;
  if (features.skipped.length) report.summary.notes.push(`${features.skipped.length} image(s) could not be read and were left out`);
  return report;
}
