// The train worker: the dataset's current labels -> core trainModel (backbone, cached
// embeddings, head, evaluation) -> a new model version with its charts -> the report to the bot,
// then a clean job so the suspects follow the report. Cancellable through /cancel.
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { cancelledBy } from '../core/cancel.js';
import { isUserError } from '../core/errors.js';
import { collectResult, jobId, trainPayload, type CollectResult, type TrainProgress, type TrainResult } from '../core/jobs.js';
import { initBackend } from '../core/ml/backend.js';
import { trainingCharts } from '../core/ml/charts.js';
import { modelFromTrainResult } from '../core/ml/models.js';
import { trainModel } from '../core/ml/train.js';
import type { TrainItem } from '../core/ml/types.js';
import { getRuntime, notifyBot, type WorkerRuntime } from './runtime.js';

/** Training blocks for minutes at a time; a short lock would let BullMQ think it stalled. */
export const lockDurationMs = 10 * 60_000;

export async function init(rt: WorkerRuntime): Promise<{ backend: string }> {
  const info = await initBackend(rt.config.TF_BACKEND);
  return { backend: info.name };
}

/** At most one progress update every `ms`, except when the stage changes. */
function throttledProgress(job: Job, ms = 750): (p: TrainProgress) => void {
  let last = 0;
  let lastStage = '';
  return (p) => {
    const now = Date.now();
    if (p.stage === lastStage && now - last < ms && p.done < p.total) return;
    last = now;
    lastStage = p.stage;
    void job.updateProgress(p).catch(() => {});
  };
}

/** Results of the collect children when this training is the parent of a /train flow. */
async function collectedByChildren(job: Job): Promise<CollectResult[] | undefined> {
  const values = Object.values(await job.getChildrenValues().catch(() => ({})));
  const results = values.flatMap((v) => {
    const parsed = collectResult.safeParse(v);
    return parsed.success ? [parsed.data] : [];
  });
  return results.length ? results : undefined;
}

export default async function train(job: Job, _token?: string, signal?: AbortSignal): Promise<TrainResult> {
  const rt = getRuntime();
  const payload = trainPayload.parse(job.data);
  const { dataset } = payload;
  const progress = throttledProgress(job);
  const cancelled = await cancelledBy(rt.redis, rt.config.QUEUE_PREFIX, 'train', job.id!);
  if (cancelled) throw new UnrecoverableError(`training of ${dataset.name} was cancelled by ${cancelled}`);
  try {
    const meta = await rt.datasets.require(dataset);
    const items: TrainItem[] = (await rt.datasets.items(dataset)).map((i) => ({ id: i.id, label: i.label, split: i.split, path: rt.blobs.path(i.id) }));
    const previous = await rt.models.get(dataset);
    const result = await trainModel(items, {
      dataDir: rt.config.DATA_DIR,
      classes: meta.classes,
      backbone: payload.backbone ?? rt.config.BACKBONE,
      mirrorUrl: rt.config.MODEL_MIRROR_URL,
      backboneSha256: rt.config.BACKBONE_SHA256,
      backend: rt.config.TF_BACKEND,
      threads: rt.config.EMBED_THREADS,
      epochs: payload.epochs,
      lr: payload.lr,
      seed: payload.seed ?? meta.seed,
      maxPixels: rt.config.MAX_IMAGE_PIXELS,
      signal,
      onProgress: (stage, done, total, epoch) =>
        progress({ stage, done, total, detail: epoch ? `loss ${epoch.trainLoss.toFixed(3)}${epoch.validAccuracy !== undefined ? `, accuracy ${(epoch.validAccuracy * 100).toFixed(1)}%` : ''}` : undefined }),
    });
    progress({ stage: 'saving', done: 0, total: 0 });
    const charts = await trainingCharts(result.classes, result.confusion, result.curves);
    const saved = await rt.models.save(dataset, modelFromTrainResult(result, { datasetRevision: meta.revision, createdBy: payload.target?.userId, charts }));
    const report: TrainResult = {
      dataset,
      modelVersion: saved.version,
      backbone: result.backbone,
      backboneNote: result.backboneNote,
      backend: result.backend,
      classes: result.classes,
      accuracy: result.accuracy,
      errorRate: result.errorRate,
      previousErrorRate: previous?.metrics.errorRate,
      perClass: result.perClass,
      confusion: result.confusion,
      nTrain: result.nTrain,
      nValid: result.nValid,
      seconds: result.seconds,
      fineTune: result.fineTune,
      charts: saved.charts,
      collected: await collectedByChildren(job),
    };
    if (payload.target) {
      await notifyBot(rt, 'train', job.id, { kind: 'train-done', target: payload.target, result: report });
      // The clean stage: the suspects follow the report, found on the same cached embeddings.
      await rt.queues.add('clean', 'clean', { dataset, kind: 'all', count: 10, offset: 0, target: payload.target }, { jobId: jobId('clean', job.id ?? 'train', saved.version) });
    }
    return report;
  } catch (err) {
    if (signal?.aborted) throw new UnrecoverableError(`training of ${dataset.name} was cancelled${typeof signal.reason === 'string' ? ` (${signal.reason})` : ''}`);
    if (isUserError(err)) throw new UnrecoverableError(err.message);
    throw err;
  }
}
