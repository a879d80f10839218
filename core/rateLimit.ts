// A per-key rate limit in Redis (sliding one-minute window made of a sorted set), so that
// it holds across bot restarts and across several bot processes.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface RateDecision {
  allowed: boolean;
  /** When the caller may try again, if not allowed. */
  retryAfterMs: number;
}

export async function takeRateToken(redis: Redis, key: string, limit: number, windowMs = 60_000, now = Date.now()): Promise<RateDecision> {
  const member = `${now}-${randomUUID()}`;
  const results = await redis
    .multi()
    .zremrangebyscore(key, 0, now - windowMs)
    .zadd(key, now, member)
    .zcard(key)
    .zrange(key, 0, 0, 'WITHSCORES')
    .pexpire(key, windowMs)
    .exec();
  const count = Number(results?.[2]?.[1] ?? 0);
  if (count <= limit) return { allowed: true, retryAfterMs: 0 };
  // Over the limit: this attempt does not count against the user.
  await redis.zrem(key, member);
  const oldest = Number((results?.[3]?.[1] as string[] | undefined)?.[1] ?? now);
  return { allowed: false, retryAfterMs: Math.max(0, oldest + windowMs - now) };
}
