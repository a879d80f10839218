// The collect flow through real BullMQ workers (no Discord): the summary parent runs once every
// class has finished, also when one class fails for good, and hands the bot one 'collect-done'.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addCollectFlow } from '../core/collectFlow.js';
import { jobId, notifyPayload, type NotifyPayload } from '../core/jobs.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeSearch } from './fakes/search/server.js';
import { startStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let host: ImageHost;
let search: FakeSearch;
let notify: Queue;

beforeAll(async () => {
  host = await startImageHost();
  search = await startFakeSearch({ images: (_p, q) => (q === 'cub' ? [1, 2, 3, 4].map((s) => ({ url: `${host.url}/img/${s}.jpg` })) : []) });
  stack = await startStack({ queues: ['collect'], env: { SEARCH_PROVIDERS: 'openverse', OPENVERSE_URL: search.url, DOWNLOAD_RETRIES: '0' } });
  notify = new Queue('notify', { connection: stack.services.redis, prefix: stack.config.QUEUE_PREFIX });
});

afterAll(async () => {
  await notify?.close();
  await stack?.stop();
  await search?.close();
  await host?.close();
});

async function waitForJob(id: string) {
  for (let i = 0; i < 300; i++) {
    const job = await notify.getJob(id);
    if (job) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no notify job ${id}`);
}

it('reports every class, a failed one with its error, in the order asked', async () => {
  const dataset = { guildId: '123456', name: 'cubs' };
  await stack.services.datasets.create(dataset, ['cub'], 'u1');
  const target = { channelId: 'c1', progressMessageId: 'm1', userId: 'u1' };
  // "ghost" is not a class of the dataset: its job fails at once and is not retried.
  const { parentId } = await addCollectFlow(stack.services.redis, stack.config.QUEUE_PREFIX, { dataset, classes: ['ghost', 'cub'], count: 3, target, runId: 'r1' });

  const done = notifyPayload.parse((await waitForJob(jobId('collect', parentId, 'collect-done'))).data) as Extract<NotifyPayload, { kind: 'collect-done' }>;
  expect(done.target).toEqual(target);
  expect(done.results.map((r) => r.className)).toEqual(['ghost', 'cub']);
  expect(done.results[0]!.error).toContain('is not a class of cubs');
  expect(done.results[1]).toMatchObject({ kept: 3, wanted: 3, providers: { openverse: 3 } });
  expect(done.results[1]!.error).toBeUndefined();
  expect(await stack.services.datasets.items(dataset)).toHaveLength(3);

  // The failed class was also reported on its own, once, with the user's message.
  const failed = (await notify.getJobs(['waiting', 'prioritized', 'delayed'])).filter((j) => j.data.kind === 'job-failed');
  expect(failed).toHaveLength(1);
  expect(failed[0]!.data.message).toContain('is not a class of cubs');
});
