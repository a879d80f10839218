// Findings 1 and 2 of issue 15: anonymous Openverse is paced to its budget, each page of a query
// is asked for once (cursors in Redis), and a Retry-After or an exhausted X-RateLimit is
// remembered across rounds, jobs and workers, so nothing knocks on a throttled API again.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCursorStore } from '../core/collect/search/cursors.js';
import { createPacer, createProviders, searchImages } from '../core/collect/search/index.js';
import { rateLimitWait, SearchPacer } from '../core/collect/search/pacing.js';
import { loadConfig } from '../core/config.js';
import { startFakeSearch, type FakeProvider, type FakeSearch, type FakeSearchOptions } from './fakes/search/server.js';
import { deleteKeys } from './helpers/stack.js';

const catalogue = (provider: FakeProvider, query: string) => Array.from({ length: 200 }, (_, i) => ({ url: `http://img.test/${provider}/${query}/${i}.jpg` }));

let redis: Redis;
let fake: FakeSearch | undefined;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, p);
  redis?.disconnect();
});

/** A worker's view of the search: its own providers and pacer, sharing Redis with the others. */
async function setup(opts: Partial<FakeSearchOptions>, env: Record<string, string>) {
  fake = await startFakeSearch({ images: catalogue, ...opts });
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  const config = loadConfig({ QUEUE_PREFIX: prefix, HTTP_CONTACT: 'ops@kodiak.test', OPENVERSE_URL: fake.url, WIKIMEDIA_URL: fake.url, BRAVE_URL: fake.url, ...env });
  const worker = () => createProviders(config, undefined, createPacer(config, redis)).providers;
  const cursors = new RedisCursorStore(redis, prefix, 'guild/bears/1/grizzly bear');
  return { config, worker, cursors, f: fake };
}

const pagesAsked = (f: FakeSearch, provider: FakeProvider) => f.requests.filter((r) => r.provider === provider).map((r) => new URL(r.path, 'http://x').searchParams);

describe('anonymous Openverse', () => {
  it('is paced to its budget and each page is asked for once, across rounds and workers', async () => {
    const { worker, cursors, f } = await setup(
      { openverseAnonRate: [{ limit: 3, windowMs: 60_000 }] },
      { SEARCH_PROVIDERS: 'openverse,wikimedia', OPENVERSE_ANON_RATE: '3/minute,100/day' },
    );
    const seen = new Set<string>();
    // Three rounds of one class, as collectClass makes them, each from a fresh worker.
    const rounds = [];
    for (const limit of [30, 30, 30]) rounds.push(await searchImages(worker(), 'grizzly bear', limit, { seen, cursors }));
    const pages = pagesAsked(f, 'openverse').map((q) => q.get('page'));
    expect(pages).toEqual(['1', '2', '3']); // never page 1 again
    expect(pagesAsked(f, 'openverse').every((q) => q.get('page_size') === '20')).toBe(true);
    expect(f.insideCooldown).toEqual({});
    // 60 results from Openverse in all (3 pages), then it is left alone and Wikimedia serves the rest.
    const fromOpenverse = rounds.reduce((n, r) => n + (r.produced.openverse ?? 0), 0);
    expect(fromOpenverse).toBe(60);
    expect(rounds.every((r) => r.hits.length === 30)).toBe(true);
    expect(rounds[2]!.throttled.openverse).toMatch(/^paced: its budget of 3 requests per minute is used up; next request in \d+ s$/);
    expect(new Set(rounds.flatMap((r) => r.hits.map((h) => h.url))).size).toBe(90);
  });

  it('a page not used up is kept with the cursor and handed out before any new request', async () => {
    const { worker, cursors, f } = await setup({}, { SEARCH_PROVIDERS: 'openverse' });
    const seen = new Set<string>();
    const first = await searchImages(worker(), 'grizzly bear', 8, { seen, cursors });
    const second = await searchImages(worker(), 'grizzly bear', 12, { seen, cursors });
    expect(first.hits.map((h) => h.url)).toEqual(catalogue('openverse', 'grizzly bear').slice(0, 8).map((i) => i.url));
    expect(second.hits.map((h) => h.url)).toEqual(catalogue('openverse', 'grizzly bear').slice(8, 20).map((i) => i.url));
    expect(pagesAsked(f, 'openverse').map((q) => q.get('page'))).toEqual(['1']);
  });
});

