// The collect queue's processor. Two kinds of job run here:
//  - `collect`: fill one class of a dataset from image search (core collectClass), reporting
//    progress; idempotent, because a retried job finds its earlier images already stored.
//  - `collect-summary`: the parent of a standalone /dataset collect flow; it runs when every
//    class has finished, gathers their results and hands them to the bot to post.
//  - `add`: /dataset add's downloads and imports (core/collect/addJob.ts); the bot waits for it.
import { Job, UnrecoverableError } from 'bullmq';
import { ADD_JOB, addJob, type AddResult } from '../core/collect/addJob.js';
import { collectClass } from '../core/collect/collect.js';
import { searchNotes } from '../core/collect/identity.js';
import { COLLECT_SUMMARY_JOB, collectSummaryPayload } from '../core/collectFlow.js';
import { isUserError } from '../core/errors.js';
import { collectPayload, collectProgress, collectResult, type CollectProgress, type CollectResult } from '../core/jobs.js';
import { getRuntime, notifyBot, type WorkerRuntime } from './runtime.js';

/** /status shows, per collect worker, which image providers its configuration makes refuse us. */
export async function init(rt: WorkerRuntime): Promise<{ backend: string; note: () => string | undefined }> {
  const refused = searchNotes(rt.config).filter((n) => n.kind === 'refused').map((n) => n.text);
  const note = refused.length ? refused.join('; ') : undefined;
  return { backend: 'none (no ML)', note: () => note };
}

/** At most this often a progress update goes to Redis (and from there to a Discord edit). */
export const PROGRESS_INTERVAL_MS = 500;

/**
 * Forward progress at most every `ms`, always the latest state and always the last one:
 * a skipped update is sent when the interval ends, and `flush` sends what is pending.
 */
export function throttledProgress(send: (p: CollectProgress) => Promise<void>, ms = PROGRESS_INTERVAL_MS) {
  let last = 0;
  let pending: CollectProgress | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  const push = () => {
    timer = undefined;
    if (!pending) return;
    const p = pending;
    pending = undefined;
    last = Date.now();
    // Sequential, so Redis never sees an older state after a newer one; failures are not fatal.
    chain = chain.then(() => send(p)).catch(() => undefined);
  };
  return {
    update(p: CollectProgress) {
      pending = p;
      if (timer) return;
      const wait = last + ms - Date.now();
      if (wait <= 0) push();
      else timer = setTimeout(push, wait);
    },
    async flush() {
      if (timer) clearTimeout(timer);
      push();
      await chain;
    },
  };
}

async function collectOne(rt: WorkerRuntime, job: Job, signal?: AbortSignal): Promise<CollectResult> {
  const payload = collectPayload.parse(job.data);
  const progress = throttledProgress((p) => job.updateProgress(p));
  try {
    return await collectClass({
      services: rt,
      dataset: payload.dataset,
      className: payload.className,
      query: payload.query,
      count: payload.count,
      source: payload.source,
      signal,
      onProgress: (p) => progress.update(p),
      operation: `collect:${job.id}`,
    });
  } catch (err) {
    // The user's mistake (e.g. the dataset was deleted meanwhile) will not go away on retry.
    if (isUserError(err)) throw new UnrecoverableError(err.message);
    throw err;
  } finally {
    await progress.flush();
  }
}

/** A class whose job failed for good: its last reported counts, marked with the error. */
async function failedClassResult(rt: WorkerRuntime, key: string, reason: string): Promise<CollectResult | undefined> {
  const id = key.split(':').pop()!;
  const child = await Job.fromId(rt.queues.collect, id);
  const data = collectPayload.safeParse(child?.data);
  if (!data.success) return undefined;
  const last = collectProgress.safeParse(child?.progress);
  const counts = last.success
    ? last.data
    : { className: data.data.className, searched: 0, downloaded: 0, failed: {}, duplicates: 0, kept: 0, wanted: data.data.count };
  return { ...counts, providers: {}, providerErrors: {}, error: reason };
}

/** In the order the classes were asked for; results of classes not asked for go last. */
function inClassOrder(results: CollectResult[], classes: string[]): CollectResult[] {
  const rank = (r: CollectResult) => {
    const i = classes.findIndex((c) => c.toLowerCase() === r.className.toLowerCase());
    return i < 0 ? classes.length : i;
  };
  return [...results].sort((a, b) => rank(a) - rank(b));
}

async function summarise(rt: WorkerRuntime, job: Job): Promise<CollectResult[]> {
  const payload = collectSummaryPayload.parse(job.data);
  const values = await job.getChildrenValues();
  const results = Object.values(values).map((v) => collectResult.parse(v));
  const failures = await job.getIgnoredChildrenFailures();
  for (const [key, reason] of Object.entries(failures)) {
    const failed = await failedClassResult(rt, key, reason);
    if (failed) results.push(failed);
  }
  const ordered = inClassOrder(results, payload.classes);
  if (payload.target) {
    await notifyBot(rt, 'collect', job.id, { kind: 'collect-done', target: payload.target, dataset: payload.dataset, results: ordered });
  }
  return ordered;
}

async function add(rt: WorkerRuntime, job: Job, signal?: AbortSignal): Promise<AddResult> {
  const progress = throttledProgress((p) => job.updateProgress(p));
  try {
    return await addJob(rt, job.data, (p) => progress.update(p), signal);
  } finally {
    await progress.flush();
  }
}

export default async function processCollect(job: Job, _token?: string, signal?: AbortSignal): Promise<CollectResult | CollectResult[] | AddResult> {
  const rt = getRuntime();
  if (job.name === COLLECT_SUMMARY_JOB) return summarise(rt, job);
  if (job.name === ADD_JOB) return add(rt, job, signal);
  return collectOne(rt, job, signal);
}
