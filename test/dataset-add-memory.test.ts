// Bounded memory (issue 12 finding 6): /dataset add of 100 large URLs runs on a collect worker
// (its own process here), so the bot process stays small. Its downloads used to run in the bot:
// 100 URLs of 18 MB peaked at 1.15 GB there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJpeg } from './fakes/imagehost/images.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startKodiak, type Kodiak } from './helpers/harness.js';
import { startWorkerProcess, type WorkerProcess } from './helpers/workerProcess.js';

const MiB = 1024 * 1024;
let k: Kodiak;
let host: ImageHost;
let worker: WorkerProcess;

beforeAll(async () => {
  // A small picture carrying 18 MB after its end: large to download, cheap to verify.
  const big = Buffer.concat([await makeJpeg(1), Buffer.alloc(18 * MiB)]);
  host = await startImageHost({ imageFor: (seed) => (seed >= 50_000 ? Promise.resolve(big) : undefined) });
  // This process is the bot (with the fake Discord); it runs no worker.
  k = await startKodiak({ queues: [] });
  worker = startWorkerProcess({
    REDIS_URL: k.config.REDIS_URL,
    QUEUE_PREFIX: k.config.QUEUE_PREFIX,
    DATA_DIR: k.config.DATA_DIR,
    ALLOW_PRIVATE_URLS: 'true',
    WORKER_QUEUES: 'collect',
    DOWNLOAD_MAX_BYTES: String(20 * MiB),
  });
});

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await k?.stop();
  await host?.close();
});

describe('/dataset add of 100 large URLs', () => {
  it('is downloaded by a collect worker, and the bot process stays under 300 MB', async () => {
    const alice = k.fake.user('alice');
    await (await alice.runCommand('dataset create', { name: 'big', classes: 'cats, dogs' })).reply();
    const list = Array.from({ length: 100 }, (_, i) => `${host.url}/img/${50_000 + i}.jpg`).join('\n');
    const handle = await alice.runCommand('dataset add', { name: 'big', class: 'cats' }, { attachments: [{ name: 'urls.txt', data: list }] });
    const reply = await k.fake.waitFor(() => handle.original()?.content.startsWith('Added') && handle.original(), 'the /dataset add summary', { timeout: 120_000 });
    // The same picture 100 times: one is kept, the rest are duplicates; every URL was fetched.
    expect(reply.content, worker.output()).toContain('Added 1 image to **big** (**cats**: 1) out of 100.');
    expect([...host.hits.entries()].filter(([p]) => p.startsWith('/img/5')).length).toBe(100);
    // Peak resident memory of this process (the bot, the fake Discord and the test runner).
    expect(process.resourceUsage().maxRSS * 1024).toBeLessThan(300 * MiB);
  }, 180_000);
});
