// Pacing with memory, shared by every worker through Redis: a cooldown per provider (set from
// Retry-After and X-RateLimit-* answers, so a later round or another job does not knock on a
// throttled API again) and request budgets per provider (anonymous Openverse allows a few requests
// an hour), counted in a sliding window like the Django REST framework throttles Openverse runs.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Rate, SearchProviderId } from '../../config.js';
import type { Redis } from '../../redis.js';
import { runScript, script } from '../../store/lua.js';
import { ProviderError } from './types.js';

/** Slack added to every budget window, so requests that reach the API a little late still fit. */
const WINDOW_SLACK_MS = 500;

// KEYS: cooldown, then one sorted set per rate. ARGV: member, then limit and window per rate.
// Returns {0, ''} when a request may go now (and counts it), else {ms to wait, why}.
const TAKE = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cd = redis.call('PTTL', KEYS[1])
if cd > 0 then return {cd, redis.call('GET', KEYS[1]) or 'cooling down'} end
local wait, why = 0, ''
for i = 2, #KEYS do
  local limit, window = tonumber(ARGV[i * 2 - 2]), tonumber(ARGV[i * 2 - 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local freeing = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    local w = tonumber(freeing[2]) + window - now
    if w > wait then wait, why = w, 'budget ' .. i - 1 end
  end
end
if wait > 0 then return {wait, why} end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1] .. now)
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[i * 2 - 1]))
end
return {0, ''}
`);

export interface PacerOptions {
  /** Key prefix (QUEUE_PREFIX), so deployments sharing a Redis keep apart. */
  prefix: string;
  budgets?: Partial<Record<SearchProviderId, Rate[]>>;
  /** A wait up to this long is slept through; a longer one fails the request as throttled. */
  maxWaitMs?: number;
}

export function formatWait(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.ceil(s / 60)} min` : `${Math.ceil(s / 3600)} h`;
}

export class SearchPacer {
  constructor(
    private readonly redis: Redis,
    readonly opts: PacerOptions,
  ) {}

  private key(provider: SearchProviderId, what: string): string {
    return `${this.opts.prefix}:search:${what}:${provider}`;
  }

  /** Rates that apply to `provider`, for messages. */
  budget(provider: SearchProviderId): Rate[] {
    return this.opts.budgets?.[provider] ?? [];
  }

  /** How long `provider` is still cooling down, with why; undefined when it is not. */
  async cooldown(provider: SearchProviderId): Promise<{ ms: number; reason: string } | undefined> {
    const [ms, reason] = await Promise.all([this.redis.pttl(this.key(provider, 'cooldown')), this.redis.get(this.key(provider, 'cooldown'))]);
    return ms > 0 ? { ms, reason: reason ?? 'cooling down' } : undefined;
  }

  /** Remember that `provider` asked us to stay away for `ms` (never shortens a longer cooldown). */
  async coolDown(provider: SearchProviderId, ms: number, reason: string): Promise<void> {
    const key = this.key(provider, 'cooldown');
    const left = await this.redis.pttl(key);
    if (ms > 0 && ms > left) await this.redis.set(key, reason, 'PX', Math.ceil(ms));
  }

  /**
   * A request slot for `provider`: counted against its budgets. Sleeps through a short wait;
   * a longer one throws a throttled ProviderError without any request being made.
   */
  async take(provider: SearchProviderId, signal?: AbortSignal): Promise<void> {
    const rates = this.budget(provider);
    const keys = [this.key(provider, 'cooldown'), ...rates.map((r) => this.key(provider, `budget:${r.unit}`))];
    // Every request is its own member of the budget's sorted set: a per-instance counter is not
    // enough, since two pacers (two jobs in one process) taking in the same millisecond would
    // write the same member and count once.
    const args = [`${randomUUID()}:`, ...rates.flatMap((r) => [r.limit, r.windowMs + WINDOW_SLACK_MS])];
    for (;;) {
      const [wait, why] = (await runScript(this.redis, TAKE, keys, args)) as [number, string];
      if (wait <= 0) return;
      if (wait > (this.opts.maxWaitMs ?? 5000)) {
        const budget = /^budget (\d+)$/.exec(why);
        const rate = budget ? rates[Number(budget[1]) - 1] : undefined;
        const reason = rate ? `paced: its budget of ${rate.limit} requests per ${rate.unit} is used up` : `cooling down (${why})`;
        throw new ProviderError(`${reason}; next request in ${formatWait(wait)}`, 429, wait);
      }
      await sleep(wait, undefined, { signal });
    }
  }
}

/**
 * A cooldown from rate-limit headers: Retry-After, else the reset of an exhausted
 * X-RateLimit-Remaining (Brave sends lists such as `1, 1419704`: per second, per month; values
 * above 10^9 are read as Unix times).
 */
export function rateLimitWait(headers: Record<string, string | string[] | undefined>, retryAfterMs: number | undefined, nowMs = Date.now()): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const list = (h: string | string[] | undefined) => (h === undefined ? [] : String(Array.isArray(h) ? h[0] : h).split(',').map((x) => Number(x.trim())));
  const remaining = list(headers['x-ratelimit-remaining']);
  const reset = list(headers['x-ratelimit-reset']);
  let wait: number | undefined;
  remaining.forEach((left, i) => {
    const r = reset[i];
    if (left !== 0 || r === undefined || !Number.isFinite(r)) return;
    const ms = r > 1e9 ? r * 1000 - nowMs : r * 1000;
    wait = Math.max(wait ?? 0, ms);
  });
  return wait;
}
