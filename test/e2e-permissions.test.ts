// The bot on a server as real ones are: channel overwrites, threads, reactions on old messages,
// another bot, DMs, and an application without the Message Content intent. Latency is on (the
// harness's 100 ms each way) and no test may make an invalid (401/403/429) request.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermissionFlagsBits } from 'discord.js';
import { commandJson } from '../bot/commands.js';
import * as train from '../commands/train.js';
import * as status from '../commands/status.js';
import { startFakeSearch, type FakeSearch } from './fakes/search/server.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';
import { initBackend } from '../core/ml/backend.js';
import { MINUS_ONE_TO_ONE } from '../core/ml/backbones/registry.js';
import { trainHead } from '../core/ml/head.js';

let k: Kodiak;
let search: FakeSearch;

afterEach(() => expectNoInvalidRequests(k));

beforeAll(async () => {
  // A search that finds nothing: these tests are about what the bot does before and around a run.
  search = await startFakeSearch({ images: () => [] });
  k = await startKodiak({
    queues: ['collect'],
    discord: { guilds: [{ name: 'Bears', channels: ['general', 'no-post'] }] },
    // Several runs stay in progress here (no train worker): room for them under the per-server quota.
    env: { SEARCH_PROVIDERS: 'openverse', OPENVERSE_URL: search.url, DOWNLOAD_RETRIES: '0', QUOTA_JOBS_PER_GUILD: '20' },
  });
});

afterAll(async () => {
  await k?.stop();
  await search?.close();
});

const progressIdOf = (content: string) => content.match(/channels\/\d+\/\d+\/(\d+)/)?.[1];

describe('/train and channel permissions', () => {
  it('where the bot may not post: an ephemeral answer names the permission and nothing is created; once granted, it collects', async () => {
    const alice = k.fake.user('alice');
    k.fake.setPermissions('no-post', 'bot', { deny: ['SendMessages', 'AttachFiles'] });
    const refused = await alice.runCommand('train', { name: 'bears', images: 10 }, { channel: 'no-post' });
    const answer = await refused.reply();
    expect(refused.ephemeral).toBe(true);
    expect(answer.content).toContain('**Send Messages**');
    expect(answer.content).toContain('**Attach Files**');
    expect(await k.ctx.datasets.get({ guildId: k.fake.guild.id, name: 'bears' })).toBeUndefined();

    k.fake.setPermissions('no-post', 'bot', {});
    const started = await (await alice.runCommand('train', { name: 'bears', images: 10 }, { channel: 'no-post' })).reply();
    expect(started.content).toContain('Created **bears**');
    expect(started.content).toContain('collecting 10 images per class');
    const progress = k.fake.message(progressIdOf(started.content)!);
    expect(progress.channel_id).toBe(k.fake.channel('no-post').id);
  });

  it('on a dataset that exists but has no images, /train collects first', async () => {
    const alice = k.fake.user('alice');
    await (await alice.runCommand('dataset create', { name: 'pets', classes: 'cat, dog' })).reply();
    const started = await (await alice.runCommand('train', { name: 'pets', images: 10 })).reply();
    expect(started.content).toContain('Filling **pets**');
    expect(started.content).toContain('collecting 10 images per class');
  });

  it('in a thread it needs Send Messages in Threads, not Send Messages; in an archived thread its message unarchives it', async () => {
    const alice = k.fake.user('alice');
    const thread = k.fake.createThread('general', 'bear thread');
    k.fake.setPermissions('general', 'bot', { deny: ['SendMessages'] });
    try {
      const started = await (await alice.runCommand('train', { name: 'threaded', classes: 'a, b', images: 10 }, { channel: thread.id })).reply();
      expect(started.content).toContain('Created **threaded**');
      expect(k.fake.message(progressIdOf(started.content)!).channel_id).toBe(thread.id);

      k.fake.setPermissions('general', 'bot', { deny: ['SendMessagesInThreads'] });
      const refused = await alice.runCommand('train', { name: 'threaded2', classes: 'a, b', images: 10 }, { channel: thread.id });
      expect((await refused.reply()).content).toContain('**Send Messages in Threads**');
    } finally {
      k.fake.setPermissions('general', 'bot', {});
    }

    const archived = k.fake.createThread('general', 'old thread', { archived: true });
    const started = await (await alice.runCommand('train', { name: 'archived', classes: 'a, b', images: 10 }, { channel: archived.id })).reply();
    expect(started.content).toContain('Created **archived**');
    expect(k.fake.message(progressIdOf(started.content)!).channel_id).toBe(archived.id);
    expect(k.fake.thread(archived.id).archived).toBe(false);
  });
});

