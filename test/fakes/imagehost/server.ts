// A fake image host on loopback for the downloader and collection tests: generated images by
// path, and scripted misbehaviour. Paths:
//   /img/<seed>.jpg[?w=&h=&grain=]  a picture (same seed = same bytes; any query variant too)
//   /png/<seed>.png                 the same picture as a PNG (a near-duplicate of /img/<seed>.jpg)
//   /status/<code>                  that status, e.g. /status/404
//   /flaky429/<seed>.jpg            429 with Retry-After: 1 the first time, then the picture
//   /always429/<seed>.jpg[?retry-after=<s>]  always 429 with Retry-After: 1 (or <s>)
//   /flaky500/<seed>.jpg            500 the first time, then the picture
//   /truncated.jpg                  says 50000 bytes, sends 2000, hangs up
//   /html.jpg                       an HTML page served as image/jpeg
//   /endless.jpg                    image/jpeg bytes forever
//   /huge.png                       a 30000x30000 PNG header (141 bytes)
//   /corrupt.jpg /cmyk.jpg /gray.jpg /rgba.png /exif-rotated.jpg /animated.gif /image.svg /tiny.jpg
//   /noai.jpg                       a picture with X-Robots-Tag: noai
//   /redirect?to=<url>              302 to <url>
// Every request may be delayed by `latencyMs`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as images from './images.js';

export interface ImageHostOptions {
  latencyMs?: number;
  /** Addresses to listen on (all loopback): one server each, same content. */
  hosts?: string[];
  /** Bytes for /img/<seed>.jpg when the test or benchmark supplies its own (e.g. a cache). */
  imageFor?: (seed: number, query: URLSearchParams) => Promise<Buffer> | undefined;
}

export interface ImageHost {
  /** Base URL of the first server, e.g. http://127.0.0.1:34567 */
  url: string;
  urls: string[];
  /** Requests per path (without query). */
  hits: Map<string, number>;
  close(): Promise<void>;
}

type Fixed = () => Promise<Buffer>;

const FIXED: Record<string, [string, Fixed]> = {
  '/corrupt.jpg': ['image/jpeg', () => images.makeCorruptJpeg(901)],
  '/cmyk.jpg': ['image/jpeg', () => images.makeCmykJpeg(902)],
  '/gray.jpg': ['image/jpeg', () => images.makeGrayJpeg(903)],
  '/rgba.png': ['image/png', () => images.makeRgbaPng(904)],
  '/exif-rotated.jpg': ['image/jpeg', () => images.makeExifRotatedJpeg(905)],
  '/animated.gif': ['image/gif', () => images.makeAnimatedGif(906)],
  '/image.svg': ['image/svg+xml', async () => images.SVG_IMAGE],
  '/html.jpg': ['image/jpeg', async () => images.HTML_PAGE],
  '/huge.png': ['image/png', async () => images.makeHugePngHeader()],
  '/tiny.jpg': ['image/jpeg', () => images.makeJpeg(907, { width: 40, height: 30 })],
  '/noai.jpg': ['image/jpeg', () => images.makeJpeg(908)],
};

export async function startImageHost(opts: ImageHostOptions = {}): Promise<ImageHost> {
  const hits = new Map<string, number>();
  const cache = new Map<string, Promise<Buffer>>();
  const cached = (key: string, make: Fixed) => {
    let p = cache.get(key);
    if (!p) cache.set(key, (p = make()));
    return p;
  };
  const picture = (seed: number, q: URLSearchParams) =>
    opts.imageFor?.(seed, q) ??
    cached(`img:${seed}:${q.get('w')}:${q.get('h')}:${q.get('grain')}`, () =>
      images.makeJpeg(seed, { width: Number(q.get('w') ?? 320), height: Number(q.get('h') ?? 240), grain: Number(q.get('grain') ?? 0) }),
    );

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const p = url.pathname;
    const n = (hits.get(p) ?? 0) + 1;
    hits.set(p, n);
    if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
    const send = (status: number, type: string, body: Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'content-length': body.length, ...headers });
      res.end(body);
    };
    let m: RegExpExecArray | null;
    if ((m = /^\/img\/(\d+)\.jpg$/.exec(p))) return send(200, 'image/jpeg', await picture(Number(m[1]), url.searchParams));
    if ((m = /^\/png\/(\d+)\.png$/.exec(p))) {
      const seed = Number(m[1]);
      return send(200, 'image/png', await cached(`png:${seed}`, () => images.makePng(seed)));
    }
    if ((m = /^\/status\/(\d{3})$/.exec(p))) return send(Number(m[1]), 'text/plain', Buffer.from('status'));
    if ((m = /^\/(flaky429|always429|flaky500)\/(\d+)\.jpg$/.exec(p))) {
      const kind = m[1]!;
      if (kind === 'always429' || (kind === 'flaky429' && n === 1)) return send(429, 'text/plain', Buffer.from('slow down'), { 'retry-after': url.searchParams.get('retry-after') ?? '1' });
      if (kind === 'flaky500' && n === 1) return send(500, 'text/plain', Buffer.from('oops'));
      return send(200, 'image/jpeg', await picture(Number(m[2]), url.searchParams));
    }
    if (p === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      return void res.end();
    }
    if (p === '/truncated.jpg') {
      const body = await images.makeJpeg(910, { grain: 20 });
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 50_000 });
      res.write(body.subarray(0, 2000));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (p === '/endless.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(64 * 1024, 0xab);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      return pump();
    }
    const fixed = FIXED[p];
    if (fixed) {
      const headers: Record<string, string> = p === '/noai.jpg' ? { 'x-robots-tag': 'noai, noimageai' } : {};
      return send(200, fixed[0], await cached(p, fixed[1]), headers);
    }
    send(404, 'text/plain', Buffer.from('not found'));
  }

  const servers = (opts.hosts ?? ['127.0.0.1']).map((host) => {
    const server = http.createServer((req, res) => {
      handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    });
    server.keepAliveTimeout = 30_000;
    return { server, host };
  });
  await Promise.all(servers.map(({ server, host }) => new Promise<void>((resolve) => server.listen(0, host, resolve))));
  const urls = servers.map(({ server, host }) => `http://${host}:${(server.address() as AddressInfo).port}`);
  return {
    url: urls[0]!,
    urls,
    hits,
    async close() {
      await Promise.all(
        servers.map(({ server }) => {
          server.closeAllConnections();
          return new Promise<void>((resolve) => server.close(() => resolve()));
        }),
      );
    },
  };
}
