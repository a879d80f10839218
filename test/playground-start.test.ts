// `npm start` with no Discord token opens the playground: one line with its URL, the page, the
// bot logged in to the local Discord-compatible server with its commands, and a channel that is
// still there after a restart (`npm start -- --playground` forces it even with a token set).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../core/redis.js';
import { DEPLOYMENTS_KEY } from '../core/store/deployment.js';
import { freePort } from './helpers/ports.js';
import { deleteKeys } from './helpers/stack.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-playground-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  const redis = createRedis('redis://127.0.0.1:6379');
  await deleteKeys(redis, prefix);
  // npm start paired this DATA_DIR with the shared Redis: forget that pairing.
  const pairings = await redis.hgetall(DEPLOYMENTS_KEY);
  const ours = Object.keys(pairings).filter((id) => pairings[id]!.includes(dataDir));
  if (ours.length) await redis.hdel(DEPLOYMENTS_KEY, ...ours);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts main.ts and resolves with its stdout once the playground line is printed. */
function startKodiak(env: Record<string, string>, args: string[] = []): { child: ChildProcess; ready: Promise<string>; output: () => string } {
  const { DISCORD_TOKEN: _t, DISCORD_API_URL: _a, DISCORD_GUILD_ID: _g, ...rest } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', ...args], {
    env: { ...rest, QUEUE_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'warn', WORKER_QUEUES: 'predict', SEARCH_PROVIDERS: 'openverse', OPENVERSE_URL: 'http://127.0.0.1:9', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('the playground is at')) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`main.ts exited with ${code}: ${err}`)));
  });
  return { child, ready, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

async function api<T>(base: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${route}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new Error(`${route}: ${res.status} ${json.message}`);
  return json;
}

interface State { guild: { id: string; name: string }; channels: { id: string; name: string }[]; commands: { name: string }[]; search: { reachable: string[] } | null }
interface Message { id: string; content: string; author: { username: string }; embeds: { description?: string }[] }

async function waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const result = await check();
    if (result !== undefined) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('npm start without DISCORD_TOKEN', () => {
  it('prints one line with the playground URL, serves the page, and the bot answers there; a restart keeps the channel', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = startKodiak({ PLAYGROUND_PORT: String(port) });
    const out = await first.ready;
    const lines = out.split('\n').filter((l) => l.includes('playground'));
    expect(lines).toEqual([`kodiak: no DISCORD_TOKEN: the playground is at ${base} — set DISCORD_TOKEN to run on Discord`]);

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Kodiak playground');

    const state = await api<State>(base, '/playground/state?user=you');
    expect(state.guild.name).toBe('Playground');
    expect(state.channels.map((c) => c.name)).toEqual(['general', 'training']);
    expect(state.commands.map((c) => c.name)).toEqual(expect.arrayContaining(['help', 'train', 'dataset', 'sgd']));
    // The only provider configured does not answer: the page will say so.
    const search = await waitFor('the search probe', async () => (await api<State>(base, '/playground/state?user=you')).search ?? undefined);
    expect(search.reachable).toEqual([]);

    const general = state.channels[0]!.id;
    await api(base, '/playground/send', { user: 'you', channel: general, content: 'hello **bears**' });
    await api(base, '/playground/command', { user: 'you', channel: general, command: 'help', options: {} });
    const help = await waitFor('the /help reply', async () => {
      const messages = await api<Message[]>(base, `/playground/messages?user=you&channel=${general}`);
      return messages.find((m) => m.author.username === 'Kodiak' && m.embeds[0]?.description?.includes('/train'));
    });
    // /help answers ephemerally: only "you" see it.
    expect((await api<Message[]>(base, `/playground/messages?user=someone&channel=${general}`)).map((m) => m.id)).not.toContain(help.id);
    // /dataset is for members with Manage Messages: "you" switch that on first.
    await api(base, '/playground/me', { user: 'you', moderator: true });
    await api(base, '/playground/command', { user: 'you', channel: general, command: 'dataset list', options: {} });
    const list = await waitFor('the /dataset list reply', async () => {
      const messages = await api<Message[]>(base, `/playground/messages?user=someone&channel=${general}`);
      return messages.find((m) => m.author.username === 'Kodiak' && m.content.includes('dataset'));
    });
    expect(await stop(first.child)).toBe(0);

    // `--playground` forces it with a token set; the same DATA_DIR brings the same guild and messages back.
    const second = startKodiak({ PLAYGROUND_PORT: String(port), DISCORD_TOKEN: 'a-real-token-would-go-to-discord' }, ['--playground']);
    await second.ready;
    const again = await api<State>(base, '/playground/state?user=you');
    expect(again.guild.id).toBe(state.guild.id);
    const messages = await api<Message[]>(base, `/playground/messages?user=you&channel=${general}`);
    // The bot's public reply and "your" message are back; the ephemeral one is gone, as in Discord.
    expect(messages.map((m) => m.id)).toContain(list.id);
    expect(messages.map((m) => m.id)).not.toContain(help.id);
    expect(messages.find((m) => m.author.username === 'you')?.content).toBe('hello **bears**');
    expect(await stop(second.child)).toBe(0);
  }, 120_000);
});
