// Per-key rate limits in Redis (sliding windows made of sorted sets), so that they hold across
// bot restarts and across several bot processes. One call can take several tokens (a message
// with 5 photos is 5 predictions) from several buckets at once (a user's and a guild's): all
// or nothing, in one script, so a refusal by one bucket costs nothing in the others.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface RateDecision {
  allowed: boolean;
  /** When the caller may try again, if not allowed. */
  retryAfterMs: number;
}

export interface Bucket {
  key: string;
  limit: number;
  windowMs: number;
}

// KEYS: buckets. ARGV: now, tokens, member prefix, then limit and window of each bucket.
// Returns 0 when taken, else the milliseconds until every bucket has room.
const TAKE = `
local now, n, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local wait = 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count + n > limit then
    if n > limit then
      wait = math.max(wait, window)
    else
      -- Room comes back when the (count + n - limit)-th oldest token leaves the window.
      local at = redis.call('ZRANGE', key, count + n - limit - 1, count + n - limit - 1, 'WITHSCORES')
      wait = math.max(wait, tonumber(at[2]) + window - now, 1)
    end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  for j = 1, n do redis.call('ZADD', key, now, id .. ':' .. j) end
  redis.call('PEXPIRE', key, tonumber(ARGV[3 + 2 * i]))
end
return 0
`;

/** Take `tokens` from every bucket, or from none of them. */
export async function takeTokens(redis: Redis, buckets: Bucket[], tokens = 1, now = Date.now()): Promise<RateDecision> {
  const args = [now, tokens, `${now}-${randomUUID()}`, ...buckets.flatMap((b) => [b.limit, b.windowMs])];
  const wait = Number(await redis.eval(TAKE, buckets.length, ...buckets.map((b) => b.key), ...args));
  return { allowed: wait === 0, retryAfterMs: wait };
}

export function takeRateToken(redis: Redis, key: string, limit: number, windowMs = 60_000, now = Date.now()): Promise<RateDecision> {
  return takeTokens(redis, [{ key, limit, windowMs }], 1, now);
}

/** "in 40 s", "in 12 min", "in 3 h": when to try again, for a user. */
export function retryIn(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 120) return `in ${s} s`;
  if (s < 2 * 3600) return `in ${Math.ceil(s / 60)} min`;
  return `in ${Math.ceil(s / 3600)} h`;
}
