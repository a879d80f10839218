// Per-route rate limits the way Discord reports them: every answer on a limited route
// carries X-RateLimit-* headers, and a request over the limit gets 429 with `retry_after`.
// discord.js paces itself from those headers, so a bot that respects them never sees a 429;
// `drain()` simulates another process spending the same bucket, which is how real bots hit one.
import { createHash } from 'node:crypto';
import type { FakeClock } from './clock.js';

export interface RateLimitRule {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

/** Rules keyed by "METHOD /route/:template", e.g. "POST /channels/:channel_id/messages"; `default` covers the rest. */
export type RateLimitConfig = Partial<Record<string, RateLimitRule>>;

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  'POST /channels/:channel_id/messages': { limit: 5, windowMs: 5_000 },
  // Adding and removing the bot's own reactions share one bucket per channel: 1 per 250 ms.
  reactions: { limit: 1, windowMs: 250 },
  // The global limit: 50 requests per second per bot token over all routes but interaction callbacks.
  global: { limit: 50, windowMs: 1_000 },
  default: { limit: 50, windowMs: 1_000 },
};

/** Routes that share a bucket: the bot's own reaction add/remove share `reactions`. */
export function bucketRoute(route: string): string {
  return route.endsWith('/reactions/:emoji/@me') ? 'reactions' : route;
}

export interface RateLimitHit {
  method: string;
  route: string;
  path: string;
  bucket: string;
  retryAfterMs: number;
  at: number;
  /** 'user' for a route bucket, 'global' for the global limit. */
  scope: 'user' | 'global';
}

interface Window {
  count: number;
  resetAt: number;
}

export interface RateLimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
  retryAfterMs: number;
  scope?: 'user' | 'global';
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  readonly hits: RateLimitHit[] = [];
  private readonly rules: RateLimitConfig;

  constructor(
    private readonly clock: FakeClock,
    overrides: RateLimitConfig = {},
  ) {
    this.rules = { ...DEFAULT_RATE_LIMITS, ...overrides };
  }

  ruleFor(route: string): RateLimitRule {
    return this.rules[route] ?? this.rules.default ?? { limit: 50, windowMs: 1_000 };
  }

  /**
   * Counts one request on (route, major parameter), and on the global bucket when `global`,
   * and says whether it may proceed. `X-RateLimit-Scope` goes only on a 429, as on Discord.
   */
  take(route: string, major: string, path: string, global = false): RateLimitVerdict {
    const now = this.clock.now();
    const [method, ...rest] = route.split(' ');
    const hit = (retryAfterMs: number, bucket: string, scope: 'user' | 'global') =>
      this.hits.push({ method: method ?? '', route: rest.join(' '), path, bucket, retryAfterMs, at: now, scope });
    if (global) {
      const rule = this.ruleFor('global');
      const window = this.currentWindow('global', rule, now);
      if (window.count >= rule.limit) {
        const retryAfterMs = window.resetAt - now;
        hit(retryAfterMs, 'global', 'global');
        return { allowed: false, retryAfterMs, scope: 'global', headers: { 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global', 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) } };
      }
      window.count++;
    }
    const shared = bucketRoute(route);
    const rule = this.ruleFor(shared);
    const window = this.currentWindow(`${shared}|${major}`, rule, now);
    const bucket = bucketHash(shared);
    if (window.count >= rule.limit) {
      const retryAfterMs = window.resetAt - now;
      hit(retryAfterMs, bucket, 'user');
      return { allowed: false, retryAfterMs, scope: 'user', headers: { ...headers(rule, 0, window.resetAt, now, bucket), 'X-RateLimit-Scope': 'user', 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) } };
    }
    window.count++;
    return { allowed: true, retryAfterMs: 0, headers: headers(rule, rule.limit - window.count, window.resetAt, now, bucket) };
  }

  /** Uses up the rest of a bucket's window ('global' for the global one), as another client with the same token would. */
  drain(route: string, major: string): void {
    const shared = bucketRoute(route);
    const rule = this.ruleFor(shared);
    const window = this.currentWindow(shared === 'global' ? 'global' : `${shared}|${major}`, rule, this.clock.now());
    window.count = rule.limit;
  }

  private currentWindow(key: string, rule: RateLimitRule, now: number): Window {
    let window = this.windows.get(key);
    if (!window || now >= window.resetAt) {
      window = { count: 0, resetAt: now + rule.windowMs };
      this.windows.set(key, window);
    }
    return window;
  }
}

/** Discord's bucket ids are opaque hashes shared by routes with the same limit. */
function bucketHash(route: string): string {
  return createHash('sha1').update(route).digest('hex').slice(0, 32);
}

function headers(rule: RateLimitRule, remaining: number, resetAt: number, now: number, bucket: string): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(rule.limit),
    'X-RateLimit-Remaining': String(remaining),
    'X-RateLimit-Reset': (resetAt / 1000).toFixed(3),
    'X-RateLimit-Reset-After': (Math.max(0, resetAt - now) / 1000).toFixed(3),
    'X-RateLimit-Bucket': bucket,
  };
}
