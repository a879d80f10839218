import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { Downloader, DownloadSession, parseRetryAfter, type DownloaderOptions } from '../core/collect/download.js';
import { ByteBudget } from '../core/collect/byteBudget.js';
import { RejectError } from '../core/collect/reasons.js';
import { blockedRange } from '../core/collect/ssrf.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';

let host: ImageHost;
/** A second host on another loopback address: the one the SSRF tests trust. */
let trustedHost: ImageHost;
const base: DownloaderOptions = { concurrency: 8, perHost: 4, timeoutMs: 2000, retries: 2, maxBytes: 1024 * 1024, allowPrivate: true, retryBaseMs: 20 };
let open: Downloader;

beforeAll(async () => {
  host = await startImageHost();
  trustedHost = await startImageHost({ hosts: ['127.0.0.9'] });
  open = new Downloader(base);
});
afterAll(async () => {
  await open?.close();
  await host?.close();
  await trustedHost?.close();
});

async function reason(d: Downloader, url: string, session?: DownloadSession): Promise<string> {
  const err = await d.download(url, undefined, session).then(() => undefined, (e: unknown) => e);
  expect(err, `expected ${url} to fail`).toBeInstanceOf(RejectError);
  return (err as RejectError).reason;
}

describe('Downloader', () => {
  it('downloads an image with our user agent', async () => {
    const got = await open.download(`${host.url}/img/1.jpg`);
    expect(got.bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(got.attempts).toBe(1);
  });

  it('gives 404 a clear reason without retrying', async () => {
    expect(await reason(open, `${host.url}/status/404`)).toBe('http-error');
    expect(host.hits.get('/status/404')).toBe(1);
  });

  it('waits for Retry-After on 429 and then succeeds', async () => {
    const got = await open.download(`${host.url}/flaky429/2.jpg`);
    expect(got.attempts).toBe(2);
  });

  it('gives up on a server that keeps answering 429', async () => {
    const quick = new Downloader({ ...base, retries: 1 });
    expect(await reason(quick, `${host.url}/always429/3.jpg`)).toBe('rate-limited');
    expect(host.hits.get('/always429/3.jpg')).toBe(2);
    await quick.close();
  });

  it('gives up on a host for the rest of the job when it asks for a long wait, holding no slot', async () => {
    const busy = await startImageHost();
    const d = new Downloader({ ...base, maxRetryAfterMs: 5000 });
    const job = new DownloadSession();
    // Retry-After: 30 is not waited for (the test would time out if it were)...
    expect(await reason(d, `${busy.url}/always429/1.jpg?retry-after=30`, job)).toBe('rate-limited');
    expect(busy.hits.get('/always429/1.jpg')).toBe(1);
    // ...and the job asks that host for nothing more, while another job still may.
    expect(await reason(d, `${busy.url}/img/2.jpg`, job)).toBe('rate-limited');
    expect(busy.hits.get('/img/2.jpg')).toBeUndefined();
    expect((await d.download(`${busy.url}/img/2.jpg`, undefined, new DownloadSession())).attempts).toBe(1);
    await d.close();
    await busy.close();
  });

  it('holds downloads in flight to a byte budget, released once their bytes are let go', async () => {
    const budget = new ByteBudget(100);
    await budget.reserve(60);
    let second = false;
    const waiting = budget.reserve(60).then(() => (second = true));
    await new Promise((resolve) => setImmediate(resolve)); // a turn for anything that could be granted
    expect(second).toBe(false);
    budget.release(60);
    await waiting;
    expect(budget.inUse).toBe(60);
    // One reservation larger than the whole budget still goes through when nothing else is held.
    budget.release(60);
    await budget.reserve(500);
    expect(budget.inUse).toBe(500);

    const d = new Downloader({ ...base, budgetBytes: 1024 * 1024 });
    const held = await d.download(`${host.url}/img/8.jpg`, undefined, undefined, { hold: true });
    expect(d['budget'].inUse).toBe(held.bytes.length);
    held.release();
    await d.download(`${host.url}/img/9.jpg`);
    expect(await reason(d, `${host.url}/truncated.jpg`)).toBe('truncated');
    expect(d['budget'].inUse).toBe(0);
    await d.close();
  });

  it('retries a 500 and then succeeds', async () => {
    const got = await open.download(`${host.url}/flaky500/4.jpg`);
    expect(got.attempts).toBe(2);
    expect(host.hits.get('/flaky500/4.jpg')).toBe(2);
  });

  it('reports a truncated body', async () => {
    expect(await reason(open, `${host.url}/truncated.jpg`)).toBe('truncated');
  });

  it('stops an endless body at the byte cap', async () => {
    expect(await reason(open, `${host.url}/endless.jpg`)).toBe('too-large');
  });

  it('skips images whose site says X-Robots-Tag: noai', async () => {
    expect(await reason(open, `${host.url}/noai.jpg`)).toBe('robots-noai');
  });

  it('follows redirects, up to a limit', async () => {
    const got = await open.download(`${host.url}/redirect?to=${encodeURIComponent(`${host.url}/img/5.jpg`)}`);
    expect(got.url).toBe(`${host.url}/img/5.jpg`);
    let url = `${host.url}/img/6.jpg`;
    for (let i = 0; i < 7; i++) url = `${host.url}/redirect?to=${encodeURIComponent(url)}`;
    expect(await reason(open, url)).toBe('too-many-redirects');
    expect(await reason(open, 'ftp://example.com/x.jpg')).toBe('bad-url');
  });

  it('parses Retry-After in seconds and as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('SSRF guard', () => {
  it('classifies addresses', () => {
    const policy = { allowPrivate: false };
    const ranges: Record<string, string | undefined> = {
      '127.0.0.1': 'loopback',
      '10.0.0.1': 'private',
      '169.254.169.254': 'linkLocal',
      '100.64.1.1': 'carrierGradeNat',
      'fd00::1': 'uniqueLocal',
      '224.0.0.1': 'multicast',
      '93.184.216.34': undefined,
      '2606:4700::1': undefined,
      // IPv4 inside IPv6: compatible (::/96), mapped, NAT64, 6to4, Teredo.
      '::7f00:1': 'ipv4Compatible',
      '::a00:1': 'ipv4Compatible',
      '::5db8:d822': 'ipv4Compatible',
      '::ffff:10.0.0.1': 'private',
      '::ffff:7f00:1': 'loopback',
      '64:ff9b::a9fe:a9fe': 'rfc6052',
      '2002:7f00:1::1': '6to4',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2': 'teredo',
    };
    for (const [ip, range] of Object.entries(ranges)) expect(blockedRange(ip, policy), ip).toBe(range);
    expect(blockedRange('10.0.0.1', { allowPrivate: true })).toBeUndefined();
  });

  it('refuses redirects to 127.0.0.1, 10.0.0.1 and 169.254.169.254 when private URLs are not allowed', async () => {
    // A host name that resolves to loopback is refused like the literal address.
    const port = new URL(host.url).port;
    const guarded = new Downloader({
      ...base,
      allowPrivate: false,
      trustedRanges: [],
      resolve: async (name) => (name === 'images.test' ? [{ address: '127.0.0.1', family: 4 }] : []),
    });
    expect(await reason(guarded, `http://images.test:${port}/img/1.jpg`)).toBe('blocked-address');
    await guarded.close();

    // Trust exactly the second host's address, so the first hop works and every redirect
    // target meets the guard: 127.0.0.1 (a live server!), 10.0.0.1, 169.254.169.254, ::1.
    const viaTrust = new Downloader({ ...base, allowPrivate: false, trustedRanges: ['127.0.0.9/32'] });
    expect((await viaTrust.download(`${trustedHost.url}/img/7.jpg`)).bytes.length).toBeGreaterThan(0);
    expect(await reason(viaTrust, `${host.url}/img/7.jpg`)).toBe('blocked-address');
    const targets = [`${host.url}/img/7.jpg`, 'http://10.0.0.1/x.jpg', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/x.jpg', 'http://[::7f00:1]/x.jpg', 'http://[::127.0.0.1]/x.jpg'];
    for (const target of targets) {
      const before = trustedHost.hits.get('/redirect') ?? 0;
      expect(await reason(viaTrust, `${trustedHost.url}/redirect?to=${encodeURIComponent(target)}`)).toBe('blocked-address');
      expect(trustedHost.hits.get('/redirect')).toBe(before + 1);
    }
    expect(host.hits.get('/img/7.jpg')).toBeUndefined();
    await viaTrust.close();
  });

  it('reaches a trusted origin (the playground\'s file server) and nothing else on loopback', async () => {
    const playground = new Downloader({ ...base, allowPrivate: false, trustedOrigins: [trustedHost.url] });
    expect((await playground.download(`${trustedHost.url}/img/7.jpg`)).bytes.length).toBeGreaterThan(0);
    // Same address, another port: not the trusted origin.
    expect(await reason(playground, `${host.url}/img/7.jpg`)).toBe('blocked-address');
    // A redirect out of the trusted origin meets the guard again.
    expect(await reason(playground, `${trustedHost.url}/redirect?to=${encodeURIComponent(`${host.url}/img/7.jpg`)}`)).toBe('blocked-address');
    expect(host.hits.get('/img/7.jpg')).toBeUndefined();
    await playground.close();
    expect(loadConfig({}).DOWNLOAD_TRUSTED_ORIGINS).toEqual([]);
    expect(() => loadConfig({ DOWNLOAD_TRUSTED_ORIGINS: 'http://127.0.0.1:3210/attachments' })).toThrow(/DOWNLOAD_TRUSTED_ORIGINS/);
  });

  it('checks what the resolver returns, for every address, at connect time', async () => {
    const lookups: string[] = [];
    const guarded = new Downloader({
      ...base,
      allowPrivate: false,
      resolve: async (name) => {
        lookups.push(name);
        if (name === 'rebind.test') return [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }];
        return [{ address: '169.254.169.254', family: 4 }];
      },
    });
    expect(await reason(guarded, 'http://rebind.test/x.jpg')).toBe('blocked-address');
    expect(await reason(guarded, 'http://metadata.test/latest')).toBe('blocked-address');
    expect(lookups).toEqual(['rebind.test', 'metadata.test']);
    await guarded.close();
  });
});
