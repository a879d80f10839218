// /train bears end to end: on a fresh server the bot creates the dataset, collects it from a
// fake image search (pictures the test generates so the classes are learnable), trains on the
// ImageNet backbone served from test/fixtures/models through MODEL_MIRROR_URL, posts the report;
// then /model use bears, a dropped photo is classified, a text file gets the short message,
// and /cancel stops a training.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../playground/server/index.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeImage, type FakeSearch } from './fakes/search/server.js';
import { syntheticImages } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { VIEWS } from '../core/ml/views.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

const BEARS = ['grizzly bear', 'black bear', 'teddy bear'];
const PER_CLASS = 30;

let k: Kodiak;

// Discord bans an application after 10,000 invalid requests: normal flows make none.
afterEach(() => expectNoInvalidRequests(k));
let host: ImageHost;
let search: FakeSearch;
let mirror: ModelMirror;
/** Generated pictures by seed: seed = 1000 * (class + 1) + i. */
const pictures = new Map<number, Buffer>();

const text = (m: Pick<FakeMessage, 'content' | 'embeds'>) =>
  [m.content, ...(m.embeds ?? []).flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text])].join('\n');

function catalogue(query: string): FakeImage[] {
  const c = BEARS.indexOf(query);
  if (c < 0) return [];
  return Array.from({ length: PER_CLASS }, (_, i) => ({ url: `${host.url}/img/${1000 * (c + 1) + i}.jpg`, title: `${query} ${i}`, creator: 'Test', license: 'cc0' }));
}

beforeAll(async () => {
  // Class c of the bears is drawn as synthetic class c (red circles, blue stripes, green squares).
  const generated = await syntheticImages(PER_CLASS + 2, { size: 96, seed: 7 });
  for (const img of generated) {
    const i = pictures.size;
    pictures.set(1000 * (img.classIndex + 1) + Math.floor(i / 3), img.bytes);
  }
  host = await startImageHost({ imageFor: (seed) => (pictures.has(seed) ? Promise.resolve(pictures.get(seed)!) : undefined) });
  search = await startFakeSearch({ images: (_p, query) => catalogue(query) });
  mirror = await startModelMirror();
  k = await startKodiak({
    // The product's default views (the other tests use one view for speed).
    env: { SEARCH_PROVIDERS: 'openverse', OPENVERSE_URL: search.url, MODEL_MIRROR_URL: mirror.url, DOWNLOAD_RETRIES: '0', IMAGE_VIEWS: VIEWS.join(',') },
  });
});

afterAll(async () => {
  await k?.stop();
  await Promise.all([search?.close(), host?.close(), mirror?.close()]);
});

