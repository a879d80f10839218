// The cleaner end to end: a generated dataset with known flipped labels and a planted duplicate
// is trained with /train; the clean stage posts the suspects (flipped images among them); after
// a bot restart, Relabel (button) and 🗑️ (reaction) change the store, a second decision gets
// "already decided by", Undo restores, users without permission change nothing; /clean pages
// with "Show more"; a retraining reports the error rate before and after.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addFromFolder } from '../core/collect/collect.js';
import type { CleanReport } from '../core/clean/types.js';
import { RedisDatasetStore } from '../core/store/datasets.js';
import { isEphemeral, type FakeMessage } from '../playground/server/index.js';
import { syntheticImages, SYNTHETIC_CLASSES } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

const NAME = 'shapes';
const CLASSES = [...SYNTHETIC_CLASSES];
const PER_CLASS = 20;
/** The i-th picture of every class goes into the next class's folder: a known wrong label. */
const FLIP_AT = [4, 9, 14];

let k: Kodiak;

// Discord bans an application after 10,000 invalid requests: normal flows make none.
afterEach(() => expectNoInvalidRequests(k));
let mirror: ModelMirror;
let folder: string;
/** Item id -> the class it really shows. */
const flipped = new Map<string, string>();
let plantedId = '';
let report: CleanReport;
const posted = new Map<number, FakeMessage>();
/** The flipped images fixed in Discord (relabelled, deleted). */
const decided: string[] = [];

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
    const summary = await k.fake.waitForMessage((m) => m.embeds?.[0]?.title === `Suspects in ${NAME}`, { since, timeout: 90_000 });
    expect(text(summary)).toMatch(/\d+ images checked; \*\*\d+ suspects\*\*: \d+ label issues, \d+ pictures in both training and validation, \d+ duplicates/);
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

    // The planted copy is found as a pair and shown as one side-by-side image: a leak when the
    // copy and its original fell on either side of the validation split, else a duplicate.
    const pairIndex = report.suspects.findIndex((s) => s.pairWith && [s.id, s.pairWith.id].includes(plantedId));
    expect(pairIndex).toBeGreaterThanOrEqual(0);
    const splits = new Map((await k.ctx.datasets.items(ref())).map((it) => [it.id, it.split]));
    const planted = report.suspects[pairIndex]!;
    expect(planted.kind).toBe(splits.get(planted.id) === splits.get(planted.pairWith!.id) ? 'duplicate' : 'leak');
    if (planted.kind === 'leak') expect(splits.get(planted.id)).toBe('train');
    expect(pairIndex).toBeLessThan(page);
    const pair = posted.get(pairIndex)!;
    expect(pair.attachments.map((a) => a.filename)).toEqual([`duplicate-${pairIndex + 1}.jpg`]);
    expect(buttons(pair)).toEqual(['Delete left', 'Delete right', 'Keep both']);
    // Posting waited for the per-channel limit instead of running into it.
    expect(k.fake.rateLimits.hits).toEqual([]);
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
    expect(done.attachments).toHaveLength(1); // the edit keeps the picture

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
    expect(reactionCount(k.fake.message(posted.get(b!.i)!.id), '🗑️')).toBe(1);
    await k.fake.waitFor(() => reactionCount(k.fake.message(posted.get(b!.i)!.id), '🗑️') === 0 || undefined, 'bob reaction removed');
    expect((await item(b!.s.id))!.status).toBe('active');
    expect(await k.ctx.decisions.decisionFor(ref(), report.id, b!.s.id)).toBeUndefined();
    await alice.react(posted.get(b!.i)!, '🗑️');
    await until(async () => (await item(b!.s.id))!.status === 'trashed', 'the delete');
    const deleted = await k.fake.waitForEdit((m) => m.id === posted.get(b!.i)!.id && m.content.includes('deleted'));
    expect(deleted.content).toContain('by **alice**');

    // Two people clicking "Keep both" at once on another pair: one decides, the other hears who did.
    const c = report.suspects.findIndex((s, i) => posted.has(i) && s.pairWith && ![s.id, s.pairWith.id].includes(plantedId));
    expect(c).toBeGreaterThanOrEqual(0);
    decided.push(a!.s.id, b!.s.id);
    const clicks = [await alice.click(posted.get(c)!, 'Keep both'), await carol.click(posted.get(c)!, 'Keep both')];
    const replies = await Promise.all(clicks.map((h) => h.reply()));
    expect(replies.filter((m) => isEphemeral(m) && m.content.includes('already decided by')).length).toBe(1);
    expect(replies.filter((m) => !isEphemeral(m) && m.content.includes('left: kept as') && m.content.includes('right: kept as')).length).toBe(1);

    // The planted copy goes with "Delete left/right".
    const pairIndex = report.suspects.findIndex((s) => s.pairWith && [s.id, s.pairWith.id].includes(plantedId));
    const side = report.suspects[pairIndex]!.pairWith!.id === plantedId ? 'Delete right' : 'Delete left';
    await (await alice.click(posted.get(pairIndex)!, side)).reply();
    expect((await item(plantedId))!.status).toBe('trashed');

    const audit = await k.ctx.decisions.auditLog(ref());
    expect(audit.map((e) => e.event)).toEqual(expect.arrayContaining(['decide', 'undo']));
    expect(audit.some((e) => e.userName === 'bob')).toBe(false);
  }, 90_000);

  it('/clean pages through a fresh report with "Show more"; kept and trashed images are not shown again', async () => {
    const alice = k.fake.user('alice');
    const since = k.fake.mark();
    const ack = await (await alice.runCommand('clean', { name: NAME, count: 2 })).reply();
    expect(ack.content).toContain('Looking for everything in **shapes**');
    const progressId = ack.content.match(/channels\/\d+\/\d+\/(\d+)/)?.[1];
    const summary = await k.fake.waitForMessage((m) => m.embeds?.[0]?.title === `Suspects in ${NAME}`, { since, timeout: 60_000 });
    const fresh = (await k.ctx.decisions.loadReport((await k.ctx.decisions.latestReportId(ref()))!))!;
    expect(fresh.id).not.toBe(report.id);
    expect(text(summary)).toContain(`**${fresh.suspects.length} suspects**`);
    const trashed = new Set([plantedId, ...(await k.ctx.datasets.items(ref(), { includeTrashed: true })).filter((i) => i.status === 'trashed').map((i) => i.id)]);
    expect(fresh.suspects.some((s) => trashed.has(s.id) || (s.pairWith && trashed.has(s.pairWith.id)))).toBe(false);
    const keptIds = new Set((await k.ctx.decisions.keptLabels(ref())).keys());
    expect(keptIds.size).toBeGreaterThan(0);
    expect(fresh.suspects.some((s) => keptIds.has(s.id) && (!s.pairWith || keptIds.has(s.pairWith.id)))).toBe(false);

    const n = fresh.suspects.length;
    expect(n).toBeGreaterThan(3);
    const footer = await k.fake.waitForMessage((m) => m.content.startsWith(`Showing suspects 1–2 of ${n}`), { since });
    const newSince = () => new Set(k.fake.events('message.create', since).map((e) => e.subject));
    expect(k.fake.messages().filter((m) => newSince().has(m.id) && m.content.startsWith('**3/')).length).toBe(0);
    const more = await (await alice.click(footer, 'Show 2 more')).reply();
    expect(buttons(more)).toEqual([]);
    const third = await k.fake.waitForMessage((m) => m.content.startsWith(`**3/${n}**`), { since });
    await k.fake.waitForMessage((m) => m.content.startsWith(`**4/${n}**`), { since });
    expect(third.attachments).toHaveLength(1);
    await k.fake.waitForMessage((m) => m.content.startsWith(`Showing suspects 1–4 of ${n}`), { since });
    // The progress message ended on the result.
    await k.fake.waitFor(() => (k.fake.message(progressId!).embeds?.[0]?.title ?? '').startsWith(`Cleaned ${NAME}: ${n} suspects`) || undefined, 'the final progress');
  }, 90_000);

  /** Runs `kodiak clean` in-process with this test's prefix and data dir; returns its parsed --json output. */
  async function cliJson(args: string[]): Promise<{ suspects: { id: string; source: string; label: string; suggested: string | null; score: number; kind: string; reason: string }[] }> {
    const env = { QUEUE_PREFIX: k.config.QUEUE_PREFIX, DATA_DIR: k.config.DATA_DIR, MODEL_MIRROR_URL: mirror.url, CLEAN_REPEATS: '1', LOG_LEVEL: 'silent', EMBED_THREADS: '1' };
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    const out: string[] = [];
    const log = console.log;
    console.log = (line: string) => void out.push(line);
    try {
      const { main } = await import('../cli/clean.js');
      expect(await main([NAME, '--guild', k.fake.guild.id, '--json', ...args])).toBe(0);
    } finally {
      console.log = log;
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    return JSON.parse(out.join('\n'));
  }

  it('kodiak clean --json lists the ranked suspects; --view top-losses gives the lesson\'s ranking', async () => {
    const parsed = await cliJson(['--kind', 'labels']);
    // The flipped image nobody decided on is still found, with its true class suggested.
    const [left] = [...flipped.keys()].filter((id) => !decided.includes(id));
    const found = parsed.suspects.find((s) => s.id === left);
    expect(found?.suggested).toBe(flipped.get(left!));
    for (const s of parsed.suspects) {
      expect(s.kind).toBe('label');
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['id', 'source', 'label', 'suggested', 'score', 'kind']));
      expect(s.source).toMatch(/\.jpg$/);
    }
    const scores = parsed.suspects.map((s) => s.score);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);

    const losses = await cliJson(['--kind', 'labels', '--view', 'top-losses', '--count', '5']);
    expect(losses.suspects).toHaveLength(5);
    expect(losses.suspects[0]!.reason).toContain('top loss');
  }, 60_000);

  it('/train retrains on the decided labels and reports the error rate before and after', async () => {
    // The retraining's own clean stage is not part of this check.
    await k.ctx.queues.clean.pause();
    const before = await k.ctx.models.require(ref());
    const since = k.fake.mark();
    await (await k.fake.user('alice').runCommand('train', { name: NAME, epochs: 10 })).reply();
    const trained = await k.fake.waitForMessage((m) => (m.embeds?.[0]?.title ?? '').startsWith(`Model ${NAME} v2`), { since, timeout: 120_000 });
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const after = await k.ctx.models.require(ref());
    // Both versions on v2's validation images, labelled as they are now (not v1's recorded rate).
    expect(after.previous?.modelVersion).toBe(1);
    expect(text(trained)).toContain(
      `before → after, on the same ${after.metrics.nValid} validation images with the current labels: v1 ${pct(1 - after.previous!.accuracy)} → v2 ${pct(after.metrics.errorRate)}`,
    );
    expect(after.version).toBe(2);
    expect(after.datasetRevision).toBeGreaterThan(before.datasetRevision);
    expect(after.metrics.nTrain + after.metrics.nValid).toBe(before.metrics.nTrain + before.metrics.nValid - 2);
  }, 150_000);
});
