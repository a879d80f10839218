// The clean worker: finds a dataset's suspects (label errors, duplicates, outliers, poor images)
// on the cached embeddings, stores the report in Redis (the buttons page through it, also after
// a restart) and hands its id to the bot, which posts the summary and the suspects.
import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { isUserError } from '../core/errors.js';
import { cleanPayload } from '../core/jobs.js';
import { initBackend } from '../core/ml/backend.js';
import { runClean, type CleanProgress, type StoredCleanReport } from '../core/clean/runClean.js';
import { getRuntime, notifyBot, type WorkerRuntime } from './runtime.js';

export async function init(rt: WorkerRuntime): Promise<{ backend: string }> {
  const info = await initBackend(rt.config.TF_BACKEND);
  return { backend: info.name };
}

/** Short, stable per job: a retried job reuses its report (and the decisions made on it). */
export function reportIdFor(jobId: string): string {
  return createHash('sha256').update(`clean-job:${jobId}`).digest('hex').slice(0, 16);
}

function throttled(job: Job, ms = 750): (p: CleanProgress) => void {
  let last = 0;
  let lastStage = '';
  return (p) => {
    const now = Date.now();
    if (p.stage === lastStage && now - last < ms && p.done < p.total) return;
    last = now;
    lastStage = p.stage;
    void job.updateProgress(p as unknown as object).catch(() => {});
  };
}

export default async function clean(job: Job, _token?: string, signal?: AbortSignal): Promise<{ reportId: string; suspects: number }> {
  const rt = getRuntime();
  const payload = cleanPayload.parse(job.data);
  const reportId = reportIdFor(job.id ?? `${payload.dataset.guildId}/${payload.dataset.name}/${Date.now()}`);
  const progress = throttled(job);
  try {
    let report = (await rt.decisions.loadReport(reportId)) as StoredCleanReport | undefined;
    if (!report) {
      const found = await runClean(rt, { dataset: payload.dataset, kind: payload.kind, reportId, signal, onProgress: (stage, done, total) => progress({ stage, done, total }) });
      report = { ...found, page: { offset: payload.offset, count: payload.count } };
      await rt.decisions.saveReport(report);
    }
    progress({ stage: 'done', done: 1, total: 1, suspects: report.suspects.length });
    if (payload.target) await notifyBot(rt, 'clean', job.id, { kind: 'clean-done', target: payload.target, dataset: payload.dataset, reportId });
    return { reportId, suspects: report.suspects.length };
  } catch (err) {
    if (signal?.aborted) throw new UnrecoverableError(`cleaning ${payload.dataset.name} was cancelled`);
    if (isUserError(err)) throw new UnrecoverableError(err.message);
    throw err;
  }
}
