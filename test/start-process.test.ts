// `npm start` as a user runs it: main.ts in its own process, pointed at the fake Discord. It logs
// in, registers the commands, answers /help, and on SIGTERM closes its workers and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, redisAnswers } from '../core/redis.js';
import { checkDeployment, DEPLOYMENTS_KEY } from '../core/store/deployment.js';
import { startFakeDiscord, type FakeDiscord } from '../playground/server/index.js';
import { freePort, listening } from './helpers/ports.js';
import { deleteKeys } from './helpers/stack.js';

let fake: FakeDiscord;
let child: ChildProcess | undefined;
let stderr = '';
const prefix = `t-${randomUUID().slice(0, 8)}`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-start-'));
const deploymentIds: string[] = [];

/** `npm start` in its own process; resolves with its exit code and stderr once it exits. */
function start(env: NodeJS.ProcessEnv) {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d) => (err += d));
  proc.stdout!.on('data', (d) => (out += d));
  const exit = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => proc.once('exit', (code) => resolve({ code, stderr: err, stdout: out })));
  return { proc, exit };
}


/** Process ids of redis-server processes serving `port` (their title is "redis-server 127.0.0.1:<port>"). */
function redisServersOn(port: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`redis-server 127.0.0.1:${port}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeAll(async () => {
  fake = await startFakeDiscord();
  playgroundPort = await freePort();
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await fake?.close();
  const redis = createRedis('redis://127.0.0.1:6379');
  await deleteKeys(redis, prefix);
  if (deploymentIds.length) await redis.hdel(DEPLOYMENTS_KEY, ...deploymentIds);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
});

let playgroundPort = 0;

describe('npm start', () => {
  it('runs the bot and its workers, and shuts down cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
      env: {
        ...process.env,
        DISCORD_TOKEN: fake.token,
        DISCORD_API_URL: `${fake.url}/api`,
        DISCORD_GUILD_ID: fake.guild.id,
        QUEUE_PREFIX: prefix,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        WORKER_QUEUES: 'collect,predict',
        PLAYGROUND_PORT: String(playgroundPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d) => (stderr += d));
    const logs: string[] = [];
    child.stdout!.on('data', (d) => logs.push(String(d)));

    await fake.waitForCommands(['help', 'status', 'train', 'dataset', 'clean', 'model', 'predict', 'cancel', 'sgd'], { timeout: 60_000 });
    const reply = await (await fake.user('alice').runCommand('help', {})).reply();
    expect(reply.embeds[0]!.description).toContain('/train');
    expect(logs.join('')).toMatch(/"queue":"predict".*"msg":"worker started"/);
    // With a token it runs on "Discord" only: no playground line, nothing on the playground's port.
    expect(logs.join('')).not.toContain('playground');
    expect(await listening(playgroundPort)).toBe(false);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs.join('')).toContain('shutting down');
    expect(stderr).toBe('');
  }, 90_000);

  it('stops with a message naming REDIS_URL when no Redis answers for an existing DATA_DIR, starting no redis-server', async () => {
    // A DATA_DIR that belongs to an external Redis, which is not up (Compose started Kodiak first).
    const existing = mkdtempSync(path.join(os.tmpdir(), 'kodiak-start-existing-'));
    const redis = createRedis('redis://127.0.0.1:6379');
    const pairing = await checkDeployment(redis, existing);
    redis.disconnect();
    if (pairing.ok) deploymentIds.push(pairing.id);
    const port = await freePort();
    const { exit } = start({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: `${fake.url}/api`, DATA_DIR: existing, QUEUE_PREFIX: prefix, REDIS_URL: `redis://127.0.0.1:${port}` });
    const { code, stderr: err } = await exit;
    expect(code).toBe(1);
    expect(err).toMatch(/REDIS_URL: nothing answers at redis:\/\/127\.0\.0\.1:\d+, and .* holds data kept in another Redis/);
    expect(redisServersOn(port)).toEqual([]);
    rmSync(existing, { recursive: true, force: true });
  }, 60_000);

  it('stops the embedded redis-server it started when start-up fails later', async () => {
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'kodiak-start-fresh-'));
    const port = await freePort();
    // The bot cannot log in with a wrong token: start-up fails after the embedded Redis is up.
    const { exit } = start({ DISCORD_TOKEN: 'not-the-token', DISCORD_API_URL: `${fake.url}/api`, DATA_DIR: fresh, QUEUE_PREFIX: prefix, REDIS_URL: `redis://127.0.0.1:${port}`, WORKER_QUEUES: 'predict' });
    const { code, stderr: err, stdout } = await exit;
    expect(stdout).toContain('started an embedded redis-server');
    expect(code).toBe(1);
    expect(err).toMatch(/failed to start/);
    expect(redisServersOn(port)).toEqual([]);
    expect(await redisAnswers(`redis://127.0.0.1:${port}`, 300)).toBe(false);
    rmSync(fresh, { recursive: true, force: true });
  }, 60_000);
});
