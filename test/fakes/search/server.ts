// Fake image-search APIs on loopback, answering with the response shapes of the real ones:
//   Openverse   GET /v1/images/?q&page&page_size   POST /v1/auth_tokens/token/
//   Wikimedia   GET /w/api.php?action=query&generator=search&gsrnamespace=6&prop=imageinfo...
//   DuckDuckGo  GET /?q=...&iax=images (HTML with a vqd token), GET /i.js?...&vqd (Referer needed)
//   Brave       GET /res/v1/images/search?q&count (X-Subscription-Token needed)
// Point OPENVERSE_URL, WIKIMEDIA_URL, DUCKDUCKGO_URL and BRAVE_URL at `url`.
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

export type FakeProvider = 'openverse' | 'wikimedia' | 'duckduckgo' | 'brave';

export interface FakeImage {
  url: string;
  title?: string;
  creator?: string;
  /** An Openverse licence code (by, by-nc, cc0, pdm, ...) or, for Wikimedia, its short name. */
  license?: string;
  /** Openverse's filetype (default jpg). */
  filetype?: string;
  width?: number;
  height?: number;
}

export interface Failure {
  status: number;
  retryAfter?: number;
  /** Wikimedia: an API error with this code, sent as MediaWiki does (HTTP 200, MediaWiki-API-Error). */
  apiError?: string;
  /** Fail this many requests, then answer normally (default: always). */
  times?: number;
}

export interface FakeSearchOptions {
  /** The images a provider knows for a query, best first. */
  images: (provider: FakeProvider, query: string) => FakeImage[];
  failures?: Partial<Record<FakeProvider, Failure>>;
  braveKey?: string;
  openverseClient?: { id: string; secret: string };
  /**
   * Openverse's anonymous throttles (Django REST framework's sliding windows), e.g.
   * [{ limit: 5, windowMs: 3_600_000 }, { limit: 100, windowMs: 86_400_000 }]; default: none.
   */
  openverseAnonRate?: { limit: number; windowMs: number }[];
  /** Wikimedia: imageinfo for at most this many pages per answer, the rest after `iicontinue`. */
  wikimediaImageinfoLimit?: number;
}

export interface FakeSearch {
  url: string;
  requests: { provider: FakeProvider; path: string; headers: http.IncomingHttpHeaders }[];
  /** Requests that arrived while the provider had told the client to wait (Retry-After / reset). */
  insideCooldown: Partial<Record<FakeProvider, number>>;
  close(): Promise<void>;
}

const VQD = '4-171338742016588342011279924213584402183';

/** Contact information in a User-Agent, as Wikimedia's policy asks: a URL or an email in it. */
export function hasContact(ua: string | undefined): boolean {
  return /https?:\/\/\S+|[^\s@()]+@[^\s@()]+\.\w+/.test(ua ?? '');
}

