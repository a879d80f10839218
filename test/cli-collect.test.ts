// `kodiak dataset collect` against fakes that behave like the real APIs: anonymous Openverse
// throttles at 3 requests an hour (fewer than Kodiak's configured budget, so it answers 429 with
// Retry-After), Wikimedia refuses a User-Agent without contact. The report says which provider
// served what; a second run tops up while Openverse is still cooling down, without asking it.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main as datasetMain } from '../cli/dataset.js';
import { createRedis } from '../core/redis.js';
import { datasetShowEmbed } from '../bot/datasetViews.js';
import { loadCollectReport } from '../core/collect/providerReport.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeProvider, type FakeSearch } from './fakes/search/server.js';
import { deleteKeys } from './helpers/stack.js';

const BEARS = ['grizzly bear', 'black bear', 'teddy bear'];
const prefix = `t-${randomUUID().slice(0, 8)}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-cli-collect-'));
const saved = { ...process.env };
let host: ImageHost;
let search: FakeSearch;

/** Different pictures per provider and class, so nothing is a duplicate of anything else. */
function catalogue(provider: FakeProvider, query: string) {
  const c = BEARS.indexOf(query);
  const base = 10_000 * (c + 1) + (provider === 'wikimedia' ? 5000 : 0);
  return c < 0 ? [] : Array.from({ length: 100 }, (_, i) => ({ url: `${host.url}/img/${base + i}.jpg?w=96&h=72`, license: 'by' }));
}

async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const before = { ...process.env };
  Object.assign(process.env, env);
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  try {
    const code = await datasetMain(argv);
    return { code, stdout: out.join('\n'), stderr: err.join('') };
  } finally {
    log.mockRestore();
    write.mockRestore();
    process.env = before;
  }
}

beforeAll(async () => {
  host = await startImageHost();
  search = await startFakeSearch({ images: catalogue, openverseAnonRate: [{ limit: 3, windowMs: 3_600_000 }] });
  Object.assign(process.env, {
    QUEUE_PREFIX: prefix,
    DATA_DIR: path.join(tmp, 'data'),
    LOG_LEVEL: 'silent',
    ALLOW_PRIVATE_URLS: 'true',
    HTTP_CONTACT: 'https://kodiak.test/contact',
    SEARCH_PROVIDERS: 'openverse,wikimedia',
    OPENVERSE_URL: search.url,
    WIKIMEDIA_URL: search.url,
    DOWNLOAD_RETRIES: '0',
  });
});

afterAll(async () => {
  process.env = saved;
  await Promise.all([search?.close(), host?.close()]);
  const redis = createRedis('redis://127.0.0.1:6379');
  await deleteKeys(redis, prefix);
  redis.disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const openverseRequests = () => search.requests.filter((r) => r.provider === 'openverse').length;

describe('kodiak dataset collect', () => {
  it('creates a preset dataset and reports, per class and per provider, where the images came from', async () => {
    const { code, stdout, stderr } = await cli(['collect', 'bears', '--images', '20', '--json']);
    expect(code).toBe(0);
    expect(stderr).toMatch(/grizzly bear: \d+\/20 kept/);
    const report = JSON.parse(stdout);
    expect(report.kept).toBe(60);
    expect(report.classes.map((c: { className: string; kept: number }) => [c.className, c.kept])).toEqual(BEARS.map((b) => [b, 20]));
    // Openverse gave three anonymous pages (60 results: 32 + 20 handed out, 8 kept for later),
    // then throttled; Wikimedia served the rest.
    expect(report.providers.openverse.results).toBe(52);
    expect(report.providers.openverse.throttled).toMatch(/rate limited \(429\)/);
    expect(report.classes[1].providers.openverse.throttled).toMatch(/^rate limited \(429\), retry after \d+ min$/);
    expect(report.providers.wikimedia.kept).toBeGreaterThan(0);
    expect(report.providers.openverse.kept + report.providers.wikimedia.kept).toBe(60);
    for (const c of report.classes) for (const row of Object.values(c.providers) as { refused: object }[]) expect(row.refused).toBeTypeOf('object');
    expect(openverseRequests()).toBe(4); // three pages and the one the 429 answered
  }, 60_000);

  it('a second run tops up while Openverse is still cooling down, without asking it', async () => {
    const before = openverseRequests();
    const { code, stdout } = await cli(['collect', 'bears', '--classes', 'grizzly bear', '--images', '60', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.classes).toHaveLength(1);
    expect(report.classes[0].kept).toBe(60);
    expect(openverseRequests()).toBe(before);
    expect(search.insideCooldown).toEqual({});
    expect(report.providers.openverse.throttled).toMatch(/^cooling down \(rate limited \(429\)\); next request in \d+ min$/);
    // Openverse results fetched but not tried last time come first, with no request.
    expect(report.providers.openverse.results).toBeGreaterThanOrEqual(8);
    expect(report.providers.openverse.kept + report.providers.wikimedia.kept).toBe(40);
    // /dataset show reports the latest collection of each class, per provider.
    const redis = createRedis('redis://127.0.0.1:6379');
    const meta = await new RedisDatasetStore(redis, prefix, { seed: 42, validPct: 0.2 }).require({ guildId: 'local', name: 'bears' });
    const shown = datasetShowEmbed(meta, [], { collection: await loadCollectReport(redis, prefix, meta) }).toJSON();
    redis.disconnect();
    expect(shown.fields!.find((f) => f.name.startsWith('Where images came from'))!.value).toMatch(/wikimedia\\?: \d+ results, \d+ kept/);
  }, 60_000);

  it('without HTTP_CONTACT says what is missing, and a new dataset needs its classes', async () => {
    const { stdout, stderr } = await cli(['collect', 'bears', '--images', '1', '--json'], { HTTP_CONTACT: '' });
    expect(stderr).toContain('HTTP_CONTACT is not set');
    expect(JSON.parse(stdout).providers.wikimedia.refusedByProvider).toMatch(/HTTP_CONTACT/);
    await expect(cli(['collect', 'wolves', '--images', '5'])).rejects.toThrow(/--classes/);
  }, 60_000);
});
