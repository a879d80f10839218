// The fake Discord's network rules: latency inside the 3-second window, the global bucket,
// the shared reaction bucket, per-token follow-up buckets, X-RateLimit-Scope only on a 429,
// the member list a bot gets on connect, whole-string emoji and the apostrophe in command names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, GatewayIntentBits, type TextChannel } from 'discord.js';
import { discordClientOptions, startFakeDiscord, type FakeDiscord } from '../playground/server/index.js';

let fake: FakeDiscord;

async function api(method: string, path: string, body?: unknown, auth = true): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${fake.url}/api/v10${path}`, {
    method,
    headers: { ...(auth ? { Authorization: `Bot ${fake.token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function login(intents: number[]): Promise<Client> {
  const client = new Client({ intents, ...discordClientOptions(fake) });
  const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
  await client.login(fake.token);
  await ready;
  return client;
}

beforeAll(async () => {
  fake = await startFakeDiscord();
  fake.user('alice');
  fake.user('bob');
  await api('PUT', `/applications/${fake.applicationId}/guilds/${fake.guild.id}/commands`, [
    { name: 'slow', description: 'Works 1.6 s before answering' },
    { name: "bear's", description: 'Apostrophes are allowed in names' },
  ]);
});

afterAll(async () => {
  await fake?.close();
});

describe('latency', () => {
  it('counts both ways inside the 3-second window: 1.6 s of work behind 800 ms each way gets 10062', async () => {
    const client = await login([GatewayIntentBits.Guilds]);
    const errors: unknown[] = [];
    client.on('interactionCreate', (i) => {
      if (!i.isChatInputCommand()) return;
      setTimeout(() => void i.reply('done').catch((e: unknown) => errors.push(e)), 1_600);
    });
    fake.latencyMs = 800;
    try {
      const handle = await fake.user('alice').runCommand('slow');
      await fake.waitFor(() => handle.rejectedCallbacks[0], 'the late answer');
      expect(handle.rejectedCallbacks[0]!.code).toBe(10062);
    } finally {
      fake.latencyMs = 0;
      await client.destroy();
    }
  });
});

describe('rate limits', () => {
  it('the global bucket answers 429 with global scope; discord.js waits it out and retries', async () => {
    const client = await login([GatewayIntentBits.Guilds]);
    try {
      const channel = client.channels.cache.get(fake.channel().id) as TextChannel;
      fake.rateLimits.drain('global', '');
      const sent = await channel.send('after the global wait');
      expect(sent.content).toBe('after the global wait');
      expect(fake.rateLimits.hits.at(-1)).toMatchObject({ scope: 'global' });
      expect(fake.invalidRequests().at(-1)).toMatchObject({ status: 429, scope: 'global' });
    } finally {
      await client.destroy();
    }
  });

  it("the bot's reactions share one bucket per channel; X-RateLimit-Scope comes only with the 429", async () => {
    const channel = fake.channel().id;
    const message = (await api('POST', `/channels/${channel}/messages`, { content: 'react twice' })).json.id;
    const reaction = (emoji: string) => `/channels/${channel}/messages/${message}/reactions/${encodeURIComponent(emoji)}/@me`;
    const first = await api('PUT', reaction('✅'));
    expect(first.status).toBe(204);
    expect(first.headers.get('x-ratelimit-limit')).toBe('1');
    expect(first.headers.get('x-ratelimit-scope')).toBeNull();
    // Spent by adding: removing waits too (drained rather than timed, so a slow machine cannot miss the window).
    fake.rateLimits.drain('PUT /channels/:channel_id/messages/:message_id/reactions/:emoji/@me', channel);
    const second = await api('DELETE', reaction('✅'));
    expect(second.status).toBe(429);
    expect(second.headers.get('x-ratelimit-scope')).toBe('user');
  });

  it('follow-ups are limited per interaction token: one spent token does not hold back another', async () => {
    const acknowledge = async () => {
      const handle = await fake.user('bob').runCommand("bear's");
      await api('POST', `/interactions/${handle.id}/${handle.token}/callback`, { type: 5 }, false);
      return handle;
    };
    const [a, b] = [await acknowledge(), await acknowledge()];
    fake.rateLimits.drain('POST /webhooks/:application_id/:token', a.token);
    expect((await api('POST', `/webhooks/${fake.applicationId}/${a.token}`, { content: 'a' }, false)).status).toBe(429);
    expect((await api('POST', `/webhooks/${fake.applicationId}/${b.token}`, { content: 'b' }, false)).status).toBe(200);
  });
});

describe('connecting', () => {
  it('without the presences intent GUILD_CREATE carries only the bot itself as a member', async () => {
    const plain = await login([GatewayIntentBits.Guilds]);
    const withPresences = await login([GatewayIntentBits.Guilds, GatewayIntentBits.GuildPresences]);
    try {
      expect([...plain.guilds.cache.get(fake.guild.id)!.members.cache.keys()]).toEqual([fake.botUser.id]);
      expect(withPresences.guilds.cache.get(fake.guild.id)!.members.cache.size).toBeGreaterThan(2);
    } finally {
      await plain.destroy();
      await withPresences.destroy();
    }
  });
});

describe('validation', () => {
  it('a reaction emoji is one whole emoji: "✅x" and "✅✅" get 10014, a keycap and a flag pass', async () => {
    const channel = fake.channel().id;
    const message = (await api('POST', `/channels/${channel}/messages`, { content: 'emoji' })).json.id;
    // Each try waits out the reaction bucket (1 per 250 ms), which refused requests count against too.
    const put = async (emoji: string) => {
      await new Promise((r) => setTimeout(r, 260));
      return api('PUT', `/channels/${channel}/messages/${message}/reactions/${encodeURIComponent(emoji)}/@me`);
    };
    expect(await put('✅x')).toMatchObject({ status: 400, json: { code: 10014 } });
    expect(await put('✅✅')).toMatchObject({ status: 400, json: { code: 10014 } });
    expect((await put('1️⃣')).status).toBe(204);
    expect((await put('🇫🇷')).status).toBe(204);
  });

  it("accepts an apostrophe in a command name, as Discord's name pattern does", () => {
    expect(fake.commands().map((c) => c.name)).toContain("bear's");
  });
});
