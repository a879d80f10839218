// Finding 6 of issue 15: attribution says what the licence is and who made the image, and
// Openverse can be asked for commercially usable, modifiable licences only, and for no SVG.
import { afterEach, describe, expect, it } from 'vitest';
import { BraveProvider } from '../core/collect/search/brave.js';
import { createProviders } from '../core/collect/search/index.js';
import { licenseLabel, OpenverseProvider } from '../core/collect/search/openverse.js';
import { loadConfig } from '../core/config.js';
import { startFakeSearch, type FakeImage, type FakeSearch } from './fakes/search/server.js';

const mixed: FakeImage[] = [
  { url: 'http://img.test/0.jpg', license: 'cc0' },
  { url: 'http://img.test/1.jpg', license: 'pdm' },
  { url: 'http://img.test/2.jpg', license: 'by-nc' },
  { url: 'http://img.test/3.jpg', license: 'by-nd' },
  { url: 'http://img.test/4.svg', license: 'by-sa', filetype: 'svg' },
  { url: 'http://img.test/5.png', license: 'by', filetype: 'png' },
];

let fake: FakeSearch | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('attribution', () => {
  it('names CC0 and the Public Domain Mark (not a CC licence) as people write them', async () => {
    fake = await startFakeSearch({ images: () => mixed });
    const { hits } = await new OpenverseProvider({ baseUrl: fake.url }).search('bear', 6);
    expect(hits.map((h) => h.license)).toEqual(['CC0 1.0', 'Public Domain Mark 1.0', 'CC BY-NC 2.0', 'CC BY-ND 2.0', 'CC BY-SA 2.0', 'CC BY 2.0']);
    expect(licenseLabel('nc-sampling+', '1.0')).toBe('CC NC-Sampling+ 1.0');
  });

  it("does not put Brave's source domain in the creator column", async () => {
    fake = await startFakeSearch({ images: () => mixed, braveKey: 'k' });
    const { hits } = await new BraveProvider(fake.url, 'k').search('bear', 3);
    expect(hits[0]).toMatchObject({ url: 'http://img.test/0.jpg', pageUrl: 'https://example.org/page/0' });
    expect(hits.every((h) => h.creator === undefined)).toBe(true);
  });

  it('asks Openverse for commercially usable, modifiable licences and no SVG when configured', async () => {
    fake = await startFakeSearch({ images: () => mixed });
    const config = loadConfig({ OPENVERSE_URL: fake.url, SEARCH_PROVIDERS: 'openverse', OPENVERSE_LICENSE_TYPE: 'commercial,modification', OPENVERSE_EXTENSIONS: 'jpg,png,gif,webp' });
    const { hits } = await createProviders(config).providers[0]!.search('bear', 6);
    expect(hits.map((h) => h.url)).toEqual(['http://img.test/0.jpg', 'http://img.test/1.jpg', 'http://img.test/5.png']);
    const q = new URL(fake.requests[0]!.path, 'http://x').searchParams;
    expect(q.get('license_type')).toBe('commercial,modification');
    expect(q.get('extension')).toBe('jpg,png,gif,webp');
    expect(() => loadConfig({ OPENVERSE_LICENSE_TYPE: 'free' })).toThrow(/OPENVERSE_LICENSE_TYPE/);
  });
});
