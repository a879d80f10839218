import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { takeRateToken } from '../core/rateLimit.js';
import { createRedis } from '../core/redis.js';

const redis = createRedis('redis://127.0.0.1:6379');
const key = `t-${randomUUID().slice(0, 8)}:rate:alice`;
afterAll(async () => {
  await redis.del(key);
  redis.disconnect();
});

describe('takeRateToken', () => {
  it('allows `limit` calls in a window, then says when to come back', async () => {
    const now = 1_000_000;
    for (let i = 0; i < 3; i++) expect((await takeRateToken(redis, key, 3, 60_000, now + i)).allowed).toBe(true);
    const refused = await takeRateToken(redis, key, 3, 60_000, now + 10);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(60_000 - 10);
    // Refused attempts do not extend the penalty; once the window has passed calls are allowed again.
    expect((await takeRateToken(redis, key, 3, 60_000, now + 60_001)).allowed).toBe(true);
  });
});
