// Cancelling a training that is running: the worker has the job, and a cancel published through
// core/cancel.ts aborts it. The backbone mirror accepts the download and never answers, so the
// job is held in its first stage for as long as the test needs (no timing luck): the test waits
// for the job's progress event and for the download to reach the mirror, then cancels.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestCancel } from '../core/cancel.js';
import { addFromFolder } from '../core/collect/collect.js';
import type { TrainProgress } from '../core/jobs.js';
import { createQueues, type Queues } from '../core/queues.js';
import { syntheticImages } from './fixtures/images.js';
import { startStack, type TestStack } from './helpers/stack.js';

/** A model mirror that takes every request and never answers it. */
async function startStalledMirror(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req) => void requests.push(req.url ?? ''));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let stack: TestStack;
let mirror: Awaited<ReturnType<typeof startStalledMirror>>;
let queues: Queues;
let events: QueueEvents;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-cancel-'));

beforeAll(async () => {
  mirror = await startStalledMirror();
  stack = await startStack({ queues: ['train'], env: { MODEL_MIRROR_URL: mirror.url } });
  queues = createQueues(stack.services.redis, stack.config.QUEUE_PREFIX);
  events = new QueueEvents('train', { connection: stack.services.redis.duplicate(), prefix: stack.config.QUEUE_PREFIX });
  await events.waitUntilReady();
});

afterAll(async () => {
  await events?.close();
  await queues?.close();
  await stack?.stop();
  await mirror?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('/cancel of an active training', () => {
  it('aborts the running job with the "cancelled" message and saves no model version', async () => {
    const dataset = { guildId: 'g1', name: 'shapes' };
    for (const [i, img] of (await syntheticImages(3, { size: 64, seed: 5 })).entries()) {
      fs.mkdirSync(path.join(tmp, img.label), { recursive: true });
      fs.writeFileSync(path.join(tmp, img.label, `${i}.jpg`), img.bytes);
    }
    await stack.services.datasets.create(dataset, ['red circles', 'blue stripes', 'green squares'], 'test');
    expect((await addFromFolder({ services: stack.services, dataset, folder: tmp })).kept).toBe(9);

    const stages: string[] = [];
    const jobId = 'train-cancel-active';
    events.on('progress', ({ jobId: id, data }) => {
      if (id === jobId) stages.push((data as TrainProgress).stage);
    });
    const job = await queues.train.add('train', { dataset }, { jobId });
    await until(() => stages.includes('backbone'), 'the job to report progress');
    await until(() => mirror.requests.includes('/mobilenet_v2_035/model.json'), 'the backbone download to start');
    expect(await job.getState()).toBe('active');

    const listeners = await requestCancel(stack.services.redis, stack.config.QUEUE_PREFIX, { queue: 'train', jobId, by: 'alice' });
    expect(listeners).toBeGreaterThanOrEqual(1);
    await expect(job.waitUntilFinished(events, 30_000)).rejects.toThrow('training of shapes was cancelled (cancelled by alice)');

    const failed = await queues.train.getJob(jobId);
    expect(await failed!.getState()).toBe('failed');
    expect(failed!.attemptsMade).toBe(1); // unrecoverable: not retried
    expect(await stack.services.models.versions(dataset)).toEqual([]);
    expect(stages).not.toContain('saving');
  });
});
