// What a worker processor needs, built once per process. Processors get it from here rather
// than from arguments so that a processor file also works as a BullMQ sandboxed processor.
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { createQueues, type Queues } from '../core/queues.js';
import { createRedis } from '../core/redis.js';
import { createServices, type Services } from '../core/services.js';
import { jobId, type NotifyPayload } from '../core/jobs.js';

export interface WorkerRuntime extends Services {
  queues: Queues;
}

let runtime: WorkerRuntime | undefined;

export function setRuntime(rt: WorkerRuntime): void {
  runtime = rt;
}

/** The process's runtime; in a sandboxed child process it is built from the environment. */
export function getRuntime(): WorkerRuntime {
  if (!runtime) {
    const config = loadConfig();
    const log = createLogger(config.LOG_LEVEL, 'kodiak-worker');
    const redis = createRedis(config.REDIS_URL, {}, log);
    runtime = { ...createServices(config, redis, log), queues: createQueues(redis, config.QUEUE_PREFIX) };
  }
  return runtime;
}

/**
 * Hand a result to the bot. The notify job id is derived from the source job, so a processor
 * that is retried after notifying does not post twice.
 */
export async function notifyBot(rt: WorkerRuntime, sourceQueue: string, sourceJobId: string | undefined, payload: NotifyPayload): Promise<void> {
  const id = jobId(sourceQueue, sourceJobId ?? 'none', payload.kind);
  await rt.queues.add('notify', payload.kind, payload, { jobId: id });
}
