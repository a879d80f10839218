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
  default: { limit: 50, windowMs: 1_000 },
};

export interface RateLimitHit {
  method: string;
  route: string;
  path: string;
  bucket: string;
  retryAfterMs: number;
  at: number;
}

interface Window {
  count: number;
  resetAt: number;
}

export interface RateLimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
  retryAfterMs: number;
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

  /** Counts one request on (route, major parameter) and says whether it may proceed. */
  take(route: string, major: string, path: string): RateLimitVerdict {
    const rule = this.ruleFor(route);
    const key = `${route}|${major}`;
    const now = this.clock.now();
    const window = this.currentWindow(key, rule, now);
    const bucket = bucketHash(route);
    if (window.count >= rule.limit) {
      const retryAfterMs = window.resetAt - now;
      const [method, ...rest] = route.split(' ');
      this.hits.push({ method: method ?? '', route: rest.join(' '), path, bucket, retryAfterMs, at: now });
      return { allowed: false, retryAfterMs, headers: { ...headers(rule, 0, window.resetAt, now, bucket), 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) } };
    }
    window.count++;
    return { allowed: true, retryAfterMs: 0, headers: headers(rule, rule.limit - window.count, window.resetAt, now, bucket) };
  }

  /** Uses up the rest of a bucket's window, as another client with the same token would. */
  drain(route: string, major: string): void {
    const rule = this.ruleFor(route);
    const window = this.currentWindow(`${route}|${major}`, rule, this.clock.now());
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
    'X-RateLimit-Scope': 'user',
  };
}
