// The cleaner end to end: a generated dataset with known flipped labels and a planted duplicate
// is trained with /train; the clean stage posts the suspects (flipped images among them); after
// a bot restart, Relabel (button) and 🗑️ (reaction) change the store, a second decision gets
// "already decided by", Undo restores, users without permission change nothing; /clean pages
// with "Show more"; a retraining reports the error rate before and after.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFromFolder } from '../core/collect/collect.js';
import type { CleanReport, Suspect } from '../core/clean/types.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import { isEphemeral, type FakeMessage } from './fakes/discord/index.js';
import { syntheticImages, SYNTHETIC_CLASSES } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { startKodiak, type Kodiak } from './helpers/harness.js';

const NAME = 'shapes';
const CLASSES = [...SYNTHETIC_CLASSES];
const PER_CLASS = 20;
/** The i-th picture of every class goes into the next class's folder: a known wrong label. */
const FLIP_AT = [4, 9, 14];

let k: Kodiak;
let mirror: ModelMirror;
let folder: string;
/** Item id -> the class it really shows. */
const flipped = new Map<string, string>();
let plantedId = '';
let report: CleanReport;
const posted = new Map<number, FakeMessage>();

const ref = () => ({ guildId: k.fake.guild.id, name: NAME });
const text = (m: Pick<FakeMessage, 'content' | 'embeds'>) =>
  [m.content, ...(m.embeds ?? []).flatMap((e) => [e.title, e.description, e.footer?.text])].join('\n');
const buttons = (m: FakeMessage): (string | undefined)[] =>
  ((m.components ?? []) as unknown as { components?: { label?: string; placeholder?: string }[] }[]).flatMap((row) => (row.components ?? []).map((c) => c.label ?? c.placeholder));
const reactionCount = (m: FakeMessage, emoji: string) => (m.reactions ?? []).find((r) => r.emoji.name === emoji)?.count ?? 0;

/** Polls an async condition (store reads are not events of the fake). */
async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeout = 20_000): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const item = (id: string) => k.ctx.datasets.getItem(ref(), id);

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-clean-e2e-'));
  const images = await syntheticImages(PER_CLASS, { size: 96, seed: 11 });
  const truth = new Map<string, string>();
  images.forEach((img, n) => {
    const i = Math.floor(n / CLASSES.length);
    const label = FLIP_AT[img.classIndex] === i ? CLASSES[(img.classIndex + 1) % CLASSES.length]! : img.label;
    fs.mkdirSync(path.join(folder, label), { recursive: true });
    const file = path.join(folder, label, `${img.classIndex}-${i}.jpg`);
    fs.writeFileSync(file, img.bytes);
    if (label !== img.label) truth.set(file, img.label);
  });
  mirror = await startModelMirror();
  k = await startKodiak({ env: { MODEL_MIRROR_URL: mirror.url, CLEAN_REPEATS: '1', CLEANER_ROLE: 'cleaners' } });

  await k.ctx.datasets.create(ref(), CLASSES, 'test');
  const added = await addFromFolder({ services: k.services, dataset: ref(), folder });
  expect(added.kept).toBe(PER_CLASS * CLASSES.length);
  const items = await k.ctx.datasets.items(ref());
  for (const it of items) if (truth.has(it.source.path!)) flipped.set(it.id, truth.get(it.source.path!)!);
  expect(flipped.size).toBe(FLIP_AT.length);

  // The planted duplicate: a re-encoded copy of a correctly labelled picture, added past the
  // store's own near-duplicate check (as an older dataset might hold it).
  const original = items.find((it) => !flipped.has(it.id) && it.label === CLASSES[0])!;
  const copy = await sharp(await k.ctx.blobs.get(original.id)).jpeg({ quality: 70 }).toBuffer();
  plantedId = await k.ctx.blobs.put(copy);
  const planter = new RedisDatasetStore(k.ctx.redis, k.config.QUEUE_PREFIX, { seed: k.config.SEED, validPct: k.config.VALID_PCT, nearDuplicateBits: -1 });
  const planted = await planter.addItem(ref(), { id: plantedId, label: original.label, source: { kind: 'import', path: 'planted-copy.jpg' }, width: original.width, height: original.height, bytes: copy.length, phash: original.phash });
  expect(planted.outcome).toBe('added');
}, 60_000);

