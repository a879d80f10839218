// The embedded Redis that `npm start` launches when nothing answers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { createRedis, ensureRedis, redisAnswers } from '../core/redis.js';
import { checkDeployment, DEPLOYMENTS_KEY } from '../core/store/deployment.js';

const log = createLogger('silent');

describe('ensureRedis', () => {
  it('uses a Redis that answers and starts nothing', async () => {
    const embedded = await ensureRedis('redis://127.0.0.1:6379', os.tmpdir(), log);
    expect(embedded.started).toBe(false);
  });

  it('starts redis-server with AOF persistence under DATA_DIR/redis when nothing answers', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const url = `redis://127.0.0.1:${port}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-redis-'));
    expect(await redisAnswers(url, 300)).toBe(false);
    const embedded = await ensureRedis(url, dataDir, log);
    try {
      expect(embedded.started).toBe(true);
      expect(await redisAnswers(url)).toBe(true);
      expect(fs.existsSync(path.join(dataDir, 'redis'))).toBe(true);
      const redis = createRedis(url);
      expect(await checkDeployment(redis, dataDir, { embeddedRedis: true })).toMatchObject({ ok: true });
      redis.disconnect();
    } finally {
      await embedded.stop();
    }
    expect(await redisAnswers(url, 300)).toBe(false);

    // The marker says the embedded Redis owns this DATA_DIR: the next start runs it again, with its data.
    const again = await ensureRedis(url, dataDir, log);
    try {
      const redis = createRedis(url);
      expect(await checkDeployment(redis, dataDir)).toMatchObject({ ok: true, paired: 'before' });
      redis.disconnect();
    } finally {
      await again.stop();
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts no empty Redis for a DATA_DIR whose data lives in another Redis, and names REDIS_URL', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-redis-'));
    const shared = createRedis('redis://127.0.0.1:6379');
    const pairing = await checkDeployment(shared, dataDir);
    const url = `redis://127.0.0.1:${20000 + Math.floor(Math.random() * 20000)}`;
    try {
      await expect(ensureRedis(url, dataDir, log)).rejects.toThrow(/REDIS_URL: nothing answers .* holds data kept in another Redis/);
      expect(await redisAnswers(url, 300)).toBe(false);
      expect(fs.existsSync(path.join(dataDir, 'redis'))).toBe(false);
    } finally {
      if (pairing.ok) await shared.hdel(DEPLOYMENTS_KEY, pairing.id);
      shared.disconnect();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start one for a remote host and names REDIS_URL', async () => {
    await expect(ensureRedis('redis://kodiak-test.invalid:6379', os.tmpdir(), log)).rejects.toThrow(/REDIS_URL/);
  }, 20_000);
});