export async function startFakeSearch(opts: FakeSearchOptions): Promise<FakeSearch> {
  const requests: FakeSearch['requests'] = [];
  const failed: Partial<Record<FakeProvider, number>> = {};
  let issuedToken: string | undefined;
  /** Until when each provider told the client to stay away. */
  const cooldownUntil: Partial<Record<FakeProvider, number>> = {};
  const insideCooldown: FakeSearch['insideCooldown'] = {};
  /** Times of the anonymous Openverse requests that were let through, per rate. */
  const anonHistory: number[][] = (opts.openverseAnonRate ?? []).map(() => []);

  /** Openverse's 429: DRF's body and Retry-After. */
  function throttled(provider: FakeProvider, res: http.ServerResponse, seconds: number) {
    cooldownUntil[provider] = Math.max(cooldownUntil[provider] ?? 0, Date.now() + seconds * 1000);
    if (provider === 'brave') {
      // Brave sends no Retry-After: X-RateLimit-* lists (per second, per month) say when to come back.
      return json(res, 429, { type: 'ErrorResponse', error: { id: 'x', status: 429, code: 'RATE_LIMITED', detail: 'Request rate limit exceeded for plan.', meta: { plan: 'Free', rate_limit: 1, rate_current: 2 } }, time: Date.now() }, {
        'x-ratelimit-limit': '1, 2000',
        'x-ratelimit-policy': '1;w=1, 2000;w=2592000',
        'x-ratelimit-remaining': '0, 1990',
        'x-ratelimit-reset': `${seconds}, 1419704`,
      });
    }
    return json(res, 429, { detail: `Request was throttled. Expected available in ${seconds} seconds.` }, { 'retry-after': String(seconds) });
  }

  /** Django REST framework's throttle: a sliding window per rate; the wait is until the oldest leaves. */
  function anonThrottle(): number | undefined {
    const now = Date.now();
    let wait: number | undefined;
    (opts.openverseAnonRate ?? []).forEach((rate, i) => {
      const h = (anonHistory[i] = anonHistory[i]!.filter((t) => t > now - rate.windowMs));
      if (h.length >= rate.limit) wait = Math.max(wait ?? 0, h[0]! + rate.windowMs - now);
    });
    if (wait === undefined) for (const h of anonHistory) h.push(now);
    return wait;
  }

  function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  /** MediaWiki's errors: HTTP 200, a MediaWiki-API-Error header, {"error": {...}}; maxlag adds Retry-After. */
  function mediaWikiError(res: http.ServerResponse, code: string, retryAfter = 5) {
    const maxlag = code === 'maxlag';
    const info = maxlag ? `Waiting for 10.64.48.5: ${retryAfter}.2 seconds lagged.` : code === 'badvalue' ? 'Unrecognized value for parameter "prop": imageinfo2.' : `The request failed (${code}).`;
    const error = { code, info, ...(maxlag ? { host: '10.64.48.5', lag: retryAfter + 0.2, type: 'db' } : {}), docref: 'See https://commons.wikimedia.org/w/api.php for API usage.' };
    json(res, 200, { error, servedby: 'mw-api-ext.eqiad.main-1' }, { 'mediawiki-api-error': code, ...(maxlag ? { 'retry-after': String(retryAfter), 'x-database-lag': String(retryAfter + 0.2) } : {}) });
  }

  /** Answer with the scripted failure, if one is due; true when it did. */
  function maybeFail(provider: FakeProvider, res: http.ServerResponse, url: URL): boolean {
    const f = opts.failures?.[provider];
    if (!f) return false;
    // MediaWiki answers maxlag only to clients that send maxlag.
    if (f.apiError === 'maxlag' && !url.searchParams.has('maxlag')) return false;
    const n = (failed[provider] ?? 0) + 1;
    if (f.times !== undefined && n > f.times) return false;
    failed[provider] = n;
    if (f.apiError) mediaWikiError(res, f.apiError, f.retryAfter);
    else if (f.status === 429) throttled(provider, res, f.retryAfter ?? 60);
    else json(res, f.status, { detail: 'Internal error' });
    return true;
  }

  function openverse(url: URL, req: http.IncomingMessage, res: http.ServerResponse) {
    const pageSize = Number(url.searchParams.get('page_size') ?? 20);
    const authed = issuedToken !== undefined && req.headers.authorization === `Bearer ${issuedToken}`;
    if (!authed) {
      const wait = anonThrottle();
      if (wait !== undefined) return throttled('openverse', res, Math.ceil(wait / 1000));
    }
    if (pageSize > (authed ? 500 : 20)) return json(res, 401, { detail: 'Authentication credentials were not provided.' });
    const page = Number(url.searchParams.get('page') ?? 1);
    if (page > 20) {
      return json(res, 400, { error: 'InputError', detail: "Invalid input given for fields. 'page' -> Ensure this value is less than or equal to 20.", fields: ['page'] });
    }
    // Openverse's filters: license_type (commercial: no NC; modification: no ND) and extension.
    const types = (url.searchParams.get('license_type') ?? '').split(',').filter(Boolean);
    const extensions = (url.searchParams.get('extension') ?? '').split(',').filter(Boolean);
    const all = opts.images('openverse', url.searchParams.get('q') ?? '').filter((im) => {
      const license = im.license ?? 'by';
      if (types.includes('commercial') && /nc/.test(license)) return false;
      if (types.includes('modification') && /nd/.test(license)) return false;
      return extensions.length === 0 || extensions.includes(im.filetype ?? 'jpg');
    });
    const slice = all.slice((page - 1) * pageSize, page * pageSize);
    json(res, 200, {
      result_count: all.length,
      page_count: Math.ceil(all.length / pageSize),
      page_size: pageSize,
      page,
      results: slice.map((im, i) => ({
        id: `00000000-0000-0000-0000-${String(page * 1000 + i).padStart(12, '0')}`,
        title: im.title ?? `Image ${i}`,
        indexed_on: '2024-01-01T00:00:00Z',
        foreign_landing_url: `https://www.flickr.com/photos/x/${i}`,
        url: im.url,
        creator: im.creator ?? 'someone',
        creator_url: 'https://www.flickr.com/photos/x',
        license: im.license ?? 'by',
        license_version: ['cc0', 'pdm'].includes(im.license ?? '') ? '1.0' : '2.0',
        license_url: im.license === 'pdm' ? 'https://creativecommons.org/publicdomain/mark/1.0/' : im.license === 'cc0' ? 'https://creativecommons.org/publicdomain/zero/1.0/' : `https://creativecommons.org/licenses/${im.license ?? 'by'}/2.0/`,
        provider: 'flickr',
        source: 'flickr',
        category: 'photograph',
        filesize: null,
        filetype: im.filetype ?? 'jpg',
        tags: [],
        attribution: `"${im.title ?? 'Image'}" by someone is licensed under CC BY 2.0.`,
        fields_matched: ['title'],
        mature: false,
        height: im.height ?? 240,
        width: im.width ?? 320,
        thumbnail: `http://openverse.test/v1/images/${i}/thumb/`,
        detail_url: `http://openverse.test/v1/images/${i}/`,
        related_url: `http://openverse.test/v1/images/${i}/related/`,
        unstable__sensitivity: [],
      })),
      warnings: [],
    });
  }

  function wikimedia(url: URL, req: http.IncomingMessage, res: http.ServerResponse) {
    // Wikimedia's User-Agent policy: no contact information (a URL or an email), no service.
    if (!hasContact(req.headers['user-agent'])) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('Please set a user-agent and respect our robot policy https://w.wiki/4wJS. See also https://phabricator.wikimedia.org/T400119.\n');
    }
    const q = (url.searchParams.get('gsrsearch') ?? '').replace(/\s*filetype:\S+/g, '');
    const offset = Number(url.searchParams.get('gsroffset') ?? 0);
    const limit = Number(url.searchParams.get('gsrlimit') ?? 10);
    const all = opts.images('wikimedia', q);
    const slice = all.slice(offset, offset + limit);
    // Prop continuation: imageinfo for part of the batch; the rest comes after `iicontinue`, for
    // the same generator batch (which is why the whole `continue` object must be echoed).
    const infoLimit = opts.wikimediaImageinfoLimit ?? Infinity;
    const from = Number(/^File_(\d+)\.jpg\|/.exec(url.searchParams.get('iicontinue') ?? '')?.[1] ?? offset) - offset;
    const to = from + infoLimit;
    const cont =
      to < slice.length
        ? { iicontinue: `File_${offset + to}.jpg|20240101000000`, ...(offset ? { gsroffset: offset } : {}), continue: 'gsroffset||' }
        : offset + limit < all.length
          ? { gsroffset: offset + limit, continue: 'gsroffset||' }
          : undefined;
    const body = JSON.stringify({
      ...(cont ? { continue: cont } : { batchcomplete: true }),
      query: {
        pages: slice.map((im, i) => ({
          pageid: 1000 + offset + i,
          ns: 6,
          title: `File:${im.title ?? `Picture ${offset + i}`}.jpg`,
          index: offset + i + 1,
          imagerepository: 'local',
          ...(i >= from && i < to ? { imageinfo: [imageinfo(im, offset + i)] } : {}),
        })),
      },
    });
    // Wikimedia compresses for clients that ask, as its robot policy asks them to.
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const bytes = gzip ? gzipSync(body) : Buffer.from(body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length, ...(gzip ? { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } : {}) });
    res.end(bytes);
  }

  function imageinfo(im: FakeImage, n: number) {
    return {
      size: 12345,
      width: im.width ?? 320,
      height: im.height ?? 240,
      thumburl: im.url,
      thumbwidth: im.width ?? 320,
      thumbheight: im.height ?? 240,
      url: `${im.url}?original`,
      descriptionurl: `https://commons.wikimedia.org/wiki/File:Picture_${n}.jpg`,
      descriptionshorturl: `https://commons.wikimedia.org/w/index.php?curid=${1000 + n}`,
      mime: 'image/jpeg',
      extmetadata: {
        LicenseShortName: { value: im.license ?? 'CC BY-SA 4.0', source: 'commons-desc-page', hidden: '' },
        Artist: { value: `<a href="//commons.wikimedia.org/wiki/User:X" title="User:X">${im.creator ?? 'Jane Doe'}</a>`, source: 'commons-desc-page' },
      },
    };
  }

  function duckduckgo(url: URL, req: http.IncomingMessage, res: http.ServerResponse) {
    if (url.pathname === '/') {
      const html = `<!DOCTYPE html><html><head><title>${url.searchParams.get('q')} at DuckDuckGo</title></head><body><script>DDG.deep.initialize('/d.js?q=x&vqd="${VQD}"&l=us-en');vqd="${VQD}";</script></body></html>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' });
      return res.end(html);
    }
    // Since mid-2025 i.js wants what the page's own script sends: Sec-Fetch-*, Accept-Language,
    // a Referer, `ct`, and no empty `f` filter; anything else gets 403.
    const h = req.headers;
    const browserLike = h['sec-fetch-mode'] === 'cors' && h['sec-fetch-dest'] === 'empty' && h['sec-fetch-site'] === 'same-origin' && !!h['accept-language'] && !!h.referer;
    const f = url.searchParams.get('f');
    const paramsOk = url.searchParams.has('ct') && (f === null || f.replace(/,/g, '') !== '');
    if (url.searchParams.get('vqd') !== VQD || !browserLike || !paramsOk) return json(res, 403, { error: 'forbidden' });
    const s = Number(url.searchParams.get('s') ?? 0);
    const all = opts.images('duckduckgo', url.searchParams.get('q') ?? '');
    const slice = all.slice(s, s + 100);
    json(res, 200, {
      ads: null,
      next: s + 100 < all.length ? `i.js?q=${encodeURIComponent(url.searchParams.get('q') ?? '')}&o=json&p=1&s=${s + 100}&u=bing&f=,,,,,&l=us-en` : undefined,
      query: url.searchParams.get('q'),
      queryEncoded: encodeURIComponent(url.searchParams.get('q') ?? ''),
      response_type: 'images',
      results: slice.map((im, i) => ({
        height: im.height ?? 240,
        image: im.url,
        image_token: `tok${i}`,
        source: 'Bing',
        thumbnail: `https://tse1.mm.bing.net/th?id=OIP.${i}`,
        thumbnail_token: `th${i}`,
        title: im.title ?? `Result ${i}`,
        url: `https://example.com/page/${s + i}`,
        width: im.width ?? 320,
      })),
      vqd: { [url.searchParams.get('q') ?? '']: VQD },
    });
  }

  function brave(url: URL, req: http.IncomingMessage, res: http.ServerResponse) {
    if (!opts.braveKey || req.headers['x-subscription-token'] !== opts.braveKey) {
      return json(res, 422, { type: 'ErrorResponse', error: { id: 'x', status: 422, code: 'SUBSCRIPTION_TOKEN_INVALID', detail: 'The provided subscription token is invalid.' }, time: 0 });
    }
    const count = Math.min(200, Number(url.searchParams.get('count') ?? 50));
    const q = url.searchParams.get('q') ?? '';
    json(res, 200, {
      type: 'images',
      query: { original: q, spellcheck_off: false },
      results: opts.images('brave', q).slice(0, count).map((im, i) => ({
        type: 'image_result',
        title: im.title ?? `Result ${i}`,
        url: `https://example.org/page/${i}`,
        source: 'example.org',
        page_fetched: '2024-01-01T00:00:00Z',
        thumbnail: { src: `https://imgs.search.brave.com/${i}`, width: 500, height: 375 },
        properties: { url: im.url, placeholder: `https://imgs.search.brave.com/p${i}`, width: im.width ?? 320, height: im.height ?? 240 },
        meta_url: { scheme: 'https', netloc: 'example.org', hostname: 'example.org', favicon: '', path: '' },
        confidence: 'high',
      })),
      extra: { might_be_offensive: false },
    });
  }

  async function readBody(req: http.IncomingMessage): Promise<string> {
    let s = '';
    for await (const c of req) s += c;
    return s;
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const p = url.pathname;
    const provider: FakeProvider | undefined = p.startsWith('/v1/') ? 'openverse' : p === '/w/api.php' ? 'wikimedia' : p === '/' || p === '/i.js' ? 'duckduckgo' : p.startsWith('/res/v1/images') ? 'brave' : undefined;
    if (!provider) return json(res, 404, { detail: 'Not found.' });
    requests.push({ provider, path: req.url ?? '', headers: req.headers });
    if ((cooldownUntil[provider] ?? 0) > Date.now()) insideCooldown[provider] = (insideCooldown[provider] ?? 0) + 1;
    if (p === '/v1/auth_tokens/token/' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const c = opts.openverseClient;
      if (!c || form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== c.id || form.get('client_secret') !== c.secret) {
        return json(res, 401, { error: 'invalid_client' });
      }
      issuedToken = `token-${Date.now()}`;
      return json(res, 200, { access_token: issuedToken, scope: 'read write groups', expires_in: 36000, token_type: 'Bearer' });
    }
    if (maybeFail(provider, res, url)) return;
    if (provider === 'openverse') return openverse(url, req, res);
    if (provider === 'wikimedia') return wikimedia(url, req, res);
    if (provider === 'duckduckgo') return duckduckgo(url, req, res);
    return brave(url, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    insideCooldown,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
