// Cleaner buttons and reactions act only in the server their report belongs to, and only on the
// dataset it was made for: deleting a dataset forgets its cleaner state, and a dataset made again
// under the same name inherits no kept marks, decisions or reports; old buttons do nothing. A custom_id is
// text a client sends, so a message in server Beta carrying the buttons of a report about
// server Alpha's dataset (here: Alpha's suspects posted into Beta) must change nothing, show
// nothing of Alpha's, and tell the clicker so; the same buttons in Alpha still work. What users
// supplied (a source URL line carrying markdown, a display name) is shown as text.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postPage } from '../bot/clean/posting.js';
import { addFromFolder } from '../core/collect/collect.js';
import type { StoredCleanReport } from '../core/clean/runClean.js';
import { isEphemeral, type FakeMessage } from '../playground/server/index.js';
import { syntheticImages, SYNTHETIC_CLASSES } from './fixtures/images.js';
import { startKodiak, type Kodiak } from './helpers/harness.js';

const CLASSES = [...SYNTHETIC_CLASSES];
/** A URL-list line as stored before sources were normalised. */
const INJECTED = 'http://a.example/cat.jpg> ## Free Nitro [claim](https://phish.example)';
let k: Kodiak;
let folder: string;
let report: StoredCleanReport;
const alphaRef = () => ({ guildId: k.fake.guilds[0]!.id, name: 'shapes' });

/** Polls the fake (a reaction handler answers nothing observable until it removes the reaction). */
async function until(check: () => boolean, what: string, timeout = 15_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Posts suspect `index` of the report (and, for the first, the "Show more" footer) in a channel, as /clean would. */
async function postIn(channel: string, index = 0): Promise<{ suspect: FakeMessage; footer?: FakeMessage }> {
  const since = k.fake.mark();
  // postPage posts each suspect once per report; clear the marks to post the same page again.
  for (const key of await k.ctx.redis.keys(`${k.config.QUEUE_PREFIX}:clean:posted:*`)) await k.ctx.redis.del(key);
  await postPage(k.ctx, k.fake.channel(channel).id, report, index, 1);
  const suspect = await k.fake.waitForMessage((m) => m.content.startsWith(`**${index + 1}/3**`), { since, channel });
  if (index > 0) return { suspect };
  const footer = await k.fake.waitForMessage((m) => buttons(m).some((b) => b?.startsWith('Show')), { since, channel });
  return { suspect, footer };
}

const buttons = (m: FakeMessage): (string | undefined)[] =>
  ((m.components ?? []) as unknown as { components?: { label?: string }[] }[]).flatMap((row) => (row.components ?? []).map((c) => c.label));

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-clean-guilds-'));
  for (const img of await syntheticImages(2, { size: 64, seed: 5 })) {
    fs.mkdirSync(path.join(folder, img.label), { recursive: true });
    fs.writeFileSync(path.join(folder, img.label, `${img.classIndex}-${fs.readdirSync(path.join(folder, img.label)).length}.jpg`), img.bytes);
  }
  k = await startKodiak({
    queues: [],
    discord: { guilds: [{ name: 'Alpha', channels: ['alpha'] }, { name: 'Beta', channels: ['beta'] }] },
  });
  await k.ctx.datasets.create(alphaRef(), CLASSES, 'test');
  await addFromFolder({ services: k.services, dataset: alphaRef(), folder });
  const items = (await k.ctx.datasets.items(alphaRef())).slice(0, 3);
  report = {
    id: 'guilds-1',
    dataset: alphaRef(),
    datasetCreatedAt: (await k.ctx.datasets.require(alphaRef())).createdAt,
    createdAt: Date.now(),
    kind: 'labels',
    classes: CLASSES,
    suspects: items.map((it, i) => ({ id: it.id, source: i === 0 ? INJECTED : it.source.path!, label: it.label, suggested: CLASSES.find((c) => c !== it.label)!, score: 0.9, kind: 'label' as const, reason: 'planted' })),
    summary: { nItems: 6, counts: { label: 3, leak: 0, duplicate: 0, outlier: 0, quality: 0 }, noiseRate: {}, skippedKept: 0, notes: [] },
  };
  await k.ctx.decisions.saveReport(report);
}, 60_000);

