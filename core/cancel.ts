// Cancelling a running job from another process: the bot publishes the job id on a Redis
// channel; every worker process listens and aborts the job if it runs it (BullMQ's
// worker.cancelJob hands the processor an aborted AbortSignal).
import type { Redis } from 'ioredis';
import { blockingConnection } from './redis.js';
import type { QueueName } from './jobs.js';

export interface CancelRequest {
  queue: QueueName;
  jobId: string;
  by: string;
}

const channel = (prefix: string) => `${prefix}:cancel`;

export async function requestCancel(redis: Redis, prefix: string, req: CancelRequest): Promise<number> {
  return redis.publish(channel(prefix), JSON.stringify(req));
}

/** Subscribe with a dedicated connection; returns a function that unsubscribes and closes it. */
export async function onCancelRequest(redis: Redis, prefix: string, handle: (req: CancelRequest) => void): Promise<() => Promise<void>> {
  const sub = blockingConnection(redis);
  sub.on('error', () => {}); // reconnects by itself; the main connection logs outages
  sub.on('message', (_channel: string, message: string) => {
    try {
      handle(JSON.parse(message) as CancelRequest);
    } catch {
      /* a malformed message is not ours to act on */
    }
  });
  await sub.subscribe(channel(prefix));
  return async () => {
    await sub.unsubscribe().catch(() => {});
    sub.disconnect();
  };
}

const cancelledKey = (prefix: string, queue: QueueName, jobId: string) => `${prefix}:cancelled:${queue}:${jobId}`;

/** Remember that a job was cancelled, for a job that has not started yet (e.g. waiting on children). */
export async function markCancelled(redis: Redis, prefix: string, req: CancelRequest): Promise<void> {
  await redis.set(cancelledKey(prefix, req.queue, req.jobId), req.by, 'EX', 24 * 3600);
}

/** Who cancelled the job before it started, if anyone did. */
export async function cancelledBy(redis: Redis, prefix: string, queue: QueueName, jobId: string): Promise<string | undefined> {
  return (await redis.get(cancelledKey(prefix, queue, jobId))) ?? undefined;
}
