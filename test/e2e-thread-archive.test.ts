// /train started in a thread that gets archived (auto-archive after inactivity, or a moderator)
// while the job runs. Discord refuses edits in an archived thread (50083) but a new message
// unarchives it; a locked thread refuses messages too (160005) unless the bot has Manage
// Threads. The user must still get the report, and the bot must not keep hammering a message
// it cannot edit.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../playground/server/index.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeSearch } from './fakes/search/server.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

const CLASSES = ['grizzly bear', 'black bear'];

let k: Kodiak;
let host: ImageHost;
let search: FakeSearch;
let mirror: ModelMirror;

afterEach(() => expectNoInvalidRequests(k));

beforeAll(async () => {
  host = await startImageHost();
  search = await startFakeSearch({
    images: (_p, query) => {
      const c = CLASSES.indexOf(query);
      return c < 0 ? [] : Array.from({ length: 12 }, (_, i) => ({ url: `${host.url}/img/${1000 * (c + 1) + i}.jpg?w=96&h=72`, license: 'cc0' }));
    },
  });
  mirror = await startModelMirror();
  k = await startKodiak({ env: { SEARCH_PROVIDERS: 'openverse', OPENVERSE_URL: search.url, MODEL_MIRROR_URL: mirror.url, DOWNLOAD_RETRIES: '0' } });
});

afterAll(async () => {
  await k?.stop();
  await Promise.all([search?.close(), host?.close(), mirror?.close()]);
});

const text = (m: Pick<FakeMessage, 'content' | 'embeds'>) =>
  [m.content, ...(m.embeds ?? []).flatMap((e) => [e.title, e.description, e.footer?.text])].join('\n');
const progressIdOf = (content: string) => content.match(/channels\/\d+\/\d+\/(\d+)/)![1]!;
/** Requests Discord refused because of the thread's state: each one is a wasted call. */
const threadRefusals = (since: number) => k.fake.requests(since).filter((r) => r.code === 50083 || r.code === 160005);

describe('/train in a thread that gets archived', () => {
  it('posts the report in the thread (unarchiving it), finishes the progress message, and does not keep editing meanwhile', async () => {
    const thread = k.fake.createThread('general', 'cub training');
    const alice = k.fake.user('alice');
    const since = k.fake.mark();
    const ack = await (await alice.runCommand('train', { name: 'cubs', classes: CLASSES.join(', '), images: 10 }, { channel: thread.id })).reply();
    const progressId = progressIdOf(ack.content);
    await k.fake.waitForEdit((m) => m.id === progressId, { since, timeout: 60_000 });

    const archivedAt = k.fake.mark();
    k.fake.updateThread(thread.id, { archived: true });
    const report = await k.fake.waitForMessage((m) => (m.embeds?.[0]?.title ?? '').startsWith('Model cubs v1'), { since, channel: thread.id, timeout: 90_000 });
    expect(report.channel_id).toBe(thread.id);
    expect(k.fake.thread(thread.id).archived).toBe(false);
    // The report unarchived the thread, so the progress message could take its final state.
    await k.fake.waitFor(() => text(k.fake.message(progressId)).includes('Trained cubs: model v1') || undefined, 'the finished progress message', { timeout: 10_000 });
    // At most the one edit that found out the thread was archived; no edit per progress event.
    expect(threadRefusals(archivedAt).length).toBeLessThanOrEqual(1);
  }, 200_000);

  it('a locked thread: the report goes to the parent channel with a link to the thread, and nothing is retried', async () => {
    const thread = k.fake.createThread('general', 'locked cubs');
    const alice = k.fake.user('alice');
    const since = k.fake.mark();
    const ack = await (await alice.runCommand('train', { name: 'cubs' }, { channel: thread.id })).reply();
    expect(ack.content).toContain('Retraining **cubs**');
    // A moderator locks and archives it before the bot says anything more.
    const lockedAt = k.fake.mark();
    k.fake.updateThread(thread.id, { archived: true, locked: true });

    const report = await k.fake.waitForMessage((m) => (m.embeds?.[0]?.title ?? '').startsWith('Model cubs v2'), { since, timeout: 90_000 });
    expect(report.channel_id).toBe(k.fake.channel('general').id);
    expect(report.content).toContain(`<#${thread.id}>`);
    expect(k.fake.thread(thread.id)).toEqual({ archived: true, locked: true });
    await new Promise((r) => setTimeout(r, 1000)); // room for a retried notify job, if any
    // At most the one edit sent before the bot heard of the lock; the final edit is not tried.
    expect(threadRefusals(lockedAt).length).toBeLessThanOrEqual(1);
    expect(k.fake.messages('general').filter((m) => (m.embeds?.[0]?.title ?? '').startsWith('Model cubs v2'))).toHaveLength(1);
  }, 200_000);
});
