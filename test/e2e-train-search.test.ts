// /train bears (60 images a class) against image-search fakes as strict as the real APIs:
// anonymous Openverse throttles at its documented budget (5 an hour, 100 a day) with 429 and
// Retry-After, Wikimedia refuses a User-Agent without contact. With HTTP_CONTACT the 180 images
// come by pacing Openverse and falling through to Wikimedia, with no request inside a cooldown,
// and the report says which provider served what; without it, the report says what is missing.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../playground/server/index.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeProvider, type FakeSearch } from './fakes/search/server.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { startKodiak, type Kodiak } from './helpers/harness.js';

const BEARS = ['grizzly bear', 'black bear', 'teddy bear'];
const DOCUMENTED_BUDGET = [
  { limit: 5, windowMs: 3_600_000 },
  { limit: 100, windowMs: 86_400_000 },
];

let host: ImageHost;
let mirror: ModelMirror;
let search: FakeSearch | undefined;
let k: Kodiak | undefined;

const text = (m: Pick<FakeMessage, 'content' | 'embeds'>) =>
  [m.content, ...(m.embeds ?? []).flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text])].join('\n');

/** Different small pictures per provider and class: plenty at each, so only pacing limits Openverse. */
function catalogue(provider: FakeProvider, query: string) {
  const c = BEARS.indexOf(query);
  const base = 20_000 * (c + 1) + (provider === 'wikimedia' ? 10_000 : 0);
  return c < 0 ? [] : Array.from({ length: 150 }, (_, i) => ({ url: `${host.url}/img/${base + i}.jpg?w=96&h=72`, license: 'by' }));
}

async function start(env: Record<string, string>) {
  host ??= await startImageHost();
  mirror ??= await startModelMirror();
  search = await startFakeSearch({ images: catalogue, openverseAnonRate: DOCUMENTED_BUDGET });
  k = await startKodiak({
    env: {
      SEARCH_PROVIDERS: 'openverse,wikimedia',
      OPENVERSE_URL: search.url,
      WIKIMEDIA_URL: search.url,
      OPENVERSE_ANON_RATE: '5/hour,100/day',
      MODEL_MIRROR_URL: mirror.url,
      DOWNLOAD_RETRIES: '0',
      ...env,
    },
  });
  return k;
}

async function trainReport(kodiak: Kodiak, images: number): Promise<string> {
  const since = kodiak.fake.mark();
  await (await kodiak.fake.user('alice').runCommand('train', { name: 'bears', images })).reply();
  const report = await kodiak.fake.waitForMessage((m) => (m.embeds?.[0]?.title ?? '').startsWith('Model bears v1'), { since, timeout: 150_000 });
  // As Discord shows it: without the backslashes that escape markdown.
  return text(report).replace(/\\(.)/g, '$1');
}

afterEach(async () => {
  await k?.stop();
  await search?.close();
  k = undefined;
});
afterAll(async () => {
  await Promise.all([host?.close(), mirror?.close()]);
});

describe('/train bears against strict image-search fakes', () => {
  it('with HTTP_CONTACT collects the 180 images by pacing Openverse and falling through to Wikimedia', async () => {
    const kodiak = await start({});
    const body = await trainReport(kodiak, 60);
    const items = await kodiak.ctx.datasets.items({ guildId: kodiak.fake.guild.id, name: 'bears' });
    for (const c of BEARS) expect(items.filter((i) => i.label === c)).toHaveLength(60);
    // Openverse was asked within its anonymous budget, never inside a cooldown, and never throttled us.
    const openverse = search!.requests.filter((r) => r.provider === 'openverse');
    expect(openverse.length, openverse.map((r) => r.path).join('\n')).toBe(5);
    expect(search!.insideCooldown).toEqual({});
    const byProvider: Record<string, number> = {};
    for (const i of items) byProvider[i.source.provider ?? '?'] = (byProvider[i.source.provider ?? '?'] ?? 0) + 1;
    expect(Object.keys(byProvider).sort()).toEqual(['openverse', 'wikimedia']);
    expect(body).toContain('Where images came from');
    expect(body).toMatch(new RegExp(`openverse: \\d+ results, ${byProvider.openverse} kept.*throttled: paced: its budget of 5 requests per hour is used up`));
    expect(body).toMatch(new RegExp(`wikimedia: \\d+ results, ${byProvider.wikimedia} kept`));
  }, 200_000);

  it('without HTTP_CONTACT says that Wikimedia was skipped and what to set', async () => {
    const kodiak = await start({ HTTP_CONTACT: '' });
    const body = await trainReport(kodiak, 10);
    expect(search!.requests.some((r) => r.provider === 'wikimedia')).toBe(false);
    expect(body).toMatch(/wikimedia: 0 results, 0 kept; refused: skipped: Wikimedia's User-Agent policy refuses clients without contact information \(403\); set HTTP_CONTACT/);
  }, 200_000);
});
