// Finding 4 of issue 15: Wikimedia's API etiquette and its ways of answering. Errors arrive as
// HTTP 200 (MediaWiki-API-Error), maxlag asks to wait, continuation is a whole object that may
// carry `iicontinue`, thumbnails come in standard widths, and answers are gzipped.
import { afterEach, describe, expect, it } from 'vitest';
import { userAgent } from '../core/collect/identity.js';
import { ProviderHttp } from '../core/collect/search/http.js';
import { createProviders, searchImages } from '../core/collect/search/index.js';
import { thumbWidthFor, WikimediaProvider } from '../core/collect/search/wikimedia.js';
import { loadConfig } from '../core/config.js';
import { startFakeSearch, type FakeSearch, type FakeSearchOptions } from './fakes/search/server.js';

const catalogue = (_p: string, query: string) => Array.from({ length: 120 }, (_, i) => ({ url: `http://img.test/${query}/${i}.jpg` }));

let fake: FakeSearch | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function wikimedia(opts: Partial<FakeSearchOptions> = {}) {
  fake = await startFakeSearch({ images: catalogue, ...opts });
  return new WikimediaProvider(fake.url, new ProviderHttp('wikimedia', { userAgent: userAgent('ops@kodiak.test') }));
}

const params = (f: FakeSearch) => f.requests.map((r) => Object.fromEntries(new URL(r.path, 'http://x').searchParams));

describe('Wikimedia Commons', () => {
  it('an error inside an HTTP 200 is a provider error with the API code and message, not zero results', async () => {
    fake = await startFakeSearch({ images: catalogue, failures: { wikimedia: { status: 200, apiError: 'badvalue' } } });
    const config = loadConfig({ HTTP_CONTACT: 'ops@kodiak.test', WIKIMEDIA_URL: fake.url, SEARCH_PROVIDERS: 'wikimedia' });
    const out = await searchImages(createProviders(config).providers, 'bear', 10);
    expect(out.hits).toEqual([]);
    expect(out.errors.wikimedia).toBe('API error badvalue: Unrecognized value for parameter "prop": imageinfo2.');
  });

  it('sends maxlag, and waits out the Retry-After of a maxlag answer before asking again', async () => {
    const provider = await wikimedia({ failures: { wikimedia: { status: 200, apiError: 'maxlag', retryAfter: 1, times: 1 } } });
    const { hits } = await provider.search('bear', 10);
    expect(hits.length).toBeGreaterThanOrEqual(10);
    const asked = params(fake!);
    expect(asked).toHaveLength(2);
    expect(asked.every((p) => p.maxlag === '5')).toBe(true);
  });

  it('echoes the whole continue object, so iicontinue completes a batch instead of fetching it again', async () => {
    const provider = await wikimedia({ wikimediaImageinfoLimit: 20 });
    const { hits, next } = await provider.search('bear', 100);
    expect(hits.map((h) => h.url)).toEqual(catalogue('wikimedia', 'bear').slice(0, 100).map((i) => i.url));
    const asked = params(fake!);
    expect(asked.map((p) => p.iicontinue ?? `offset ${p.gsroffset ?? 0}`)).toEqual([
      'offset 0',
      'File_20.jpg|20240101000000',
      'File_40.jpg|20240101000000',
      'offset 50',
      'File_70.jpg|20240101000000',
      'File_90.jpg|20240101000000',
    ]);
    // The next call starts from the last continue object: the third batch.
    expect(JSON.parse(next!)).toEqual({ gsroffset: 100, continue: 'gsroffset||' });
  });

  it('asks for a standard thumbnail width that covers MAX_IMAGE_SIZE, with gzip', async () => {
    const provider = await wikimedia();
    const { hits } = await provider.search('bear', 5);
    expect(hits.length).toBeGreaterThan(5);
    expect(params(fake!)[0]!.iiurlwidth).toBe('500');
    expect(fake!.requests[0]!.headers['accept-encoding']).toBe('gzip');
    expect([64, 250, 500, 501, 800, 1024, 4096].map(thumbWidthFor)).toEqual([120, 250, 500, 960, 960, 1280, 3840]);
  });
});
