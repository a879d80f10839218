// Producer side of the job contract: typed, validated enqueueing. (Consumers live in workers/.)
import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { blockingConnection } from './redis.js';
import { payloadSchemas, QUEUE_NAMES, type PayloadOf, type QueueName } from './jobs.js';

export type Queues = { readonly [Q in QueueName]: Queue } & {
  add<Q extends QueueName>(queue: Q, name: string, payload: PayloadOf<Q>, opts?: JobsOptions): Promise<string>;
  close(): Promise<void>;
};

/** Retries with backoff for every job; finished jobs are kept for a while for /status and debugging. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export function createQueues(connection: Redis, prefix: string): Queues {
  const entries = QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS })] as const);
  const byName = Object.fromEntries(entries) as { [Q in QueueName]: Queue };
  return {
    ...byName,
    async add(queue, name, payload, opts) {
      const data = payloadSchemas[queue].parse(payload);
      const job = await byName[queue].add(name, data, opts);
      return job.id!;
    },
    async close() {
      await Promise.all(entries.map(([, q]) => q.close()));
    },
  };
}

export function createQueueEvents(name: QueueName, connection: Redis, prefix: string): QueueEvents {
  return new QueueEvents(name, { connection: blockingConnection(connection), prefix });
}
