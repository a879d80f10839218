// /dataset add where Discord's clock matters: a slow history route inside the 3-second window,
// an add that outlives its 15-minute interaction token, and an error after progress was shown.
// Latency is on and no test may make an invalid (401/403/429) request.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeJpeg } from './fakes/imagehost/images.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import type { InteractionHandle } from '../playground/server/index.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

let k: Kodiak;
let host: ImageHost;
/** Downloads from the image host wait on this gate while a test holds it. */
let gate: Promise<void> = Promise.resolve();

afterEach(() => expectNoInvalidRequests(k));

/** The reply once it no longer shows progress (`handle.reply()` resolves on the first edit). */
const finalReply = (handle: InteractionHandle) =>
  k.fake.waitFor(() => {
    const original = handle.original();
    return original && !original.content.startsWith('Adding to') && !(original.flags! & 128) ? original : undefined;
  }, 'the final reply', { timeout: 30_000 });

beforeAll(async () => {
  host = await startImageHost({ imageFor: async (seed) => gate.then(() => makeJpeg(seed)) });
  // /dataset add runs on a collect worker.
  k = await startKodiak({ queues: ['collect'], env: { DOWNLOAD_RETRIES: '0' } });
  await (await k.fake.user('alice').runCommand('dataset create', { name: 'pets', classes: 'cat, dog' })).reply();
});

afterAll(async () => {
  await k?.stop();
  await host?.close();
});

describe('/dataset add and the interaction clock', () => {
  it('recent: acknowledges before reading a slow history, then adds the photos posted', async () => {
    const alice = k.fake.user('alice');
    for (const seed of [1, 2]) await alice.send({ attachments: [{ name: `cat${seed}.jpg`, data: await makeJpeg(seed), contentType: 'image/jpeg' }] });
    k.fake.delayRoute('GET /channels/:channel_id/messages', 3_500);
    try {
      const handle = await alice.runCommand('dataset add', { name: 'pets', class: 'cat', recent: 5 });
      expect((await handle.acknowledged()).type).toBe(5);
      const reply = await finalReply(handle);
      expect(reply.content).toContain('Added 2 images to **pets**');
    } finally {
      k.fake.delayRoute('GET /channels/:channel_id/messages', 0);
    }
  });

  it('past the 15-minute token: no more edits, the summary goes to the channel and mentions the user', async () => {
    const alice = k.fake.user('alice');
    let release: () => void = () => {};
    gate = new Promise<void>((resolve) => (release = resolve));
    const list = [10, 11, 12].map((s) => `${host.url}/img/${s}.jpg`).join('\n');
    const handle = await alice.runCommand('dataset add', { name: 'pets', class: 'dog' }, { attachments: [{ name: 'dogs.txt', data: list }] });
    await handle.acknowledged();
    await k.fake.waitFor(() => (host.hits.get('/img/10.jpg') ?? 0) > 0 || undefined, 'the downloads to start');
    k.advanceTime(14.5 * 60_000);
    const since = k.fake.mark();
    release();
    const summary = await k.fake.waitForMessage((m) => m.content.startsWith(`<@${alice.id}>`), { since, timeout: 30_000 });
    expect(summary.content).toContain('Added 3 images to **pets**');
    expect(k.fake.events('message.update', since).filter((e) => e.subject === handle.original()?.id)).toEqual([]);
  });

  it('an error after the work started lands in the original reply, not in an ephemeral follow-up', async () => {
    gate = Promise.resolve();
    const alice = k.fake.user('alice');
    const handle = await alice.runCommand('dataset add', { name: 'pets', class: 'cat' }, {
      attachments: [{ name: 'cat.jpg', data: await makeJpeg(20), contentType: 'image/jpeg' }, { name: 'broken.zip', data: Buffer.from('not a zip at all') }],
    });
    const reply = await finalReply(handle);
    expect(reply.content).toMatch(/^⚠️/);
    expect(handle.ephemeral).toBe(false);
    expect(handle.followUps()).toEqual([]);
  });
});
