// /dataset end to end: the real bot in the fake Discord, the collect worker in-process, a fake
// Openverse and a fake image host on loopback serving good pictures mixed with a 404, an HTML
// page served as a JPEG, the same bytes twice and the same picture as a PNG.
import { unzipSync, zipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../playground/server/index.js';
import { makeJpeg } from './fakes/imagehost/images.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeImage, type FakeSearch } from './fakes/search/server.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

const CLASSES = ['grizzly bear', 'black bear', 'teddy bear'];
const PER_CLASS = 30;

let k: Kodiak;

// Discord bans an application after 10,000 invalid requests: normal flows make none.
afterEach(() => expectNoInvalidRequests(k));
let host: ImageHost;
let search: FakeSearch;

/**
 * Per class: PER_CLASS distinct pictures, with the trouble right after the first one, so it is
 * tried before the last good picture (downloads run one at a time in this test).
 */
function catalogue(query: string): FakeImage[] {
  const index = CLASSES.indexOf(query);
  if (index < 0) return [];
  const seeds = Array.from({ length: PER_CLASS }, (_, i) => 1000 * (index + 1) + i);
  const good = seeds.map((s) => ({ url: `${host.url}/img/${s}.jpg`, title: `${query} ${s}`, creator: 'Ann', license: 'by' }));
  const first = seeds[0]!;
  const trouble: FakeImage[] = [
    { url: `${host.url}/status/404?q=${first}` },
    { url: `${host.url}/html.jpg?q=${first}` },
    { url: `${host.url}/img/${first}.jpg?copy=1` }, // the same bytes again
    { url: `${host.url}/png/${first}.png`, license: 'cc0' }, // the same picture as a PNG
  ];
  return [good[0]!, ...trouble, ...good.slice(1)];
}

/** What a reader sees: Discord hides the backslash of an escaped punctuation character ("2\.0" shows "2.0"). */
const text = (m: Pick<FakeMessage, 'content' | 'embeds'>) =>
  [m.content, ...(m.embeds ?? []).flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text])]
    .join('\n')
    .replace(/\\([!-/:-@[-`{-~])/g, '$1');

beforeAll(async () => {
  host = await startImageHost();
  search = await startFakeSearch({ images: (_provider, query) => catalogue(query) });
  k = await startKodiak({
    queues: ['collect'],
    env: {
      SEARCH_PROVIDERS: 'openverse',
      OPENVERSE_URL: search.url,
      // One download at a time keeps the order of outcomes, and so the counts, fixed.
      DOWNLOAD_CONCURRENCY: '1',
      DOWNLOAD_RETRIES: '0',
      DOWNLOAD_TIMEOUT_MS: '5000',
      COLLECT_CONCURRENCY: '3',
    },
  });
});

afterAll(async () => {
  await k?.stop();
  await search?.close();
  await host?.close();
});

describe('/dataset against the fakes', () => {
  let progressId = '';

  it('creates bears and collects 30 images per class; the progress message reaches 100%', async () => {
    const alice = k.fake.user('alice');
    const created = await (await alice.runCommand('dataset create', { name: 'bears', classes: 'grizzly bear, black bear, teddy bear' })).reply();
    expect(created.content).toContain('Created dataset **bears** with 3 classes');

    const since = k.fake.mark();
    const handle = await alice.runCommand('dataset collect', { name: 'bears', images: PER_CLASS });
    const ack = await handle.reply();
    expect(handle.ephemeral).toBe(true);
    expect(ack.content).toContain('Collecting up to 30 images per class for **bears**');

    const progress = await k.fake.waitForMessage((m) => m.embeds?.[0]?.title === 'Collecting images for bears', { since });
    progressId = progress.id;
    for (const c of CLASSES) expect(progress.embeds[0]!.description).toContain(`**${c}**: 0/30 kept`);

    const summary = await k.fake.waitForMessage((m) => m.embeds?.[0]?.title === 'Collection finished: bears', { since, timeout: 30_000 });
    expect(summary.content).toContain(`<@${alice.id}>`);
    const final = k.fake.message(progressId);
    expect(final.embeds[0]!.title).toBe('Collected images for bears');
    for (const c of CLASSES) expect(final.embeds[0]!.description).toMatch(new RegExp(`100%\` \\*\\*${c}\\*\\*: 30/30 kept \\(2 failed, 2 duplicates\\)`));

    const body = text(summary);
    expect(body).toContain('90 images in 3 classes');
    expect(body).toContain('the server answered with an error (e.g. 404): 3');
    expect(body).toContain('not an image: 3');
    expect(body).toContain('duplicates of images already in the dataset: 6');
    expect(body).toContain('openverse: 90 images');
  });

  it('/dataset show reports the counts the fake served, per class and split, with a contact sheet', async () => {
    const reply = await (await k.fake.user('alice').runCommand('dataset show', { name: 'bears' })).reply();
    const items = await k.ctx.datasets.items({ guildId: k.fake.guild.id, name: 'bears' });
    expect(items).toHaveLength(90);
    // Every stored image is one of the good pictures the fake served for its class.
    for (const item of items) {
      const seed = Number(/\/img\/(\d+)\.jpg/.exec(item.source.url ?? '')?.[1]);
      expect(CLASSES[Math.floor(seed / 1000) - 1]).toBe(item.label);
    }
    const embed = reply.embeds[0]!;
    expect(embed.title).toBe('Dataset bears');
    for (const c of CLASSES) {
      const valid = items.filter((i) => i.label === c && i.split === 'valid').length;
      expect(embed.description).toContain(`**${c}**: 30 (train ${30 - valid}, valid ${valid})`);
    }
    const body = text(reply);
    expect(body).toContain('the server answered with an error (e.g. 404): 3');
    expect(body).toContain('not an image: 3');
    expect(body).toContain('search via openverse: 90');
    expect(body).toContain('CC BY 2.0: 90');
    expect(reply.attachments.map((a) => a.filename)).toEqual(['contact-sheet.png']);
    expect(embed.image?.url).toBe('attachment://contact-sheet.png');
  });

  it('running the same collection again adds no duplicates and downloads nothing', async () => {
    const hitsBefore = [...host.hits.values()].reduce((a, b) => a + b, 0);
    const since = k.fake.mark();
    await (await k.fake.user('alice').runCommand('dataset collect', { name: 'bears', images: PER_CLASS })).reply();
    const summary = await k.fake.waitForMessage((m) => m.embeds?.[0]?.title === 'Collection finished: bears', { since, timeout: 20_000 });
    expect(text(summary)).toContain('90 images in 3 classes');
    expect(await k.ctx.datasets.items({ guildId: k.fake.guild.id, name: 'bears' })).toHaveLength(90);
    expect([...host.hits.values()].reduce((a, b) => a + b, 0)).toBe(hitsBefore);
  });

  it('/dataset add takes an image and a URL list; /dataset export zips class folders with labels and attribution', async () => {
    const alice = k.fake.user('alice');
    const list = `${host.url}/img/7001.jpg\n${host.url}/status/404\n`;
    const handle = await alice.runCommand('dataset add', { name: 'bears', class: 'teddy bear' }, {
      attachments: [{ name: 'mine.jpg', data: await makeJpeg(7000) }, { name: 'urls.txt', data: list }],
    });
    const reply = await k.fake.waitFor(() => handle.original()?.content.startsWith('Added') && handle.original(), 'the /dataset add summary', { timeout: 15_000 });
    expect(reply.content).toContain('Added 2 images to **bears** (**teddy bear**: 2) out of 3.');
    expect(reply.content).toContain('the server answered with an error (e.g. 404): 1');

    const exported = await (await alice.runCommand('dataset export', { name: 'bears' })).reply({ timeout: 15_000 });
    const zipUrl = exported.attachments.find((a) => a.filename === 'bears.zip')?.url;
    expect(zipUrl).toBeDefined();
    const files = unzipSync(new Uint8Array(await (await fetch(zipUrl!)).arrayBuffer()));
    const labels = new TextDecoder().decode(files['labels.csv']).trim().split('\n');
    expect(labels).toHaveLength(1 + 92);
    expect(Object.keys(files).filter((f) => f.startsWith('teddy bear/'))).toHaveLength(32);
    expect(new TextDecoder().decode(files['attribution.csv'])).toContain('openverse');
  });

  it('/dataset add takes a zip of class folders (new classes) and refuses one with ../ names, storing nothing', async () => {
    const alice = k.fake.user('alice');
    const zip = zipSync({ 'polar bear/a.jpg': await makeJpeg(7100), 'polar bear/b.jpg': await makeJpeg(7101) });
    const handle = await alice.runCommand('dataset add', { name: 'bears' }, { attachments: [{ name: 'more.zip', data: zip }] });
    const reply = await k.fake.waitFor(() => handle.original()?.content.startsWith('Added') && handle.original(), 'the zip summary', { timeout: 15_000 });
    expect(reply.content).toContain('Added 2 images to **bears** (**polar bear**: 2)');
    expect(reply.content).toContain('New classes from the zip');

    const before = (await k.ctx.datasets.items({ guildId: k.fake.guild.id, name: 'bears' })).length;
    const evil = zipSync({ '../escape.jpg': await makeJpeg(7102) });
    const refused = await alice.runCommand('dataset add', { name: 'bears' }, { attachments: [{ name: 'evil.zip', data: evil }] });
    expect((await refused.reply({ timeout: 15_000 })).content).toContain('unsafe file name');
    expect(await k.ctx.datasets.items({ guildId: k.fake.guild.id, name: 'bears' })).toHaveLength(before);
  });

  it('/dataset add takes the images already posted in the channel', async () => {
    const carol = k.fake.user('carol');
    await carol.send({ content: 'look at this one', attachments: [{ name: 'cub.png', data: await makeJpeg(7200), contentType: 'image/jpeg' }] });
    await carol.send('no picture here');
    const handle = await carol.runCommand('dataset add', { name: 'bears', class: 'black bear', recent: 5 });
    const reply = await k.fake.waitFor(() => handle.original()?.content.startsWith('Added') && handle.original(), 'the channel summary', { timeout: 15_000 });
    expect(reply.content).toContain('Added 1 image to **bears** (**black bear**: 1) out of 1.');
    const items = await k.ctx.datasets.items({ guildId: k.fake.guild.id, name: 'bears' });
    expect(items.filter((i) => i.source.kind === 'channel')).toHaveLength(1);
  });

  it('suggests dataset names and their classes as the user types', async () => {
    const alice = k.fake.user('alice');
    expect(await (await alice.autocomplete('dataset show', 'name', { name: 'BE' })).choices()).toEqual([{ name: 'bears', value: 'bears' }]);
    const classes = await (await alice.autocomplete('dataset add', 'class', { name: 'bears', class: 'bear' })).choices();
    expect(classes.map((c) => c.value)).toEqual(['grizzly bear', 'black bear', 'teddy bear', 'polar bear']);
  });

  it('answers an unknown dataset with an ephemeral error', async () => {
    for (const sub of ['show', 'collect', 'export', 'delete']) {
      const handle = await k.fake.user('bob').runCommand(`dataset ${sub}`, { name: 'nope' });
      const reply = await handle.reply();
      expect(handle.ephemeral).toBe(true);
      expect(reply.content).toContain('no dataset called "nope"');
    }
  });

  it('neutralises @everyone, mentions and markdown in names', async () => {
    const handle = await k.fake.user('alice').runCommand('dataset create', { name: 'wild_bears', classes: '@everyone **bold** bear, <@123456789012345678> cub' });
    const reply = await handle.reply();
    expect(reply.content).not.toMatch(/@everyone|<@\d+>|\*\*bold/);
    expect(reply.content).toContain('**wild\\_bears**');
    expect(reply.content).toContain('**everyone bold bear**');
    expect(reply.mention_everyone).toBe(false);
    expect(reply.mentions).toEqual([]);

    const listed = await (await k.fake.user('bob').runCommand('dataset list', {})).reply();
    expect(listed.content).toContain('**bears**: 4 classes, 95 images');
    expect(listed.content).toContain('**wild\\_bears**: 2 classes, 0 images');
  });

  it('deletes only after the requester (or a server manager) confirms', async () => {
    const alice = k.fake.user('alice');
    const ref = { guildId: k.fake.guild.id, name: 'wild_bears' };
    const cancelPrompt = await (await alice.runCommand('dataset delete', { name: 'wild_bears' })).reply();
    // A server manager may answer someone else's prompt.
    const manager = k.fake.user('manager', { permissions: ['ManageGuild'] });
    const cancelled = await (await manager.click(cancelPrompt, 'Cancel')).reply();
    expect(cancelled.content).toContain('nothing was deleted');
    expect(cancelled.components).toEqual([]);
    expect(await k.ctx.datasets.get(ref)).toBeDefined();

    const prompt = await (await alice.runCommand('dataset delete', { name: 'wild_bears' })).reply();
    expect(prompt.content).toContain('Delete dataset **wild\\_bears**');
    const refused = await k.fake.user('mallory').click(prompt, 'Delete');
    expect((await refused.reply()).content).toContain('only the person who asked');
    expect(refused.ephemeral).toBe(true);
    expect(await k.ctx.datasets.get(ref)).toBeDefined();

    const confirmed = await (await alice.click(prompt, 'Delete')).reply();
    expect(confirmed.content).toContain('Deleted dataset **wild\\_bears**');
    expect(await k.ctx.datasets.get(ref)).toBeUndefined();
  });
});
