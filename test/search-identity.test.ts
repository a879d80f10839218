// Finding 3 of issue 15: Kodiak names itself, with contact information, to every image API and
// image host; Wikimedia (whose policy requires it) is not asked without it, and the operator is
// told which providers will refuse or throttle the configuration, and why.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { searchStatus } from '../commands/status.js';
import { Downloader } from '../core/collect/download.js';
import { searchNotes, userAgent } from '../core/collect/identity.js';
import { createProviders, searchImages } from '../core/collect/search/index.js';
import { WikimediaProvider } from '../core/collect/search/wikimedia.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { VERSION } from '../core/version.js';
import { startFakeSearch, type FakeSearch } from './fakes/search/server.js';

const catalogue = (provider: string, query: string) => Array.from({ length: 30 }, (_, i) => ({ url: `http://img.test/${provider}/${query}/${i}.jpg` }));

let fake: FakeSearch | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('identification', () => {
  it('every search request says Kodiak/<version> (<contact>) undici/<version>', async () => {
    fake = await startFakeSearch({ images: catalogue, braveKey: 'k' });
    const config = loadConfig({ HTTP_CONTACT: 'https://bears.example/kodiak', BRAVE_API_KEY: 'k', OPENVERSE_URL: fake.url, WIKIMEDIA_URL: fake.url, BRAVE_URL: fake.url, DUCKDUCKGO_URL: fake.url, SEARCH_PROVIDERS: 'openverse,wikimedia,duckduckgo,brave' });
    const { providers } = createProviders(config);
    for (const p of providers) await p.search('bear', 5);
    expect(new Set(fake.requests.map((r) => r.provider))).toEqual(new Set(['openverse', 'wikimedia', 'duckduckgo', 'brave']));
    const ua = new RegExp(`^Kodiak/${VERSION.replace(/\./g, '\\.')} \\(https://bears\\.example/kodiak\\) undici/\\d+\\.\\d+\\.\\d+$`);
    for (const r of fake.requests) expect(r.headers['user-agent']).toMatch(ua);
  });

  it('the fake Wikimedia refuses a User-Agent without contact, as the real one does, and the error says so', async () => {
    fake = await startFakeSearch({ images: catalogue });
    await expect(new WikimediaProvider(fake.url).search('bear', 5)).rejects.toThrow(/refused our requests \(HTTP 403\)/);
  });

  it('without HTTP_CONTACT Wikimedia is not asked at all, and the outcome says why', async () => {
    fake = await startFakeSearch({ images: catalogue });
    const config = loadConfig({ OPENVERSE_URL: fake.url, WIKIMEDIA_URL: fake.url, SEARCH_PROVIDERS: 'wikimedia,openverse' });
    const set = createProviders(config);
    expect(set.providers.map((p) => p.id)).toEqual(['openverse']);
    expect(set.skipped.wikimedia).toMatch(/HTTP_CONTACT/);
    const out = await searchImages(set.providers, 'bear', 5);
    expect(out.hits).toHaveLength(5);
    expect(fake.requests.some((r) => r.provider === 'wikimedia')).toBe(false);
  });

  it('start-up and /status say which providers will refuse or throttle, and why', () => {
    const bare = loadConfig({ SEARCH_PROVIDERS: 'openverse,wikimedia,duckduckgo' });
    const notes = searchNotes(bare);
    expect(notes.filter((n) => n.kind === 'refused').map((n) => n.text).join('\n')).toMatch(/HTTP_CONTACT is not set: Wikimedia Commons is skipped.*403/);
    expect(notes.find((n) => n.kind === 'throttled')?.text).toMatch(/Openverse .*anonymously.*5\/hour and 100\/day/);
    expect(notes.some((n) => /DuckDuckGo is experimental/.test(n.text))).toBe(true);
    expect(searchStatus(bare)).toMatch(/⚠️ HTTP_CONTACT is not set/);

    const identified = loadConfig({ HTTP_CONTACT: 'ops@bears.example', OPENVERSE_CLIENT_ID: 'id', OPENVERSE_CLIENT_SECRET: 's' });
    expect(searchNotes(identified)).toEqual([]);
    expect(searchStatus(identified)).toContain(`identifies as \`${userAgent('ops@bears.example')}\``);
  });

  it('HTTP_CONTACT must be a URL or an email that cannot break the header', () => {
    for (const bad of ['me', 'ftp://x.example', 'a@b.example) evil', 'x@y.example\r\nX-Evil: 1']) {
      expect(() => loadConfig({ HTTP_CONTACT: bad }), bad).toThrow(ConfigError);
    }
    expect(loadConfig({ HTTP_CONTACT: ' ops@bears.example ' }).HTTP_CONTACT).toBe('ops@bears.example');
  });
});

describe('downloads', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  it('carry the same User-Agent, and keep to 2 at a time on upload.wikimedia.org as its robot policy asks', async () => {
    let inFlight = 0;
    let most = 0;
    const agents = new Set<string>();
    server = http.createServer((req, res) => {
      agents.add(String(req.headers['user-agent']));
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.end(Buffer.alloc(100));
      }, 30);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const ua = userAgent('ops@bears.example');
    const d = new Downloader({
      concurrency: 16,
      perHost: 8,
      timeoutMs: 2000,
      retries: 0,
      maxBytes: 1 << 20,
      allowPrivate: true,
      userAgent: ua,
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    try {
      await Promise.all(Array.from({ length: 8 }, (_, i) => d.download(`http://upload.wikimedia.org:${port}/wikipedia/commons/${i}.jpg`)));
      expect(most).toBe(2);
      most = 0;
      await Promise.all(Array.from({ length: 8 }, (_, i) => d.download(`http://images.example:${port}/${i}.jpg`)));
      expect(most).toBeGreaterThan(2);
    } finally {
      await d.close();
    }
    expect([...agents]).toEqual([ua]);
  });
});
