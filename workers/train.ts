// The train worker: the dataset's current labels -> core trainDataset (trainModel: backbone,
// cached embeddings, head, evaluation; then a new model version with its charts; the same code
// as `kodiak train`) -> the report to the bot,
// then a clean job so the suspects follow the report. Cancellable through /cancel.
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { cancelledBy } from '../core/cancel.js';
import { isUserError } from '../core/errors.js';
import { collectResult, jobId, trainPayload, type CollectResult, type TrainProgress, type TrainResult } from '../core/jobs.js';
import { initBackend } from '../core/ml/backend.js';
import { backboneStatus } from '../core/ml/backbones/index.js';
import { trainDataset, trainReport } from '../core/ml/trainDataset.js';
import { getRuntime, notifyBot, type WorkerRuntime } from './runtime.js';

/** What /status should know about this process's backbone: set when training fell back. */
export const currentBackboneNote = (): string | undefined => backboneStatus()?.note;

export async function init(rt: WorkerRuntime): Promise<{ backend: string; note: () => string | undefined }> {
  const info = await initBackend(rt.config.TF_BACKEND);
  return { backend: info.name, note: currentBackboneNote };
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
    const trained = await trainDataset(rt, dataset, { epochs: payload.epochs, lr: payload.lr, backbone: payload.backbone, seed: payload.seed, createdBy: payload.target?.userId }, progress, signal);
    const { saved } = trained;
    const report: TrainResult = { ...trainReport(dataset, trained), collected: await collectedByChildren(job) };
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