afterAll(async () => {
  await k?.stop();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

describe('cleaner ids are checked against the server they come from', () => {
  it("Alpha's buttons and reactions clicked in Beta change nothing and post nothing", async () => {
    const { suspect, footer } = await postIn('beta');
    const mallory = k.fake.user('mallory', { guild: 'Beta', permissions: ['ManageMessages'] });
    const target = report.suspects[0]!.id;

    const del = await (await mallory.click(suspect, 'Delete')).reply();
    expect(isEphemeral(del)).toBe(true);
    expect(del.content).toMatch(/belongs to another server: nothing changed/);

    const more = await (await mallory.click(footer!, 'Show 1 more')).reply();
    expect(isEphemeral(more)).toBe(true);
    expect(more.content).toMatch(/belongs to another server/);

    await mallory.react(suspect, '🗑️');
    // The bot takes a reaction it will not act on away again.
    await until(() => (k.fake.message(suspect.id).reactions ?? []).every((r) => r.emoji.name !== '🗑️' || r.count === 0), 'the reaction to be removed');

    expect((await k.ctx.datasets.getItem(alphaRef(), target))?.status).toBe('active');
    expect(await k.ctx.decisions.auditLog(alphaRef())).toEqual([]);
    // Nothing of Alpha's was shown in Beta by "Show more".
    expect(k.fake.messages('beta').filter((m) => m.content.startsWith('**2/3**'))).toEqual([]);
  }, 60_000);

  it('the same buttons in Alpha work', async () => {
    const { suspect } = await postIn('alpha');
    const alice = k.fake.user('alice', { guild: 'Alpha', permissions: ['ManageMessages'] });
    expect(suspect.content.split('\n')).toContain(`\`${INJECTED}\``);
    await (await alice.click(suspect, 'Delete')).acknowledged();
    expect((await k.ctx.datasets.getItem(alphaRef(), report.suspects[0]!.id))?.status).toBe('trashed');
    expect((await k.ctx.decisions.auditLog(alphaRef())).map((e) => e.userName)).toEqual(['alice']);

    // A reaction on the decided suspect is answered publicly, naming who reacted: as text.
    const eve = k.fake.user('eve', { guild: 'Alpha', permissions: ['ManageMessages'], displayName: '[claim](https://phish.example)' });
    const since = k.fake.mark();
    await eve.react(suspect, '✅');
    const answer = await k.fake.waitForMessage((m) => m.content.includes('changed nothing'), { since, channel: 'alpha' });
    expect(answer.content).toContain(String.raw`the reaction of \[claim\](https\://phish.example) changed nothing`);
  }, 60_000);

  it('a dataset deleted and made again inherits nothing, and the old buttons do nothing', async () => {
    const admin = k.fake.user('admin', { guild: 'Alpha', permissions: ['ManageGuild', 'ManageMessages'] });
    const { suspect: kept } = await postIn('alpha', 1);
    await (await admin.click(kept, 'Keep')).acknowledged();
    const { suspect: open } = await postIn('alpha', 2);
    expect((await k.ctx.decisions.keptLabels(alphaRef())).size).toBe(1);

    const prompt = await (await admin.runCommand('dataset delete', { name: 'shapes' }, { channel: 'alpha' })).reply();
    await (await admin.click(prompt, 'Delete')).acknowledged();
    await k.ctx.datasets.create(alphaRef(), CLASSES, 'test');
    await addFromFolder({ services: k.services, dataset: alphaRef(), folder });

    expect(await k.ctx.decisions.keptLabels(alphaRef())).toEqual(new Map());
    expect(await k.ctx.decisions.auditLog(alphaRef())).toEqual([]);
    expect(await k.ctx.decisions.latestReportId(alphaRef())).toBeUndefined();
    expect(await k.ctx.decisions.loadReport(report.id)).toBeUndefined();

    // The same images are in the new dataset: an old button must not decide on them.
    const target = report.suspects[2]!.id;
    const gone = await (await admin.click(open, 'Delete')).reply();
    expect(isEphemeral(gone)).toBe(true);
    expect(gone.content).toMatch(/expired/);
    // A report stored after the delete (a clean job finishing late) is refused by its stamp.
    await k.ctx.decisions.saveReport(report);
    const stale = await (await admin.click(open, 'Delete')).reply();
    expect(stale.content).toMatch(/deleted since: nothing changed/);
    expect((await k.ctx.datasets.getItem(alphaRef(), target))?.status).toBe('active');
    expect(await k.ctx.decisions.auditLog(alphaRef())).toEqual([]);
  }, 60_000);
});
