import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unzipSync, Zip, ZipPassThrough, zipSync } from 'fflate';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFromFolder, addFromUrls, addFromZip, collectClass } from '../core/collect/collect.js';
import { renderContactSheet } from '../core/collect/contactSheet.js';
import { Downloader } from '../core/collect/download.js';
import { exportDataset, exportToFolder } from '../core/collect/export.js';
import { closeSharedDownloader, threadPoolAdvice } from '../core/collect/pipeline.js';
import { summariseDataset } from '../core/collect/summary.js';
import { loadConfig } from '../core/config.js';
import { isUserError } from '../core/errors.js';
import type { CollectProgress, CollectResult } from '../core/jobs.js';
import { createLogger } from '../core/log.js';
import { createServices, type Services } from '../core/services.js';
import { makeJpeg, makePng } from './fakes/imagehost/images.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeImage, type FakeSearch } from './fakes/search/server.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const guildId = 'g1';
let dataDir: string;
let redis: Redis;
let services: Services;
let host: ImageHost;
let search: FakeSearch;

// What the fake search serves per class: seeds of good pictures plus trouble.
const SEEDS: Record<string, number[]> = {
  'grizzly bear': [1, 2, 3, 4, 5, 6, 7, 8],
  'black bear': [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30],
};

function catalogue(query: string): FakeImage[] {
  const seeds = SEEDS[query] ?? [];
  const good = seeds.map((s) => ({ url: `${host.url}/img/${s}.jpg`, title: `${query} ${s}`, creator: 'Ann', license: 'by' }));
  const first = seeds[0]!;
  const trouble = [
    `${host.url}/status/404?q=${first}`,
    `${host.url}/html.jpg?q=${first}`,
    `${host.url}/img/${first}.jpg?copy=1`, // the same bytes again
    `${host.url}/png/${first}.png`, // the same picture as a PNG: near-duplicate
  ].map((url) => ({ url }));
  // Trouble early, so it is tried before the good images run out.
  return [...good.slice(0, 2), ...trouble, ...good.slice(2)];
}

async function userError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isUserError(err), String(err)).toBe(true);
  return (err as Error).message;
}

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-collect-'));
  host = await startImageHost();
  search = await startFakeSearch({ images: (_p, q) => catalogue(q) });
  const config = loadConfig({
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    ALLOW_PRIVATE_URLS: 'true',
    SEARCH_PROVIDERS: 'openverse,wikimedia',
    HTTP_CONTACT: 'ops@kodiak.test',
    OPENVERSE_ANON_RATE: '1000/minute',
    OPENVERSE_URL: search.url,
    WIKIMEDIA_URL: search.url,
    DOWNLOAD_RETRIES: '1',
    DOWNLOAD_TIMEOUT_MS: '3000',
    DOWNLOAD_MAX_BYTES: String(2 * 1024 * 1024),
  });
  redis = new Redis(config.REDIS_URL);
  services = createServices(config, redis, createLogger('silent'));
});

