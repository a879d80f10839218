// Issue 12, finding 10: search-provider answers were read without a size cap, so a runaway or
// hostile API could fill the worker's memory. Every answer is now capped, after gunzip too.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderHttp } from '../core/collect/search/http.js';

let server: http.Server | undefined;
let base = '';
let endlessBytesSent = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/endless') {
      // An answer that never ends: 64 KiB chunks until the client hangs up.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) endlessBytesSent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    } else if (req.url === '/gzip-bomb') {
      // 64 MiB of spaces gzipped into about 64 KiB.
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ results: [] }));
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('search answers are capped', () => {
  const http1 = () => new ProviderHttp('openverse', { userAgent: 'Kodiak/test (ops@kodiak.test)', maxBytes: 1 << 20 });

  it('stops reading an endless answer at the cap and says so', async () => {
    await expect(http1().text(`${base}/endless`)).rejects.toThrow(/answered more than 1048576 bytes/);
    // It hung up soon after the cap rather than reading on.
    expect(endlessBytesSent).toBeLessThan(64 << 20);
  });

  it('refuses a gzip body that inflates past the cap', async () => {
    await expect(http1().text(`${base}/gzip-bomb`)).rejects.toThrow(/oversized gzip body/);
  });

  it('reads an ordinary answer', async () => {
    await expect(http1().json(`${base}/ok`)).resolves.toMatchObject({ data: { results: [] } });
  });
});