describe('Retry-After and X-RateLimit are remembered', () => {
  it('a long Retry-After from Openverse keeps every later round and worker away until it is over', async () => {
    const { worker, cursors, f } = await setup({ failures: { openverse: { status: 429, retryAfter: 600, times: 1 } } }, { SEARCH_PROVIDERS: 'openverse,wikimedia' });
    const seen = new Set<string>();
    const first = await searchImages(worker(), 'grizzly bear', 10, { seen, cursors });
    expect(first.throttled.openverse).toBe('rate limited (429), retry after 10 min');
    expect(first.produced).toEqual({ wikimedia: 10 });
    const asked = f.requests.filter((r) => r.provider === 'openverse').length;
    const second = await searchImages(worker(), 'grizzly bear', 10, { seen, cursors });
    expect(f.requests.filter((r) => r.provider === 'openverse')).toHaveLength(asked);
    expect(second.throttled.openverse).toMatch(/^cooling down \(rate limited \(429\)\); next request in 10 min$/);
    expect(second.produced).toEqual({ wikimedia: 10 });
    expect(f.insideCooldown).toEqual({});
  });

  it("Brave's 429 says when to come back in X-RateLimit-Reset, and that is honoured too", async () => {
    const { worker, cursors, f } = await setup({ braveKey: 'k', failures: { brave: { status: 429, retryAfter: 90 } } }, { SEARCH_PROVIDERS: 'brave,wikimedia', BRAVE_API_KEY: 'k' });
    const seen = new Set<string>();
    const first = await searchImages(worker(), 'bear', 5, { seen, cursors });
    expect(first.throttled.brave).toBe('rate limited (429), retry after 90 s');
    await searchImages(worker(), 'bear', 5, { seen, cursors });
    expect(f.requests.filter((r) => r.provider === 'brave')).toHaveLength(1);
    expect(f.insideCooldown).toEqual({});
  });

  it('reads Retry-After first, then the reset of an exhausted X-RateLimit-Remaining', () => {
    expect(rateLimitWait({ 'x-ratelimit-remaining': '0, 1990', 'x-ratelimit-reset': '1, 1419704' }, 5000)).toBe(5000);
    expect(rateLimitWait({ 'x-ratelimit-remaining': '0, 1990', 'x-ratelimit-reset': '1, 1419704' }, undefined)).toBe(1000);
    expect(rateLimitWait({ 'x-ratelimit-remaining': '3, 0', 'x-ratelimit-reset': '1, 7200' }, undefined)).toBe(7_200_000);
    expect(rateLimitWait({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1700000060' }, undefined, 1_700_000_000_000)).toBe(60_000);
    expect(rateLimitWait({}, undefined)).toBeUndefined();
  });
});

describe('a budget shared by pacers in one process', () => {
  it('counts every request once, even when two pacers take a slot in the same millisecond', async () => {
    // Two collect jobs in one worker process each build their own pacer. Each request must be
    // recorded under its own name in the budget's sorted set, or two same-millisecond requests
    // collapse into one entry and the budget lets an extra request through (6 of 5 an hour seen).
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const budgets = { openverse: [{ limit: 4, unit: 'hour', windowMs: 3_600_000 }] } as const;
    const pacers = Array.from({ length: 8 }, () => new SearchPacer(redis, { prefix, budgets: { openverse: [...budgets.openverse] }, maxWaitMs: 0 }));
    const outcomes = await Promise.allSettled(pacers.map((p) => p.take('openverse')));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(4);
    expect(await redis.zcard(`${prefix}:search:budget:hour:openverse`)).toBe(4);
  });
});
