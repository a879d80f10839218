import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Downloader, parseRetryAfter, type DownloaderOptions } from '../core/collect/download.js';
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

async function reason(d: Downloader, url: string): Promise<string> {
  const err = await d.download(url).then(() => undefined, (e: unknown) => e);
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
    expect(blockedRange('127.0.0.1', policy)).toBe('loopback');
    expect(blockedRange('10.0.0.1', policy)).toBe('private');
    expect(blockedRange('169.254.169.254', policy)).toBe('linkLocal');
    expect(blockedRange('100.64.1.1', policy)).toBe('carrierGradeNat');
    expect(blockedRange('fd00::1', policy)).toBe('uniqueLocal');
    expect(blockedRange('::ffff:10.0.0.1', policy)).toBe('private');
    expect(blockedRange('224.0.0.1', policy)).toBe('multicast');
    expect(blockedRange('93.184.216.34', policy)).toBeUndefined();
    expect(blockedRange('2606:4700::1', policy)).toBeUndefined();
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
    const targets = [`${host.url}/img/7.jpg`, 'http://10.0.0.1/x.jpg', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/x.jpg'];
    for (const target of targets) {
      const before = trustedHost.hits.get('/redirect') ?? 0;
      expect(await reason(viaTrust, `${trustedHost.url}/redirect?to=${encodeURIComponent(target)}`)).toBe('blocked-address');
      expect(trustedHost.hits.get('/redirect')).toBe(before + 1);
    }
    expect(host.hits.get('/img/7.jpg')).toBeUndefined();
    await viaTrust.close();
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
