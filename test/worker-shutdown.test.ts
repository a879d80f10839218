// Recovery (issue 12 finding 7): SIGTERM to a worker process in the middle of a training aborts
// it and hands the job back to the queue, attempt unused, instead of finishing it (which
// outlives an orchestrator's grace period) or leaving it "active" until its lock expires; the
// next worker then trains it once.
import fs from 'node:fs/promises';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFromFolder } from '../core/collect/collect.js';
import { jobId } from '../core/jobs.js';
import { createQueues } from '../core/queues.js';
import { startWorkers } from '../workers/index.js';
import { syntheticImages, SYNTHETIC_CLASSES } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { startStack, type TestStack } from './helpers/stack.js';
import { startWorkerProcess, type WorkerProcess } from './helpers/workerProcess.js';

let stack: TestStack;
let mirror: ModelMirror;
let worker: WorkerProcess | undefined;
const ref = { guildId: 'g1', name: 'shapes' };

beforeAll(async () => {
  mirror = await startModelMirror();
  // This process runs no train worker until the other one has let go of the job.
  stack = await startStack({ queues: [], env: { MODEL_MIRROR_URL: mirror.url } });
  const folder = path.join(stack.config.DATA_DIR, 'import');
  for (const img of await syntheticImages(8, { size: 64, seed: 3 })) {
    await fs.mkdir(path.join(folder, img.label), { recursive: true });
    await fs.writeFile(path.join(folder, img.label, `${img.classIndex}-${Math.random().toString(36).slice(2)}.jpg`), img.bytes);
  }
  await stack.services.datasets.create(ref, [...SYNTHETIC_CLASSES], 'u1');
  await addFromFolder({ services: stack.services, dataset: ref, folder });
});

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await stack?.stop();
  await mirror?.close();
});

describe('a worker told to stop', () => {
  it('hands its running training back to the queue, and the next worker trains it once', async () => {
    const queues = createQueues(stack.services.redis, stack.config.QUEUE_PREFIX);
    const events = new QueueEvents('train', { connection: stack.services.redis.duplicate(), prefix: stack.config.QUEUE_PREFIX });
    try {
      await events.waitUntilReady();
      const id = jobId('train', ref.guildId, ref.name, 'sigterm');
      // Many epochs, so the training is still running when the signal comes.
      await queues.add('train', 'train', { dataset: ref, epochs: 500 }, { jobId: id, attempts: 2 });
      const training = new Promise<void>((resolve) => events.on('progress', ({ jobId: j, data }) => j === id && (data as { stage?: string }).stage === 'training' && resolve()));
      worker = startWorkerProcess({
        REDIS_URL: stack.config.REDIS_URL,
        QUEUE_PREFIX: stack.config.QUEUE_PREFIX,
        DATA_DIR: stack.config.DATA_DIR,
        MODEL_MIRROR_URL: mirror.url,
        WORKER_QUEUES: 'train',
        EMBED_THREADS: '1',
        WORKER_SHUTDOWN_GRACE_MS: '60000',
      });
      await training;
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toBe(0);
      const job = (await queues.train.getJob(id))!;
      expect(await job.getState(), worker.output()).toBe('waiting');
      expect(job.attemptsMade).toBe(0);
      expect(worker.output()).toContain('job handed back to the queue');
      expect(await stack.services.models.get(ref).catch(() => undefined)).toBeUndefined();

      // The next worker (here, in this process) takes it and trains it, once.
      await job.updateData({ dataset: ref, epochs: 5 });
      const next = await startWorkers({ ...stack.services, queues }, ['train']);
      try {
        await job.waitUntilFinished(events, 120_000);
        const done = (await queues.train.getJob(id))!;
        expect(done.attemptsMade).toBe(1);
        expect((await stack.services.models.get(ref))?.version).toBe(1);
      } finally {
        await next.close();
      }
    } finally {
      await events.close();
      await queues.close();
    }
  });
});