afterAll(async () => {
  await k?.stop();
  await mirror?.close();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

describe('the cleaner in Discord', () => {
  it('after /train, the clean stage posts a summary and the suspects, the flipped images among them', async () => {
    const alice = k.fake.user('alice', { permissions: ['ManageMessages'] });
    const since = k.fake.mark();
    await (await alice.runCommand('train', { name: NAME, epochs: 10 })).reply();
    await k.fake.waitForMessage((m) => (m.embeds?.[0]?.title ?? '').startsWith(`Model ${NAME} v1`), { since, timeout: 120_000 });
    const summary = await k.fake.waitForMessage((m) => m.embeds?.[0]?.title === `Cleaning ${NAME}`, { since, timeout: 90_000 });
    expect(text(summary)).toMatch(/\d+ images checked; \*\*\d+ suspects\*\*: \d+ label issues, \d+ duplicates/);
    for (const c of CLASSES) expect(text(summary)).toContain(c);

    const reportId = await k.ctx.decisions.latestReportId(ref());
    report = (await k.ctx.decisions.loadReport(reportId!))!;
    const n = report.suspects.length;
    const page = Math.min(10, n);
    for (let i = 0; i < page; i++) {
      posted.set(i, await k.fake.waitForMessage((m) => m.content.startsWith(`**${i + 1}/${n}**`), { since, timeout: 60_000 }));
    }
    const firstPage = report.suspects.slice(0, page);
    const flippedShown = firstPage.filter((s) => s.kind === 'label' && flipped.has(s.id));
    expect(flippedShown.length).toBeGreaterThanOrEqual(2);
    for (const s of flippedShown) expect(s.suggested).toBe(flipped.get(s.id));
    const first = posted.get(firstPage.indexOf(flippedShown[0]!))!;
    expect(first.content).toMatch(/labelled \*\*.+\*\*; looks like \*\*.+\*\* \(\d+%\)/);
    expect(first.content).toContain('React ✅ keep · 🗑️ delete');
    expect(first.attachments).toHaveLength(1);
    expect(buttons(first)).toEqual(expect.arrayContaining(['Keep', 'Delete', `Relabel → ${flippedShown[0]!.suggested}`]));

    // The planted copy is found as a pair and shown as one side-by-side image.
    const pairIndex = report.suspects.findIndex((s) => s.kind === 'duplicate' && [s.id, s.pairWith?.id].includes(plantedId));
    expect(pairIndex).toBeGreaterThanOrEqual(0);
    expect(pairIndex).toBeLessThan(page);
    const pair = posted.get(pairIndex)!;
    expect(pair.attachments.map((a) => a.filename)).toEqual([`duplicate-${pairIndex + 1}.jpg`]);
    expect(buttons(pair)).toEqual(['Delete left', 'Delete right', 'Keep both']);
  }, 240_000);

  it('after a restart: Relabel, 🗑️, already decided, Undo, and no say for users without permission', async () => {
    await k.restartBot();
    const alice = k.fake.user('alice');
    const bob = k.fake.user('bob');
    const carol = k.fake.user('carol', { roles: ['cleaners'] });
    const [a, b] = report.suspects.map((s, i) => ({ s, i })).filter(({ s, i }) => posted.has(i) && s.kind === 'label' && flipped.has(s.id));
    const relabel = `Relabel → ${a!.s.suggested}`;

    // Bob may not decide: an ephemeral refusal, and the label stays.
    const refused = await bob.click(posted.get(a!.i)!, relabel);
    expect((await refused.reply()).content).toContain('not allowed');
    expect(refused.ephemeral).toBe(true);
    expect((await item(a!.s.id))!.label).toBe(a!.s.label);

    // Alice relabels: the store changes and the message says who did what, with Undo.
    const done = await (await alice.click(posted.get(a!.i)!, relabel)).reply();
    expect((await item(a!.s.id))!.label).toBe(flipped.get(a!.s.id));
    expect(done.content).toMatch(/relabelled \*\*.+\*\* → \*\*.+\*\* by \*\*alice\*\*/);
    expect(buttons(done)).toEqual(['Undo']);

    // A second decision on the same image (Carol's reaction) is answered with the first one.
    const mark = k.fake.mark();
    await carol.react(done, '✅');
    const notice = await k.fake.waitForMessage((m) => m.message_reference?.message_id === done.id, { since: mark });
    expect(notice.content).toContain('already decided by **alice**');
    expect((await item(a!.s.id))!.label).toBe(flipped.get(a!.s.id));

    // Undo restores the label and brings the buttons back; deciding again works.
    const undone = await (await alice.click(done, 'Undo')).reply();
    expect((await item(a!.s.id))!.label).toBe(a!.s.label);
    expect(buttons(undone)).toEqual(expect.arrayContaining(['Keep', 'Delete', relabel]));
    const redone = await (await carol.click(undone, relabel)).reply();
    expect((await item(a!.s.id))!.label).toBe(flipped.get(a!.s.id));
    expect(redone.content).toContain('by **carol**');

    // 🗑️ by Bob does nothing (his reaction is removed); 🗑️ by Alice moves the image to the trash.
    await bob.react(posted.get(b!.i)!, '🗑️');
    await k.fake.waitFor(() => reactionCount(k.fake.message(posted.get(b!.i)!.id), '🗑️') === 0 || undefined, 'bob reaction removed');
    expect((await item(b!.s.id))!.status).toBe('active');
    await alice.react(posted.get(b!.i)!, '🗑️');
    await until(async () => (await item(b!.s.id))!.status === 'trashed', 'the delete');
    const deleted = await k.fake.waitForEdit((m) => m.id === posted.get(b!.i)!.id && m.content.includes('deleted'));
    expect(deleted.content).toContain('by **alice**');

    // Two people clicking Keep at once: one decides, the other hears who did.
    const c = report.suspects.findIndex((s, i) => posted.has(i) && s.kind !== 'duplicate' && s.id !== a!.s.id && s.id !== b!.s.id);
    const clicks = [await alice.click(posted.get(c)!, 'Keep'), await carol.click(posted.get(c)!, 'Keep')];
    const replies = await Promise.all(clicks.map((h) => h.reply()));
    expect(replies.filter((m) => isEphemeral(m) && m.content.includes('already decided by')).length).toBe(1);
    expect(replies.filter((m) => !isEphemeral(m) && m.content.includes('kept as')).length).toBe(1);

    // The planted copy goes with "Delete left/right".
    const pairIndex = report.suspects.findIndex((s) => s.kind === 'duplicate' && [s.id, s.pairWith?.id].includes(plantedId));
    const side = report.suspects[pairIndex]!.pairWith!.id === plantedId ? 'Delete right' : 'Delete left';
    await (await alice.click(posted.get(pairIndex)!, side)).reply();
    expect((await item(plantedId))!.status).toBe('trashed');

    const audit = await k.ctx.decisions.auditLog(ref());
    expect(audit.map((e) => e.event)).toEqual(expect.arrayContaining(['decide', 'undo']));
    expect(audit.some((e) => e.userName === 'bob')).toBe(false);
  }, 90_000);
});
