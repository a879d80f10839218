// Starts one BullMQ worker per queue named in WORKER_QUEUES. Each queue's processor lives in
// workers/<queue>.ts: a default export taking the job (so it also runs sandboxed) and an
// optional init() that prepares the process (e.g. the ML backend) and says what it runs on.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { blockingConnection } from '../core/redis.js';
import type { QueueName } from '../core/jobs.js';
import { onCancelRequest } from '../core/cancel.js';
import { isStorageError } from '../core/errors.js';
import { closeSharedDownloader, configureSharpForWorkers, threadPoolAdvice } from '../core/collect/pipeline.js';
import { searchNotes } from '../core/collect/identity.js';
import { releaseRun } from '../core/quotas.js';
import { sweepFilesInBackground } from '../core/store/gc.js';
import { announceWorker, describeWorker } from '../core/workerRegistry.js';
import { JobHandBack } from './handBack.js';
import { getRuntime, notifyBot, setRuntime, type WorkerRuntime } from './runtime.js';

export interface ProcessorModule {
  default: (job: Job) => Promise<unknown>;
  /** `note`: what /status should add about this worker now (e.g. a backbone fallback); re-read at every announcement. */
  init?: (rt: WorkerRuntime) => Promise<{ backend: string; note?: () => string | undefined }>;
}

/**
 * A job's lock lasts 30 s and is renewed every 15 s; the processors never hold the event loop
 * that long (training yields between batches). A worker that dies (kill -9, a lost machine)
 * leaves its job to the stalled check, which every worker runs every 15 s: the job is back in
 * `wait` within about 45 s of the last renewal, and is run once more, not twice.
 */
const LOCK_DURATION_MS = 30_000;
const STALLED_INTERVAL_MS = 15_000;

/** The notify queue is consumed inside the bot process, not here. */
export type WorkerQueue = Exclude<QueueName, 'notify'>;

const PROCESSORS: Partial<Record<WorkerQueue, () => Promise<ProcessorModule>>> = {
  collect: () => import('./collect.js'),
  train: () => import('./train.js'),
  predict: () => import('./predict.js'),
  clean: () => import('./clean.js'),
};

const CONCURRENCY_VAR = {
  collect: 'COLLECT_CONCURRENCY',
  train: 'TRAIN_CONCURRENCY',
  clean: 'CLEAN_CONCURRENCY',
  predict: 'PREDICT_CONCURRENCY',
} as const satisfies Record<WorkerQueue, string>;

export interface RunningWorkers {
  workers: Worker[];
  backends: Partial<Record<WorkerQueue, string>>;
  close(): Promise<void>;
}

function isWorkerQueue(q: QueueName): q is WorkerQueue {
  return q !== 'notify';
}

export async function startWorkers(rt: WorkerRuntime, queues: readonly QueueName[]): Promise<RunningWorkers> {
  setRuntime(rt);
  const { config, log } = rt;
  configureSharpForWorkers();
  const advice = threadPoolAdvice();
  if (advice) log.warn(advice);
  if (queues.includes('collect')) for (const note of searchNotes(config)) log.warn({ search: note.kind }, note.text);
  if (queues.includes('collect')) sweepFilesInBackground(rt, 'collect worker started');
  const workers: Worker[] = [];
  const handBack = new JobHandBack(log);
  const withdrawals: (() => Promise<void>)[] = [];
  const backends: RunningWorkers['backends'] = {};
  const byQueue = new Map<string, Worker>();
  for (const queue of queues.filter(isWorkerQueue)) {
    const load = PROCESSORS[queue];
    if (!load) continue;
    const mod = await load();
    const { backend, note } = (await mod.init?.(rt)) ?? { backend: 'none (no ML)' };
    backends[queue] = backend;
    const worker = new Worker(queue, handBack.wrap(mod.default), {
      connection: blockingConnection(rt.redis),
      prefix: config.QUEUE_PREFIX,
      concurrency: config[CONCURRENCY_VAR[queue]],
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
    });
    worker.on('error', (err) => log.error({ err, queue }, 'worker error'));
    worker.on('failed', (job, err) => void reportFailure(rt, queue, job, err));
    worker.on('completed', (job) => void releaseLease(rt, job));
    workers.push(worker);
    byQueue.set(queue, worker);
    const info = describeWorker(queue, backend);
    withdrawals.push(announceWorker(rt.redis, config.QUEUE_PREFIX, note ? () => ({ ...info, note: note() }) : info));
    log.info({ queue, backend, concurrency: config[CONCURRENCY_VAR[queue]] }, 'worker started');
  }
  const stopListening = await onCancelRequest(rt.redis, config.QUEUE_PREFIX, ({ queue, jobId, by }) => {
    if (byQueue.get(queue)?.cancelJob(jobId, `cancelled by ${by}`)) log.info({ queue, jobId, by }, 'job cancelled');
  });
  return {
    workers,
    backends,
    async close() {
      await stopListening();
      // Running jobs are aborted and handed back to their queue within the grace period.
      await handBack.close(workers, config.WORKER_SHUTDOWN_GRACE_MS);
      await Promise.all(withdrawals.map((w) => w()));
      await closeSharedDownloader(config);
    },
  };
}

/** Log every failure; tell the user once, when the last attempt has failed. */
async function reportFailure(rt: WorkerRuntime, queue: WorkerQueue, job: Job | undefined, err: Error): Promise<void> {
  const unrecoverable = err instanceof UnrecoverableError;
  const finalAttempt = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || unrecoverable;
  rt.log.error({ err, queue, jobId: job?.id, attempt: job?.attemptsMade, final: finalAttempt }, 'job failed');
  if (finalAttempt && job) await releaseLease(rt, job);
  const target = job?.data?.target;
  if (!finalAttempt || !target) return;
  // Unrecoverable failures carry a message meant for the user (a UserError or a cancel).
  const message = unrecoverable || err.name === 'UserError' ? err.message : isStorageError(err) ? err.userMessage : 'an internal error (it has been logged)';
  await notifyBot(rt, queue, job?.id, { kind: 'job-failed', target, queue, message }).catch((e) => rt.log.error({ err: e }, 'could not report a failure'));
}

/** The last job of a run has ended: the server's quota gets its place back. */
async function releaseLease(rt: WorkerRuntime, job: Job): Promise<void> {
  const { lease, dataset } = (job.data ?? {}) as { lease?: unknown; dataset?: { guildId?: unknown } };
  if (typeof lease !== 'string' || typeof dataset?.guildId !== 'string') return;
  await releaseRun(rt, dataset.guildId, lease).catch((err: unknown) => rt.log.warn({ err, jobId: job.id }, 'could not release a quota lease'));
}

/** `tsx workers/index.ts`: run only the workers, e.g. on a GPU machine. */
export async function runWorkersStandalone(): Promise<void> {
  const rt = getRuntime();
  let running: RunningWorkers | undefined;
  // Installed before the workers start, so a signal during start-up still closes what exists.
  const shutdown = async (signal: string) => {
    rt.log.info({ signal }, 'closing workers');
    await running?.close();
    await rt.queues.close();
    rt.redis.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  running = await startWorkers(rt, rt.config.WORKER_QUEUES);
}