describe('reactions', () => {
  it('20 reactions by users on old messages after a restart make no REST call', async () => {
    const people = ['alice', 'bob', 'carol', 'dave'].map((n) => k.fake.user(n));
    const theirs = [];
    for (let i = 0; i < 10; i++) theirs.push(await people[i % 4]!.send(`message ${i}`));
    const ours = k.fake.sent().filter((m) => m.channel_id === k.fake.channel().id && !m.interaction_metadata);
    await k.restartBot();
    const since = k.fake.mark();
    const emojis = ['✅', '🗑️', '1️⃣', '2️⃣', '🐻'];
    const targets = [...theirs, ...ours];
    for (let i = 0; i < 20; i++) await people[i % 4]!.react(targets[i % targets.length]!, emojis[i % emojis.length]!);
    // Something the bot answers, to be sure it has read the reactions dispatched before it.
    await (await people[0]!.runCommand('help')).reply();
    await new Promise((r) => setTimeout(r, 300));
    const reads = k.fake.requests(since).filter((r) => r.method === 'GET' || r.route.includes('/reactions'));
    expect(reads).toEqual([]);
  });

  it("another bot's commands and reactions are ignored", async () => {
    const robot = k.fake.user('robot', { bot: true });
    const handle = await robot.runCommand('help');
    await handle.expired();
    expect(handle.callbacks).toEqual([]);
  });
});

describe('where commands are offered', () => {
  it('guild-only: not in DMs, where /status would show worker hosts', async () => {
    for (const command of k.fake.commands()) expect(command.contexts).toEqual([0]);
    await expect(k.fake.user('alice').runCommand('status', {}, { dm: true })).rejects.toThrow(/not offered in DMs/);
  });

  it('commands that change things carry COMMAND_PERMISSION as their default; /status does not', () => {
    const manage = String(PermissionFlagsBits.ManageMessages);
    expect(commandJson(train, 'ManageMessages').default_member_permissions).toBe(manage);
    expect(commandJson(status, 'ManageMessages').default_member_permissions).toBeUndefined();
    expect(commandJson(train, 'everyone').default_member_permissions).toBeUndefined();
  });
});

/**
 * A small saved model made active in the fake's channel, so a dropped photo would be classified:
 * the workers are off, so it shows as a waiting predict job.
 */
async function activateModel(kodiak: Kodiak): Promise<void> {
  await initBackend('wasm');
  const X = Float32Array.from({ length: 24 }, (_, i) => (i % 4 === i % 3 ? 1 : 0));
  const head = await trainHead(X, Int32Array.from([0, 1, 0, 1, 0, 1]), { nClasses: 2, dim: 4, epochs: 2 });
  const dataset = { guildId: kodiak.fake.guild.id, name: 'bears' };
  await kodiak.ctx.models.save(dataset, {
    classes: ['grizzly', 'teddy'], backbone: 'mobilenet_v2_035', backend: 'wasm',
    preprocessing: { backbone: 'mobilenet_v2_035', inputSize: 224, normalisation: MINUS_ONE_TO_ONE, featureSize: 4, resize: 'shorter-side-then-centre-crop' },
    metrics: { accuracy: 1, errorRate: 0, loss: 0.1, perClass: {}, confusion: [], nTrain: 6, nValid: 2 },
    datasetRevision: 1, seed: 42, epochs: 2, lr: 3e-3, head: head.toJSON(),
  });
  head.dispose();
  await kodiak.ctx.models.setActive(dataset.guildId, kodiak.fake.channel().id, { dataset });
}

const waitingPredictions = async (kodiak: Kodiak) => (await kodiak.ctx.queues.predict.getJobCounts('waiting')).waiting ?? 0;
const photo = { attachments: [{ name: 'bear.jpg', data: Buffer.from('any bytes'), contentType: 'image/jpeg' }] };

describe('without the Message Content intent', () => {
  it('with it, a photo dropped where a model is active is sent to be classified (the control)', async () => {
    const reading = await startKodiak({ queues: [] });
    try {
      await activateModel(reading);
      await reading.fake.user('alice').send(photo);
      await expect.poll(() => waitingPredictions(reading), { timeout: 10_000 }).toBe(1);
    } finally {
      await reading.stop();
    }
  });

  it('DISCORD_MESSAGE_CONTENT=false: commands work, dropped photos are not read, /status says why', async () => {
    const plain = await startKodiak({ queues: [], discord: { privilegedIntents: [] }, env: { DISCORD_MESSAGE_CONTENT: 'false', COMMAND_PERMISSION: 'ManageMessages' } });
    try {
      await activateModel(plain);
      const alice = plain.fake.user('alice');
      const reply = await (await alice.runCommand('status')).reply();
      const field = reply.embeds[0]!.fields!.find((f) => f.name === 'Photo classification')!;
      expect(field.value).toContain('Message Content');
      const since = plain.fake.mark();
      await alice.send(photo);
      await (await alice.runCommand('help')).reply();
      expect(await waitingPredictions(plain)).toBe(0);
      expect(plain.fake.events('message.create', since).filter((e) => e.detail?.authorId === plain.fake.botUser.id && !plain.fake.message(e.subject).interaction_metadata)).toEqual([]);
      // COMMAND_PERMISSION=ManageMessages: /train is offered only to members who may manage messages.
      await expect(alice.runCommand('train', { name: 'bears' })).rejects.toThrow(/not offered/);
      expect(plain.fake.commands().find((c) => c.name === 'train')?.default_member_permissions).toBe(String(PermissionFlagsBits.ManageMessages));
      expectNoInvalidRequests(plain);
    } finally {
      await plain.stop();
    }
  });

  it('an application refused the intent stops with a message naming the portal toggle', async () => {
    await expect(startKodiak({ queues: [], discord: { privilegedIntents: [] } })).rejects.toThrow(/Message Content Intent/);
  });
});