afterAll(async () => {
  if (services) await closeSharedDownloader(services.config);
  const keys = (await redis?.keys(`${prefix}:*`)) ?? [];
  if (keys.length) await redis?.del(...keys);
  redis?.disconnect();
  await host?.close();
  await search?.close();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

const bears = { guildId, name: 'bears' };
/** Every collection result for `bears`, so the summary can be checked against them. */
const results: CollectResult[] = [];
async function collect(args: Omit<Parameters<typeof collectClass>[0], 'services' | 'dataset'>): Promise<CollectResult> {
  const r = await collectClass({ services, dataset: bears, ...args });
  results.push(r);
  return r;
}

describe('collectClass', () => {
  it('fills a class from search, counting failures and duplicates', async () => {
    await services.datasets.create(bears, ['grizzly bear', 'black bear', 'teddy bear'], 'u1');
    const updates: CollectProgress[] = [];
    const result = await collect({ className: 'grizzly bear', count: 10, onProgress: (p) => updates.push(p) });
    // Only 8 good pictures exist: every candidate gets tried.
    expect(result).toMatchObject({ className: 'grizzly bear', searched: 12, kept: 8, duplicates: 2, wanted: 10, failed: { 'http-error': 1, 'not-an-image': 1 }, providers: { openverse: 8 } });
    expect(result.downloaded).toBe(11);
    expect(updates.at(-1)).toMatchObject({ kept: 8, duplicates: 2 });
    const items = await services.datasets.items(bears);
    expect(items).toHaveLength(8);
    // One item per picture (which copy of picture 1 won the race does not matter).
    const pictures = items.map((i) => Number(/\/(?:img|png)\/(\d+)\./.exec(i.source.url!)![1]));
    expect(pictures.sort((a, b) => a - b)).toEqual(SEEDS['grizzly bear']);
    expect(items.find((i) => i.source.url === `${host.url}/img/2.jpg`)!.source).toMatchObject({ kind: 'search', provider: 'openverse', creator: 'Ann', license: 'CC BY 2.0' });
    for (const it of items) expect(await services.blobs.has(it.id)).toBe(true);
    expect((await services.datasets.require(bears)).rejected).toEqual({ 'http-error': 1, 'not-an-image': 1 });
  });

  it('stops at the wanted count, and a second run adds nothing', async () => {
    const first = await collect({ className: 'Black Bear', count: 6 });
    expect(first.kept).toBe(6);
    const blackIds = (await services.datasets.items(bears)).filter((i) => i.label === 'black bear').map((i) => i.id);
    expect(blackIds).toHaveLength(6);
    const again = await collect({ className: 'black bear', count: 6 });
    expect(again).toMatchObject({ kept: 6, searched: 0, downloaded: 0 });
    // Asking for more fetches only new ones; the first six keep their ids and splits.
    const more = await collect({ className: 'black bear', count: 9 });
    expect(more.kept).toBe(9);
    const after = (await services.datasets.items(bears)).filter((i) => i.label === 'black bear');
    expect(after).toHaveLength(9);
    expect(after.map((i) => i.id)).toEqual(expect.arrayContaining(blackIds));
  });

  it('summarises counts per class and split, refusals, sources and licences', async () => {
    const s = await summariseDataset(services, bears);
    expect(s.perClass['grizzly bear']!.train + s.perClass['grizzly bear']!.valid).toBe(8);
    expect(s.perClass['black bear']!.train + s.perClass['black bear']!.valid).toBe(9);
    expect(s.perClass['teddy bear']).toEqual({ train: 0, valid: 0, trashed: 0 });
    // Stratified: each class within one image of 20% validation.
    for (const c of ['grizzly bear', 'black bear']) {
      const { train, valid } = s.perClass[c]!;
      expect(Math.abs(valid - 0.2 * (train + valid))).toBeLessThan(1);
    }
    // The refusals are the sum of what each collection reported (a URL that failed is tried
    // again by a later collection, and counted again).
    const reported: Record<string, number> = {};
    for (const r of results) for (const [reason, n] of Object.entries(r.failed)) reported[reason] = (reported[reason] ?? 0) + n;
    expect(Object.fromEntries(s.rejected.map((r) => [r.reason, r.count]))).toEqual(reported);
    expect(s.rejected.find((r) => r.reason === 'http-error')).toMatchObject({ text: expect.stringContaining('404') });
    expect(reported['http-error']).toBeGreaterThanOrEqual(1);
    // Both providers search the same fake: which one is credited for a picture both return
    // depends on which answered first, so compare with what the items themselves record.
    const bySource: Record<string, number> = {};
    for (const i of await services.datasets.items(bears)) bySource[i.source.provider!] = (bySource[i.source.provider!] ?? 0) + 1;
    expect(s.sources).toEqual(bySource);
    expect(Object.values(s.sources).reduce((a, b) => a + b, 0)).toBe(17);
    expect(Object.values(s.licenses).reduce((a, b) => a + b, 0)).toBe(17);
  });

  it('reports when no provider can search', async () => {
    const result = await collectClass({ services, dataset: bears, className: 'teddy bear', count: 3, source: 'brave' });
    expect(result.kept).toBe(0);
    expect(result.providerErrors.brave).toMatch(/BRAVE_API_KEY/);
  });

  it('refuses unknown datasets and classes with a UserError', async () => {
    expect(await userError(collectClass({ services, dataset: { guildId, name: 'nope' }, className: 'x', count: 1 }))).toMatch(/no dataset called "nope"/);
    expect(await userError(collectClass({ services, dataset: bears, className: 'panda', count: 1 }))).toMatch(/not a class/);
  });
});

describe('bad URLs: a clear reason each, nothing stored, nothing lost', () => {
  it('counts every bad download and keeps the good one', async () => {
    const ref = { guildId, name: 'bad' };
    await services.datasets.create(ref, ['x'], 'u');
    const before = await addFromUrls({ services, dataset: ref, className: 'x', urls: [`${host.url}/img/500.jpg`] });
    expect(before.kept).toBe(1);
    const bad: Record<string, string> = {
      '/status/404': 'http-error',
      '/always429/1.jpg': 'rate-limited',
      '/truncated.jpg': 'truncated',
      '/html.jpg': 'not-an-image',
      '/endless.jpg': 'too-large',
      '/huge.png': 'too-many-pixels',
      '/corrupt.jpg': 'corrupt',
      '/image.svg': 'svg',
      '/tiny.jpg': 'too-small',
      '/noai.jpg': 'robots-noai',
    };
    const urls = [...Object.keys(bad).map((p) => `${host.url}${p}`), `${host.url}/flaky500/501.jpg`, `${host.url}/flaky429/502.jpg`, `${host.url}/cmyk.jpg`, `${host.url}/gray.jpg`, `${host.url}/rgba.png`, `${host.url}/exif-rotated.jpg`, `${host.url}/animated.gif`];
    const summary = await addFromUrls({ services, dataset: ref, className: 'x', urls });
    const expected: Record<string, number> = {};
    for (const r of Object.values(bad)) expected[r] = (expected[r] ?? 0) + 1;
    expect(summary.failed).toEqual(expected);
    expect(summary.kept).toBe(7);
    const items = await services.datasets.items(ref);
    expect(items).toHaveLength(8);
    expect(items.find((i) => i.source.url?.endsWith('/exif-rotated.jpg'))).toMatchObject({ width: 200, height: 300 });
    expect((await services.datasets.require(ref)).rejected).toEqual(expected);
  });

  it('refuses redirects into the private network', async () => {
    const ref = { guildId, name: 'ssrf' };
    await services.datasets.create(ref, ['x'], 'u');
    const trusted = await startImageHost({ hosts: ['127.0.0.9'] });
    const guarded = new Downloader({ concurrency: 4, perHost: 2, timeoutMs: 2000, retries: 0, maxBytes: 1 << 20, allowPrivate: false, trustedRanges: ['127.0.0.9/32'] });
    try {
      const targets = [`${host.url}/img/600.jpg`, 'http://10.0.0.1/a.jpg', 'http://169.254.169.254/latest/meta-data/'];
      const urls = [...targets.map((t) => `${trusted.url}/redirect?to=${encodeURIComponent(t)}`), `${trusted.url}/img/601.jpg`];
      const summary = await addFromUrls({ services, dataset: ref, className: 'x', urls, downloader: guarded });
      expect(summary).toMatchObject({ kept: 1, failed: { 'blocked-address': 3 } });
      expect(host.hits.get('/img/600.jpg')).toBeUndefined();
    } finally {
      await guarded.close();
      await trusted.close();
    }
  });

  it('adds the same list twice without duplicates', async () => {
    const ref = { guildId, name: 'bad' };
    const urls = [`${host.url}/img/500.jpg`, `${host.url}/gray.jpg`];
    const again = await addFromUrls({ services, dataset: ref, className: 'x', urls });
    expect(again).toMatchObject({ kept: 0, duplicates: 2 });
    expect(await services.datasets.items(ref)).toHaveLength(8);
  });
});

describe('zips and folders', () => {
  const zipRef = { guildId, name: 'zips' };

  it('adds a zip of class folders, creating missing classes', async () => {
    await services.datasets.create(zipRef, ['cats'], 'u');
    const zip = zipSync({
      'cats/a.jpg': await makeJpeg(700),
      'cats/b.png': await makePng(701),
      '**dogs** @everyone/c.jpg': await makeJpeg(702),
      '__MACOSX/cats/._a.jpg': new Uint8Array([1, 2, 3]),
      'readme.txt': new TextEncoder().encode('hi'),
    });
    const summary = await addFromZip({ services, dataset: zipRef, zip, zipName: 'pets.zip' });
    expect(summary).toMatchObject({ kept: 3, perClass: { cats: 2, 'dogs everyone': 1 }, addedClasses: ['dogs everyone'] });
    const meta = await services.datasets.require(zipRef);
    expect(meta.classes).toEqual(['cats', 'dogs everyone']);
    const items = await services.datasets.items(zipRef);
    expect(items.map((i) => i.source.path).sort()).toEqual(['pets.zip/**dogs** @everyone/c.jpg', 'pets.zip/cats/a.jpg', 'pets.zip/cats/b.png']);
  });

  it('refuses a zip with ../ names, storing nothing', async () => {
    const zip = zipSync({ 'cats/ok.jpg': await makeJpeg(710), '../evil.jpg': await makeJpeg(711) });
    expect(await userError(addFromZip({ services, dataset: zipRef, zip }))).toMatch(/unsafe file name/);
    const abs = zipSync({ '/etc/evil.jpg': await makeJpeg(712) });
    expect(await userError(addFromZip({ services, dataset: zipRef, zip: abs, className: 'cats' }))).toMatch(/unsafe file name/);
    expect(await services.datasets.items(zipRef)).toHaveLength(3);
  });

  it('refuses zip bombs, by declared size and by counting what inflates', async () => {
    const zeros = new Uint8Array(10 * 1024 * 1024);
    const bomb = zipSync({ 'cats/bomb.jpg': zeros }, { level: 9 });
    expect(bomb.length).toBeLessThan(100_000);
    expect(await userError(addFromZip({ services, dataset: zipRef, zip: bomb }))).toMatch(/larger than/);
    // The same bomb with its sizes forged small: caught while inflating.
    const liar = Buffer.from(bomb);
    for (let i = 0; i < liar.length - 4; i++) {
      const sig = liar.readUInt32LE(i);
      if (sig === 0x04034b50) liar.writeUInt32LE(1000, i + 22);
      if (sig === 0x02014b50) liar.writeUInt32LE(1000, i + 24);
    }
    expect(await userError(addFromZip({ services, dataset: zipRef, zip: liar }))).toMatch(/zip bomb/);
    expect(await services.datasets.items(zipRef)).toHaveLength(3);
    expect(await userError(addFromZip({ services, dataset: zipRef, zip: new Uint8Array([1, 2, 3, 4]) }))).toMatch(/zip/);
  });

  it('creates the class of a folder only once one of its images is kept', async () => {
    const zip = zipSync({ 'cats/real.jpg': await makeJpeg(725), 'ghosts/a.jpg': new Uint8Array(500).fill(1), 'ghosts/b.jpg': new Uint8Array(500).fill(2) });
    const summary = await addFromZip({ services, dataset: zipRef, zip });
    expect(summary).toMatchObject({ kept: 1, failed: { 'not-an-image': 2 }, addedClasses: [] });
    expect((await services.datasets.require(zipRef)).classes).not.toContain('ghosts');
  });

  it('reads entries named ./class/file, as `zip -r x.zip .` writes them', async () => {
    const zip = zipSync({ './cats/dot.jpg': await makeJpeg(720), './dogs everyone/dot.jpg': await makeJpeg(721) });
    expect(await addFromZip({ services, dataset: zipRef, zip })).toMatchObject({ kept: 2, perClass: { cats: 1, 'dogs everyone': 1 } });
  });

  it('imports a zip written with data descriptors whose data contains PK\\x03\\x04', async () => {
    // A streaming writer stores entries without sizes up front (a data descriptor follows the
    // data); an image whose bytes hold the local-header signature trips a streaming reader.
    const withSignature = (jpeg: Buffer) => {
      const note = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(40, 7)]);
      const com = Buffer.from([0xff, 0xfe, 0, note.length + 2]);
      return Buffer.concat([jpeg.subarray(0, 2), com, note, jpeg.subarray(2)]);
    };
    const parts: Uint8Array[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const writer = new Zip((err, chunk, final) => (err ? reject(err) : (parts.push(chunk), final && resolve())));
      for (const [name, seed] of [['cats/pk1.jpg', 730], ['cats/pk2.jpg', 731]] as const) {
        const entry = new ZipPassThrough(name);
        writer.add(entry);
        void makeJpeg(seed).then((jpeg) => entry.push(withSignature(jpeg), true));
      }
      writer.end();
    });
    await done;
    const zip = Buffer.concat(parts);
    expect(zip.includes(Buffer.from('PK\x07\x08'))).toBe(true); // data descriptors
    expect(await addFromZip({ services, dataset: zipRef, zip })).toMatchObject({ kept: 2, perClass: { cats: 2 } });
  });

  it('imports a class-per-folder tree and exports it again', async () => {
    const src = path.join(dataDir, 'import-src');
    for (const [cls, seeds] of [['grizzly', [800, 801, 802]], ['teddy', [803, 804]]] as const) {
      await fs.mkdir(path.join(src, cls), { recursive: true });
      for (const s of seeds) await fs.writeFile(path.join(src, cls, `${s}.jpg`), await makeJpeg(s));
    }
    await fs.writeFile(path.join(src, 'teddy', 'notes.txt'), 'not an image');
    const ref = { guildId, name: 'imported' };
    await services.datasets.create(ref, ['grizzly'], 'cli');
    const summary = await addFromFolder({ services, dataset: ref, folder: src });
    expect(summary).toMatchObject({ kept: 5, perClass: { grizzly: 3, teddy: 2 }, addedClasses: ['teddy'] });
    const items = await services.datasets.items(ref);
    expect(items.every((i) => i.source.kind === 'import' && i.source.path!.startsWith(src))).toBe(true);

    await services.datasets.setStatus(ref, items[0]!.id, 'trashed');
    const out = path.join(dataDir, 'export-out');
    expect(await exportToFolder(services, ref, out)).toBe(4);
    const labels = (await fs.readFile(path.join(out, 'labels.csv'), 'utf8')).trim().split('\n');
    expect(labels[0]).toBe('path,label,split,sha256');
    expect(labels).toHaveLength(5);
    expect(await fs.readdir(out)).toEqual(expect.arrayContaining(['grizzly', 'teddy', 'labels.csv', 'attribution.csv']));

    const zip = unzipSync(await exportDataset(services, ref));
    const names = Object.keys(zip);
    expect(names.filter((n) => n.endsWith('.jpg'))).toHaveLength(4);
    expect(names).toEqual(expect.arrayContaining(['labels.csv', 'attribution.csv']));
    expect(new TextDecoder().decode(zip['attribution.csv']!)).toContain('path,source,url,page_url,provider,title,creator,license');

    // Re-importing the export into a new dataset gives the same images.
    const back = { guildId, name: 'roundtrip' };
    await services.datasets.create(back, ['grizzly'], 'cli');
    const re = await addFromFolder({ services, dataset: back, folder: out });
    expect(re.kept).toBe(4);
  });

  it('draws a contact sheet with escaped class names', async () => {
    const ref = { guildId, name: 'sheet' };
    await services.datasets.create(ref, ['R&D "lab" <x', 'empty'], 'u');
    await addFromUrls({ services, dataset: ref, className: 'R&D "lab" <x', urls: [1, 2, 3].map((s) => `${host.url}/img/${900 + s}.jpg`) });
    const png = await renderContactSheet(services, ref, { perClass: 4, thumb: 64 });
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(200 + 4 * 68 + 4);
    expect(meta.height).toBe(2 * 68 + 4);
  });
});

describe('thread pool advice', () => {
  it('asks for UV_THREADPOOL_SIZE only when there are more cores than pool threads', () => {
    expect(threadPoolAdvice({}, 2)).toBeUndefined();
    expect(threadPoolAdvice({}, 4)).toBeUndefined();
    expect(threadPoolAdvice({}, 16)).toBe('sharp can use 4 of 16 cores: start the workers with UV_THREADPOOL_SIZE=16 to verify and embed images on all of them');
    expect(threadPoolAdvice({ UV_THREADPOOL_SIZE: '16' }, 16)).toBeUndefined();
  });
});
