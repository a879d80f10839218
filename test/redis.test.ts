// The embedded Redis that `npm start` launches when nothing answers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { ensureRedis, redisAnswers } from '../core/redis.js';

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
    } finally {
      await embedded.stop();
    }
    expect(await redisAnswers(url, 300)).toBe(false);
  });

  it('refuses to start one for a remote host and names REDIS_URL', async () => {
    await expect(ensureRedis('redis://kodiak-test.invalid:6379', os.tmpdir(), log)).rejects.toThrow(/REDIS_URL/);
  }, 20_000);
});
