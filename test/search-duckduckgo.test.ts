// Finding 5 of issue 15: DuckDuckGo's current flow (that of the maintained `ddgs` library) needs
// browser-like headers and parameters; Kodiak sends them but keeps its honest User-Agent, keeps
// DuckDuckGo out of the default providers, and says so plainly when it refuses.
import { afterEach, describe, expect, it } from 'vitest';
import { userAgent } from '../core/collect/identity.js';
import { DuckDuckGoProvider } from '../core/collect/search/duckduckgo.js';
import { ProviderHttp } from '../core/collect/search/http.js';
import { createProviders, searchImages } from '../core/collect/search/index.js';
import { loadConfig } from '../core/config.js';
import { startFakeSearch, type FakeSearch } from './fakes/search/server.js';

const catalogue = (_p: string, query: string) => Array.from({ length: 250 }, (_, i) => ({ url: `http://img.test/${query}/${i}.jpg` }));

let fake: FakeSearch | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('DuckDuckGo (experimental)', () => {
  it('follows the current flow: vqd, then i.js with Sec-Fetch-*, Accept-Language, a Referer and ct, and no empty f', async () => {
    fake = await startFakeSearch({ images: catalogue });
    const ua = userAgent('ops@kodiak.test');
    const provider = new DuckDuckGoProvider(fake.url, new ProviderHttp('duckduckgo', { userAgent: ua }));
    const first = await provider.search('teddy bear', 150);
    expect(first.hits).toHaveLength(200);
    expect(first.next).toBe('200');
    const again = await provider.search('teddy bear', 20, { cursor: first.next });
    expect(again.hits.map((h) => h.url)).toEqual(catalogue('duckduckgo', 'teddy bear').slice(200).map((i) => i.url));
    const ijs = fake.requests.filter((r) => r.path.startsWith('/i.js')).map((r) => new URL(r.path, 'http://x').searchParams);
    expect(ijs.map((q) => q.get('s'))).toEqual([null, '100', '200']);
    expect(ijs.every((q) => q.get('ct') === 'AT' && !q.has('f'))).toBe(true);
    // Browser-like where the flow needs it, but never a browser's User-Agent.
    expect(fake.requests.every((r) => r.headers['user-agent'] === ua)).toBe(true);
  });

  it('a 403 names DuckDuckGo and suggests the other providers', async () => {
    fake = await startFakeSearch({ images: catalogue, failures: { duckduckgo: { status: 403 } } });
    const config = loadConfig({ HTTP_CONTACT: 'ops@kodiak.test', DUCKDUCKGO_URL: fake.url, SEARCH_PROVIDERS: 'duckduckgo' });
    const out = await searchImages(createProviders(config).providers, 'bear', 10);
    expect(out.refused.duckduckgo).toBe(
      'refused our requests (HTTP 403): DuckDuckGo has no API and refuses clients it does not take for a browser; use openverse, wikimedia or brave (SEARCH_PROVIDERS)',
    );
  });

  it('is not among the default providers', () => {
    expect(loadConfig({}).SEARCH_PROVIDERS).toEqual(['openverse', 'wikimedia', 'brave']);
  });
});
