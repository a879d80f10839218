// `npm start` as a user runs it: main.ts in its own process, pointed at the fake Discord. It logs
// in, registers the commands, answers /help, and on SIGTERM closes its workers and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../core/redis.js';
import { startFakeDiscord, type FakeDiscord } from '../playground/server/index.js';
import { deleteKeys } from './helpers/stack.js';

let fake: FakeDiscord;
let child: ChildProcess | undefined;
let stderr = '';
const prefix = `t-${randomUUID().slice(0, 8)}`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-start-'));

beforeAll(async () => {
  fake = await startFakeDiscord();
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await fake?.close();
  const redis = createRedis('redis://127.0.0.1:6379');
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
});

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

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs.join('')).toContain('shutting down');
    expect(stderr).toBe('');
  }, 90_000);
});
