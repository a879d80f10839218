// Relabelling on a dataset with many classes: the model's suggestion comes first in the menu and
// in the number reactions, and past 25 classes "Another class…" opens a modal that reaches every
// class. The report is stored as the clean worker would store it, then posted by the bot, also
// into an archived thread (the post unarchives it).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reactionAction } from '../bot/clean/handlers.js';
import { postPage } from '../bot/clean/posting.js';
import type { StoredCleanReport } from '../core/clean/runClean.js';
import { makeJpeg } from './fakes/imagehost/images.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

const CLASSES = Array.from({ length: 30 }, (_, i) => `class ${i + 1}`);

let k: Kodiak;

afterEach(() => expectNoInvalidRequests(k));

beforeAll(async () => {
  k = await startKodiak({ queues: ['collect'], env: { DOWNLOAD_RETRIES: '0' } });
});

afterAll(async () => {
  await k?.stop();
});

describe('relabel on a 30-class dataset', () => {
  it('offers the suggested class first and reaches class 27 through "Another class…"', async () => {
    const alice = k.fake.user('alice', { permissions: ['ManageMessages'] });
    const ref = { guildId: k.fake.guild.id, name: 'many' };
    await (await alice.runCommand('dataset create', { name: 'many', classes: CLASSES.join(', ') })).reply();
    const add = await alice.runCommand('dataset add', { name: 'many', class: 'class 1' }, { attachments: [{ name: 'a.jpg', data: await makeJpeg(5), contentType: 'image/jpeg' }] });
    await k.fake.waitFor(() => add.original()?.content.startsWith('Added') || undefined, 'the image to be added', { timeout: 30_000 });
    const [item] = await k.ctx.datasets.items(ref);
    const meta = await k.ctx.datasets.require(ref);

    const report: StoredCleanReport = {
      id: `many-${Date.now()}`, dataset: ref, datasetCreatedAt: meta.createdAt, createdAt: Date.now(), kind: 'labels', classes: CLASSES,
      suspects: [{ id: item!.id, source: 'upload', label: 'class 1', suggested: 'class 30', score: 0.9, kind: 'label', reason: 'looks like class 30' }],
      summary: { nItems: 1, counts: { label: 1, leak: 0, duplicate: 0, outlier: 0, quality: 0 }, noiseRate: {}, skippedKept: 0, notes: [] },
    };
    await k.ctx.decisions.saveReport(report);
    await postPage(k.ctx, k.fake.channel().id, report, 0, 1);
    const posted = await k.fake.waitForMessage((m) => m.content.startsWith('**1/1**'));

    // The suggestion leads the menu and the reactions; the menu ends with the way to every other class.
    const rows = posted.components as unknown as { components: { type: number; options?: { label: string; value: string }[] }[] }[];
    const menu = rows.flatMap((row) => row.components).find((c) => c.type === 3)!;
    expect(menu.options).toHaveLength(25);
    expect(menu.options![0]!.label).toBe('class 30');
    expect(menu.options!.at(-1)!.label).toContain('Another class');
    expect(posted.content).toContain('1️⃣ class 30');
    expect(reactionAction('1️⃣', report, report.suspects[0]!)).toEqual({ type: 'relabel', to: 'class 30' });

    const opened = await alice.select(posted, `clean:${report.id}:0:rs`, ['other']);
    await opened.acknowledged();
    expect(opened.callbackType).toBe(9);
    const submitted = await alice.submitModal(opened, { class: 'Class 27' });
    const done = await submitted.reply();
    expect(done.content).toContain('class 27');
    expect((await k.ctx.datasets.getItem(ref, item!.id))!.label).toBe('class 27');

    // The cleaner in an archived thread: its post unarchives the thread, and a decision edits it there.
    const thread = k.fake.createThread('general', 'cleaning', { archived: true });
    const inThread: StoredCleanReport = { ...report, id: `${report.id}-thread`, suspects: [{ ...report.suspects[0]!, label: 'class 27' }] };
    await k.ctx.decisions.saveReport(inThread);
    await postPage(k.ctx, thread.id, inThread, 0, 1);
    const threadPost = await k.fake.waitForMessage((m) => m.channel_id === thread.id && m.content.startsWith('**1/1**'));
    expect(k.fake.thread(thread.id).archived).toBe(false);
    const kept = await (await alice.click(threadPost, 'Keep')).reply();
    expect(kept.content).toContain('kept');
  });
});