describe('/train bears on a fresh server', () => {
  it('collects, trains and posts a report with error rate, per-class figures and a confusion matrix', async () => {
    const alice = k.fake.user('alice');
    const since = k.fake.mark();
    const handle = await alice.runCommand('train', { name: 'bears', images: PER_CLASS });
    const ack = await handle.reply();
    expect(ack.content).toContain('Created **bears** (grizzly bear, black bear, teddy bear)');

    const report = await k.fake.waitForMessage((m) => (m.embeds?.[0]?.title ?? '').startsWith('Model bears v1'), { since, timeout: 120_000 });
    const body = text(report);
    expect(body).toMatch(/error rate \d+\.\d%/);
    for (const c of BEARS) expect(body).toContain(c);
    expect(body).toContain('precision');
    expect(body).toContain('mobilenet_v2_035');
    expect(report.attachments.map((a) => a.filename)).toEqual(expect.arrayContaining(['confusion.png']));
    expect(report.embeds[0]!.image?.url).toBe('attachment://confusion.png');

    // The backbone came from the loopback mirror: the whole path ran offline.
    expect(mirror.requests).toEqual(expect.arrayContaining(['/mobilenet_v2_035/model.json', '/mobilenet_v2_035/weights.bin']));
    expect(body).not.toContain('⚠️'); // no fallback note: the ImageNet backbone was used
    const meta = await k.ctx.models.require({ guildId: k.fake.guild.id, name: 'bears' });
    // 18 validation images here; test/ml-train.test.ts holds the >= 0.95 acceptance on a larger set.
    expect(meta.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(meta.preprocessing.views).toEqual([...VIEWS]); // trained on every view; photos are answered from their average

    // The progress message ended on the finished state.
    const progressId = ack.content.match(/channels\/\d+\/\d+\/(\d+)/)?.[1];
    expect(progressId).toBeDefined();
    const progress = k.fake.message(progressId!);
    expect(text(progress as FakeMessage)).toContain('Trained bears: model v1');
  }, 180_000);

  it('/model use bears, then a dropped photo is answered with its class first', async () => {
    const alice = k.fake.user('alice');
    const used = await (await alice.runCommand('model use', { name: 'bears' })).reply();
    expect(used.content).toContain('now classified by **bears**');

    const photo = pictures.get(1000 * 1 + PER_CLASS + 1)!; // a grizzly (class 0) never collected
    const posted = await alice.send({ attachments: [{ name: 'bear.jpg', data: photo, contentType: 'image/jpeg' }] });
    const reply = await k.fake.waitForMessage((m) => m.message_reference?.message_id === posted.id, { timeout: 60_000 });
    expect(reply.content.split('\n')[0]).toMatch(/^\*\*grizzly bear\*\* \(\d+(\.\d)?%\)/);
    expect(reply.content).toContain('bears v1');
  }, 90_000);

  it('a non-image attachment gets the short message', async () => {
    const posted = await k.fake.user('bob').send({ attachments: [{ name: 'notes.txt', data: Buffer.from('hello'), contentType: 'text/plain' }] });
    const reply = await k.fake.waitForMessage((m) => m.message_reference?.message_id === posted.id);
    expect(reply.content).toContain('`notes.txt` is not an image I can read');
  });

  it('/cancel stops a training that has not started, and no new version appears', async () => {
    // A paused queue keeps the new training waiting, so the cancel finds it before it starts.
    await k.ctx.queues.train.pause();
    try {
      const alice = k.fake.user('alice');
      const started = await (await alice.runCommand('train', { name: 'bears' })).reply();
      expect(started.content).toContain('Retraining **bears**');
      const bob = await (await k.fake.user('bob').runCommand('cancel', { name: 'bears' })).reply();
      expect(bob.content).toContain('Only the person who started this training');
      const cancelled = await (await alice.runCommand('cancel', { name: 'bears' })).reply();
      expect(cancelled.content).toContain('Cancelled the training of **bears** before it started');
    } finally {
      await k.ctx.queues.train.resume();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect((await k.ctx.models.versions({ guildId: k.fake.guild.id, name: 'bears' })).length).toBe(1);
  });

  it('/cancel stops a training while it runs, and the starter is told', async () => {
    const alice = k.fake.user('alice');
    const since = k.fake.mark();
    // A backbone whose features are not cached yet: embedding keeps the job busy for a while.
    const started = await (await alice.runCommand('train', { name: 'bears', backbone: 'nsfwjs_mobilenet_v2_140' })).reply();
    const progressId = started.content.match(/channels\/\d+\/\d+\/(\d+)/)![1]!;
    await k.fake.waitForEdit((m) => m.id === progressId && text(m).includes('computing image features'), { since, timeout: 60_000 });
    const stopping = await (await alice.runCommand('cancel', { name: 'bears' })).reply();
    expect(stopping.content).toContain('Stopping the training of **bears**');
    const told = await k.fake.waitForMessage((m) => m.content.includes('did not finish') && m.content.includes('cancelled'), { since, timeout: 60_000 });
    expect(told.content).toContain('training of bears was cancelled');
    expect((await k.ctx.models.versions({ guildId: k.fake.guild.id, name: 'bears' })).length).toBe(1);
  }, 120_000);
});
