import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { BraveProvider } from '../core/collect/search/brave.js';
import { DuckDuckGoProvider, extractVqd } from '../core/collect/search/duckduckgo.js';
import { createProviders, searchImages } from '../core/collect/search/index.js';
import { OpenverseProvider } from '../core/collect/search/openverse.js';
import { WikimediaProvider } from '../core/collect/search/wikimedia.js';
import { ProviderHttp } from '../core/collect/search/http.js';
import { userAgent } from '../core/collect/identity.js';
import { startFakeSearch, type FakeProvider, type FakeSearch, type FakeSearchOptions } from './fakes/search/server.js';

const catalogue = (provider: FakeProvider, query: string) =>
  Array.from({ length: 45 }, (_, i) => ({ url: `http://img.test/${provider}/${query.replace(/\s/g, '_')}/${i}.jpg`, title: `${query} ${i}` }));

let fake: FakeSearch | undefined;
async function start(opts: Partial<FakeSearchOptions> = {}) {
  fake = await startFakeSearch({ images: catalogue, ...opts });
  return fake;
}
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('search providers against fakes with the real response shapes', () => {
  it('Openverse pages anonymously with page_size <= 20', async () => {
    const f = await start();
    const { hits, next } = await new OpenverseProvider({ baseUrl: f.url }).search('grizzly bear', 30);
    expect(hits).toHaveLength(40); // whole pages
    expect(next).toBe('3');
    expect(hits[0]).toMatchObject({ url: 'http://img.test/openverse/grizzly_bear/0.jpg', creator: 'someone', license: 'CC BY 2.0', pageUrl: expect.stringContaining('flickr') });
    const pages = f.requests.filter((r) => r.path.startsWith('/v1/images/'));
    expect(pages).toHaveLength(2);
    expect(pages.every((r) => r.path.includes('page_size=20') && !r.headers.authorization)).toBe(true);
  });

  it('Openverse uses a client-credentials token when configured', async () => {
    const f = await start({ openverseClient: { id: 'cid', secret: 'sec' } });
    const { hits } = await new OpenverseProvider({ baseUrl: f.url, clientId: 'cid', clientSecret: 'sec' }).search('bear', 40);
    expect(hits).toHaveLength(45);
    const pages = f.requests.filter((r) => r.path.startsWith('/v1/images/'));
    expect(pages).toHaveLength(1);
    expect(pages[0]!.headers.authorization).toMatch(/^Bearer token-/);
    await expect(new OpenverseProvider({ baseUrl: f.url, clientId: 'cid', clientSecret: 'wrong' }).search('bear', 5)).rejects.toThrow(/could not get a token/);
  });

  it('Wikimedia Commons gives thumbnails with licence and artist', async () => {
    const f = await start();
    const { hits } = await new WikimediaProvider(f.url, new ProviderHttp('wikimedia', { userAgent: userAgent('ops@kodiak.test') })).search('black bear', 12);
    expect(hits).toHaveLength(45);
    expect(hits[0]).toMatchObject({ url: 'http://img.test/wikimedia/black_bear/0.jpg', license: 'CC BY-SA 4.0', creator: 'Jane Doe' });
    const q = new URL(f.requests[0]!.path, 'http://x').searchParams;
    expect(Object.fromEntries(q)).toMatchObject({ generator: 'search', gsrnamespace: '6', prop: 'imageinfo', iiprop: 'url|size|mime|extmetadata' });
  });

  it('DuckDuckGo fetches a vqd token, then i.js with a Referer', async () => {
    const f = await start();
    const { hits } = await new DuckDuckGoProvider(f.url).search('teddy bear', 10);
    expect(hits).toHaveLength(45);
    expect(hits[0]!.url).toBe('http://img.test/duckduckgo/teddy_bear/0.jpg');
    const ijs = f.requests.find((r) => r.path.startsWith('/i.js'))!;
    expect(ijs.headers.referer).toBeTruthy();
    expect(extractVqd('<script>vqd="4-123-456";</script>')).toBe('4-123-456');
  });

  it('Brave needs its key', async () => {
    const f = await start({ braveKey: 'k' });
    expect((await new BraveProvider(f.url, 'k').search('bear', 5)).hits).toHaveLength(45);
    await expect(new BraveProvider(f.url, 'nope').search('bear', 5)).rejects.toThrow(/HTTP 422/);
    const config = loadConfig({ BRAVE_URL: f.url });
    expect(createProviders(config).unavailable.brave).toMatch(/BRAVE_API_KEY/);
  });
});

describe('searchImages', () => {
  it('falls through a rate-limited and a failing provider and says why', async () => {
    const f = await start({ failures: { openverse: { status: 429, retryAfter: 60 }, wikimedia: { status: 500 } } });
    const config = loadConfig({ HTTP_CONTACT: 'ops@kodiak.test', OPENVERSE_URL: f.url, WIKIMEDIA_URL: f.url, DUCKDUCKGO_URL: f.url, SEARCH_PROVIDERS: 'openverse,wikimedia,duckduckgo' });
    const out = await searchImages(createProviders(config).providers, 'grizzly', 8);
    expect(out.hits).toHaveLength(8);
    expect(out.hits.every((h) => h.provider === 'duckduckgo')).toBe(true);
    expect(out.produced).toEqual({ duckduckgo: 8 });
    expect(out.errors.openverse).toMatch(/rate limited \(429\), retry after 60 s/);
    expect(out.errors.wikimedia).toMatch(/HTTP 500/);
  });

  it('waits out a short Retry-After once, and tops up from the next provider', async () => {
    const f = await start({ failures: { openverse: { status: 429, retryAfter: 1, times: 1 } }, images: (p, q) => catalogue(p, q).slice(0, p === 'openverse' ? 5 : 45) });
    const config = loadConfig({ HTTP_CONTACT: 'ops@kodiak.test', OPENVERSE_URL: f.url, WIKIMEDIA_URL: f.url, SEARCH_PROVIDERS: 'openverse,wikimedia' });
    const seen = new Set<string>();
    const out = await searchImages(createProviders(config).providers, 'bear', 12, { seen });
    expect(out.produced).toEqual({ openverse: 5, wikimedia: 7 });
    expect(out.errors).toEqual({});
    // Asking again skips what was already handed out.
    const more = await searchImages(createProviders(config).providers, 'bear', 5, { seen });
    expect(more.hits.map((h) => h.url)).toEqual(catalogue('wikimedia', 'bear').slice(7, 12).map((i) => i.url));
  });
});
