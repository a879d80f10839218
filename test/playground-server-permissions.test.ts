// The fake Discord's channel rules, each against the error Discord documents: permission
// overwrites (50001 / 50013, history as an empty list, replies need Read Message History),
// threads (50083 when archived, unarchive on send, 160005 when locked, Send Messages in Threads,
// private threads), the Message Content intent on REST answers, DM interactions and the
// invalid-request counter. Raw REST calls, so each answer is seen as Discord would send it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, GatewayIntentBits, PermissionFlagsBits, SlashCommandBuilder, type Interaction } from 'discord.js';
import { discordClientOptions, startFakeDiscord, type FakeDiscord } from '../playground/server/index.js';

let fake: FakeDiscord;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${fake.url}/api/v10${path}`, {
    method,
    headers: { Authorization: `Bot ${fake.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const post = (channelId: string, content: string, extra: Record<string, unknown> = {}) => api('POST', `/channels/${channelId}/messages`, { content, ...extra });

beforeAll(async () => {
  fake = await startFakeDiscord({ guilds: [{ name: 'Bears', channels: ['general', 'locked', 'quiet', 'hidden', 'forum'] }] });
});

afterAll(async () => {
  await fake?.close();
});

describe('per-channel permission overwrites', () => {
  it('a denied Send Messages gives 50013; no View Channel gives 50001 on every route, even GET /channels/:id', async () => {
    const locked = fake.channel('locked').id;
    const before = (await post(locked, 'before')).json.id as string;
    fake.setPermissions('locked', 'bot', { deny: ['SendMessages'] });
    expect(await post(locked, 'hello')).toMatchObject({ status: 403, json: { code: 50013 } });
    expect(fake.permissionsIn('locked')).not.toContain('SendMessages');
    // Implicit denial: no Send Messages, no Attach Files or Embed Links either.
    expect(fake.permissionsIn('locked')).not.toContain('AttachFiles');
    expect(fake.permissionsIn('locked')).not.toContain('EmbedLinks');
    // Editing its own message needs only View Channel.
    expect((await api('PATCH', `/channels/${locked}/messages/${before}`, { content: 'edited' })).status).toBe(200);

    const hidden = fake.channel('hidden').id;
    const old = (await post(hidden, 'old')).json.id as string;
    fake.setPermissions('hidden', '@everyone', { deny: ['ViewChannel'] });
    for (const [method, path, body] of [
      ['GET', `/channels/${hidden}`],
      ['POST', `/channels/${hidden}/messages`, { content: 'x' }],
      ['GET', `/channels/${hidden}/messages`],
      ['PATCH', `/channels/${hidden}/messages/${old}`, { content: 'y' }],
      ['PUT', `/channels/${hidden}/messages/${old}/reactions/${encodeURIComponent('✅')}/@me`],
    ] as const) {
      expect(await api(method, path, body), `${method} ${path}`).toMatchObject({ status: 403, json: { code: 50001 } });
    }
    // An allow on the bot's own overwrite beats the @everyone deny.
    fake.setPermissions('hidden', 'bot', { allow: ['ViewChannel'] });
    expect((await api('GET', `/channels/${hidden}`)).json.permission_overwrites).toHaveLength(2);
    expect((await post(hidden, 'back')).status).toBe(200);
  });

  it('without Read Message History the history is an empty list (not a 403), replies and reactions are refused', async () => {
    const quiet = fake.channel('quiet').id;
    const mine = (await post(quiet, 'a message')).json.id as string;
    fake.setPermissions('quiet', 'bot', { deny: ['ReadMessageHistory'] });
    expect(await api('GET', `/channels/${quiet}/messages?limit=10`)).toMatchObject({ status: 200, json: [] });
    expect(await post(quiet, 'a reply', { message_reference: { message_id: mine } })).toMatchObject({ status: 403, json: { code: 50013 } });
    expect(await api('PUT', `/channels/${quiet}/messages/${mine}/reactions/${encodeURIComponent('✅')}/@me`)).toMatchObject({ status: 403, json: { code: 50013 } });
    fake.setPermissions('quiet', 'bot', {});
    expect((await api('GET', `/channels/${quiet}/messages?limit=10`)).json).toHaveLength(1);
  });

  it('interaction payloads carry the channel permissions in app_permissions and member.permissions', async () => {
    const client = new Client({ intents: [GatewayIntentBits.Guilds], ...discordClientOptions(fake) });
    const seen: { app: bigint; member: bigint | undefined }[] = [];
    client.on('interactionCreate', (i: Interaction) => {
      if (!i.isChatInputCommand()) return;
      seen.push({ app: i.appPermissions.bitfield, member: i.memberPermissions?.bitfield });
      void i.reply({ content: 'ok', flags: 64 });
    });
    await client.login(fake.token);
    try {
      await fake.waitForLogin();
      await client.application!.commands.set([new SlashCommandBuilder().setName('probe').setDescription('Shows permissions').toJSON()], fake.guild.id);
      await fake.waitForCommands(['probe']);
      const erin = fake.user('erin', { roles: ['members'] });
      fake.setPermissions('general', 'members', { deny: ['AttachFiles'] });
      const handle = await erin.runCommand('probe', {}, { channel: 'locked' });
      await handle.reply();
      await (await erin.runCommand('probe', {}, { channel: 'general' })).reply();
      // In #locked the bot may not send, yet the interaction answer went through: webhooks need no channel permission.
      expect(seen[0]!.app & PermissionFlagsBits.SendMessages).toBe(0n);
      expect(seen[0]!.member! & PermissionFlagsBits.AttachFiles).not.toBe(0n);
      expect(seen[1]!.member! & PermissionFlagsBits.AttachFiles).toBe(0n);
      expect(seen[1]!.app & PermissionFlagsBits.SendMessages).not.toBe(0n);
    } finally {
      await client.destroy();
    }
  });
});

describe('threads', () => {
  it('an archived thread refuses edits and reactions with 50083; a message unarchives it', async () => {
    const thread = fake.createThread('general', 'bear pics');
    const first = (await post(thread.id, 'in the thread')).json.id as string;
    fake.updateThread(thread.id, { archived: true });
    expect(await api('PATCH', `/channels/${thread.id}/messages/${first}`, { content: 'edit' })).toMatchObject({ status: 400, json: { code: 50083 } });
    expect(await api('PUT', `/channels/${thread.id}/messages/${first}/reactions/${encodeURIComponent('✅')}/@me`)).toMatchObject({ status: 400, json: { code: 50083 } });
    expect((await post(thread.id, 'wakes it up')).status).toBe(200);
    expect(fake.thread(thread.id).archived).toBe(false);
    expect((await api('PATCH', `/channels/${thread.id}/messages/${first}`, { content: 'edit' })).status).toBe(200);
    expect((await api('GET', `/channels/${thread.id}`)).json).toMatchObject({ type: 11, parent_id: fake.channel('general').id, thread_metadata: { archived: false } });
  });

  it('a locked thread refuses messages (160005, 50083 when archived too) unless the bot has Manage Threads', async () => {
    const thread = fake.createThread('general', 'mod only', { locked: true });
    expect(await post(thread.id, 'x')).toMatchObject({ status: 400, json: { code: 160005 } });
    fake.updateThread(thread.id, { archived: true });
    expect(await post(thread.id, 'x')).toMatchObject({ status: 400, json: { code: 50083 } });
    fake.setPermissions('general', 'bot', { allow: ['ManageThreads'] });
    expect((await post(thread.id, 'x')).status).toBe(200);
    fake.setPermissions('general', 'bot', {});
  });

  it('a thread needs Send Messages in Threads, not Send Messages; a private thread is invisible to non-members', async () => {
    const thread = fake.createThread('forum', 'questions');
    fake.setPermissions('forum', 'bot', { deny: ['SendMessages'] });
    expect((await post(thread.id, 'still fine')).status).toBe(200);
    fake.setPermissions('forum', 'bot', { deny: ['SendMessagesInThreads'] });
    expect(await post(thread.id, 'refused')).toMatchObject({ status: 403, json: { code: 50013 } });
    fake.setPermissions('forum', 'bot', {});

    const secret = fake.createThread('forum', 'secret', { private: true });
    expect(await api('GET', `/channels/${secret.id}`)).toMatchObject({ status: 403, json: { code: 50001 } });
    const joined = fake.createThread('forum', 'joined', { private: true, members: ['bot'] });
    expect((await api('GET', `/channels/${joined.id}`)).json).toMatchObject({ type: 12 });
  });
});

describe('Message Content on REST answers', () => {
  it('without the intent, others\' messages come back blank unless they mention the app', async () => {
    const strict = await startFakeDiscord({ privilegedIntents: [] });
    try {
      const general = strict.channel().id;
      const frank = strict.user('frank');
      const plain = await frank.send({ content: 'what bear is this?', attachments: [{ name: 'a.txt', data: 'x' }] });
      const mention = await frank.send(`<@${strict.botUser.id}> look`);
      const read = async (id: string) => {
        const res = await fetch(`${strict.url}/api/v10/channels/${general}/messages/${id}`, { headers: { Authorization: `Bot ${strict.token}` } });
        return (await res.json()) as { content: string; attachments: unknown[] };
      };
      expect(await read(plain.id)).toMatchObject({ content: '', attachments: [] });
      expect((await read(mention.id)).content).toContain('look');
    } finally {
      await strict.close();
    }
  });
});

describe('the invalid-request counter', () => {
  it('counts 401 and 403 answers (Discord bans at 10,000 in 10 minutes), not 404s', async () => {
    const since = fake.mark();
    fake.setPermissions('hidden', 'bot', {});
    await api('GET', `/channels/${fake.channel('hidden').id}`);
    await api('GET', '/channels/1/messages/2');
    await fetch(`${fake.url}/api/v10/users/@me`, { headers: { Authorization: 'Bot wrong' } });
    expect(fake.invalidRequests(since).map((r) => [r.status, r.code ?? null])).toEqual([[403, 50001], [401, 0]]);
    expect(fake.requests(since)).toHaveLength(3);
  });
});

describe('DM interactions', () => {
  it('a global command reaches DMs only when its contexts include BOT_DM; guild-only commands are not offered', async () => {
    await api('PUT', `/applications/${fake.applicationId}/commands`, [
      { name: 'hello', description: 'Everywhere', contexts: [0, 1] },
      { name: 'guild-only', description: 'Servers only', contexts: [0] },
    ]);
    const gina = fake.user('gina');
    const handle = await gina.runCommand('hello', {}, { dm: true });
    expect(handle.payload).toMatchObject({ context: 1, user: { id: gina.id } });
    expect(handle.payload.guild_id).toBeUndefined();
    expect(handle.payload.member).toBeUndefined();
    await expect(gina.runCommand('guild-only', {}, { dm: true })).rejects.toThrow(/not offered in DMs/);
  });
});
