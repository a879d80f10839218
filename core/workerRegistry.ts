// Workers announce themselves (queue, ML backend, host) in Redis with a short TTL, so /status
// can say which workers are alive and what each computes with.
import os from 'node:os';
import type { Redis } from 'ioredis';
import type { QueueName } from './jobs.js';

export interface WorkerInfo {
  id: string;
  queue: QueueName;
  backend: string;
  /** Something /status should show about this worker, e.g. that the default backbone fell back. */
  note?: string;
  host: string;
  pid: number;
  startedAt: number;
}

const TTL_SECONDS = 30;
const key = (prefix: string, id: string) => `${prefix}:workers:${id}`;

export function describeWorker(queue: QueueName, backend: string): WorkerInfo {
  return { id: `${queue}-${os.hostname()}-${process.pid}`, queue, backend, host: os.hostname(), pid: process.pid, startedAt: Date.now() };
}

/**
 * Announce a worker now and every TTL/3 seconds; returns a function that withdraws it. Given a
 * function, the info is re-read at every announcement (a note can appear after a training).
 */
export function announceWorker(redis: Redis, prefix: string, info: WorkerInfo | (() => WorkerInfo)): () => Promise<void> {
  const current = typeof info === 'function' ? info : () => info;
  const id = current().id;
  const write = () => redis.set(key(prefix, id), JSON.stringify(current()), 'EX', TTL_SECONDS).catch(() => {});
  void write();
  const timer = setInterval(write, (TTL_SECONDS * 1000) / 3);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await redis.del(key(prefix, id)).catch(() => {});
  };
}

export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', key(prefix, '*'), 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (!keys.length) return [];
  const values = await redis.mget(keys);
  return values.flatMap((v) => (v ? [JSON.parse(v) as WorkerInfo] : []));
}
