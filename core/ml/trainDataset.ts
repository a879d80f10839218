// Trains a stored dataset and saves the result as its next model version: the part the train
// worker and `kodiak train` share (current labels -> trainModel -> charts -> ModelStore.save),
// plus the report both hand out (the worker to the bot, the command line as JSON).
import { UserError } from '../errors.js';
import type { DatasetRef, TrainProgress, TrainResult } from '../jobs.js';
import type { Services } from '../services.js';
import type { DatasetMeta } from '../store/types.js';
import { DEFAULT_BACKBONE } from './backbones/registry.js';
import { trainingCharts } from './charts.js';
import type { EpochStats } from './head.js';
import { modelFromTrainResult, type ModelMeta } from './models.js';
import { scorePrevious, type PreviousScore } from './previous.js';
import { trainModel, type TrainModelResult } from './train.js';
import type { TrainItem } from './types.js';

export interface TrainDatasetOptions {
  epochs?: number;
  lr?: number;
  /** Backbone id; default: the BACKBONE setting, else DEFAULT_BACKBONE. */
  backbone?: string;
  /** Default: the dataset's own seed. */
  seed?: number;
  /** Who asked (saved with the model version). */
  createdBy?: string;
}

export interface TrainedDataset {
  meta: DatasetMeta;
  result: TrainModelResult;
  saved: ModelMeta;
  /** The latest version before this one scored on this one's validation images (previous.ts). */
  previous?: PreviousScore;
  /** Why the earlier version could not be scored, when it could not. */
  previousNote?: string;
}

function epochDetail(epoch?: EpochStats): string | undefined {
  if (!epoch) return undefined;
  const accuracy = epoch.validAccuracy !== undefined ? `, accuracy ${(epoch.validAccuracy * 100).toFixed(1)}%` : '';
  return `loss ${epoch.trainLoss.toFixed(3)}${accuracy}`;
}

export async function trainDataset(
  services: Pick<Services, 'config' | 'datasets' | 'blobs' | 'models'>,
  ref: DatasetRef,
  options: TrainDatasetOptions = {},
  onProgress: (p: TrainProgress) => void = () => {},
  signal?: AbortSignal,
): Promise<TrainedDataset> {
  const { config, datasets, blobs, models } = services;
  const meta = await datasets.require(ref);
  // By id, so a seeded training gives the same model whatever order the images arrived in.
  const items: TrainItem[] = (await datasets.items(ref, { orderBy: 'id' })).map((i) => ({ id: i.id, label: i.label, split: i.split, path: blobs.path(i.id) }));
  const earlier = await models.get(ref);
  const result = await trainModel(items, {
    dataDir: config.DATA_DIR,
    classes: meta.classes,
    // Named by --backbone or BACKBONE: no silent fallback. Unset: the default, which may fall back.
    backbone: options.backbone ?? config.BACKBONE ?? DEFAULT_BACKBONE,
    backboneNamed: (options.backbone ?? config.BACKBONE) !== undefined,
    views: config.IMAGE_VIEWS,
    mirrorUrl: config.MODEL_MIRROR_URL,
    backboneSha256: config.BACKBONE_SHA256,
    backend: config.TF_BACKEND,
    threads: config.EMBED_THREADS,
    epochs: options.epochs,
    lr: options.lr,
    seed: options.seed ?? meta.seed,
    maxPixels: config.MAX_IMAGE_PIXELS,
    signal,
    onProgress: (stage, done, total, epoch) => onProgress({ stage, done, total, detail: epochDetail(epoch) }),
  });
  const { previous, previousNote } = await scoreReplaced(services, ref, earlier, items, result);
  onProgress({ stage: 'saving', done: 0, total: 0 });
  // Training takes minutes: the dataset may have been deleted (or made again, or Redis wiped)
  // meanwhile. Nothing is saved for a dataset that no longer exists.
  const still = await datasets.get(ref);
  if (still?.createdAt !== meta.createdAt) throw new UserError(`${ref.name} was deleted while it was training: no model was saved`);
  const version = await models.save(ref, modelFromTrainResult(result, { datasetRevision: meta.revision, createdBy: options.createdBy, previous }));
  // Drawn once the version number is known: each chart's title names the dataset and version.
  const charts = await trainingCharts(result.classes, result.confusion, result.curves, `${ref.name} v${version.version}`);
  const saved = await models.writeCharts(version, charts);
  return { meta, result, saved, previous, previousNote };
}

/** The replaced version on the new one's validation images (those it could embed), current labels. */
async function scoreReplaced(
  { config, models }: Pick<Services, 'config' | 'models'>,
  ref: DatasetRef,
  earlier: ModelMeta | undefined,
  items: TrainItem[],
  result: TrainModelResult,
): Promise<{ previous?: PreviousScore; previousNote?: string }> {
  if (!earlier) return {};
  const skipped = new Set(result.skipped.map((s) => s.id));
  const valid = items.filter((it) => it.split === 'valid' && !skipped.has(it.id));
  try {
    const opts = { store: models, dataDir: config.DATA_DIR, mirrorUrl: config.MODEL_MIRROR_URL, backboneSha256: config.BACKBONE_SHA256, maxPixels: config.MAX_IMAGE_PIXELS };
    return { previous: await scorePrevious(opts, ref, earlier, valid) };
  } catch (err) {
    // e.g. its backbone cannot be loaded offline: the new model is still worth saving.
    return { previousNote: `v${earlier.version} could not be scored on the same images: ${(err as Error).message}` };
  }
}

/** The training report (without what the worker adds about a preceding collection). */
export function trainReport(ref: DatasetRef, trained: TrainedDataset): Omit<TrainResult, 'collected'> {
  const { result, saved, previous, previousNote } = trained;
  return {
    dataset: ref,
    modelVersion: saved.version,
    backbone: result.backbone,
    backboneNote: result.backboneNote,
    backend: result.backend,
    classes: result.classes,
    accuracy: result.accuracy,
    errorRate: result.errorRate,
    previous,
    previousNote,
    perClass: result.perClass,
    confusion: result.confusion,
    nTrain: result.nTrain,
    nValid: result.nValid,
    seconds: result.seconds,
    fineTune: result.fineTune,
    charts: saved.charts,
  };
}
