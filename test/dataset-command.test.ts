// The /dataset views and helpers as pure functions: what users read, how attachments are
// sorted, the per-class progress bars, the collection summary and the flow's shape.
import type { Job } from 'bullmq';
import type { Attachment, ChatInputCommandInteraction } from 'discord.js';
import { describe, expect, it, vi } from 'vitest';
import {
  classSummaryLine,
  collectSummaryEmbed,
  finishTracking,
  initialProgress,
  progressStateFor,
  reasonLines,
  renderCollectProgress,
  startTracking,
} from '../bot/collectReports.js';
import { attachmentKind, planAttachments } from '../bot/datasetAttachments.js';
import {
  addSummaryText,
  countByClassAndSplit,
  createdText,
  datasetListText,
  datasetShowEmbed,
  deleteButtons,
  exportTooLargeText,
  licenceName,
  mergeAddSummaries,
  sourceCounts,
} from '../bot/datasetViews.js';
import type { BotContext } from '../bot/types.js';
import { execute } from '../commands/dataset.js';
import { collectSummaryFlow } from '../core/collectFlow.js';
import { isUserError } from '../core/errors.js';
import type { CollectProgress, CollectResult } from '../core/jobs.js';
import type { DatasetItem, DatasetMeta } from '../core/store/types.js';
import { throttledProgress } from '../workers/collect.js';

const ref = { guildId: '111111111111111111', name: 'my_bears' };

function meta(over: Partial<DatasetMeta> = {}): DatasetMeta {
  return { guildId: ref.guildId, name: ref.name, classes: ['grizzly bear', 'teddy bear'], createdAt: 1_700_000_000_000, createdBy: '42', seed: 42, validPct: 0.2, revision: 5, rejected: {}, ...over };
}

let n = 0;
function item(label: string, split: 'train' | 'valid', source: Partial<DatasetItem['source']> = {}): DatasetItem {
  n++;
  return { id: String(n).padStart(64, '0'), label, split, status: 'active', source: { kind: 'search', provider: 'openverse', license: 'by', ...source }, width: 100, height: 100, bytes: 1000, phash: '0'.repeat(16), addedAt: n };
}

function progress(className: string, kept: number, wanted = 10, over: Partial<CollectProgress> = {}): CollectProgress {
  return { className, searched: kept, downloaded: kept, failed: {}, duplicates: 0, kept, wanted, ...over };
}

function result(className: string, kept: number, over: Partial<CollectResult> = {}): CollectResult {
  return { ...progress(className, kept), providers: { openverse: kept }, providerErrors: {}, ...over };
}

const description = (body: { embeds?: readonly unknown[] }) => (body.embeds?.[0] as { toJSON(): { description?: string; title?: string; footer?: { text: string } } }).toJSON();

describe('dataset views', () => {
  it('counts active images per class and split, listing empty classes too', () => {
    const items = [item('grizzly bear', 'train'), item('grizzly bear', 'valid'), item('grizzly bear', 'train'), { ...item('teddy bear', 'train'), status: 'trashed' as const }];
    const counts = countByClassAndSplit(['grizzly bear', 'teddy bear'], items);
    expect(Object.fromEntries(counts)).toEqual({ 'grizzly bear': { train: 2, valid: 1 }, 'teddy bear': { train: 0, valid: 0 } });
  });

  it('names sources and licences the way people know them', () => {
    expect(licenceName('by-sa')).toBe('CC BY-SA');
    expect(licenceName('by-nc-nd 4.0')).toBe('CC BY-NC-ND 4.0');
    expect(licenceName('cc0')).toBe('CC0');
    expect(licenceName('CC BY 2.0')).toBe('CC BY 2.0');
    expect(licenceName(undefined)).toBe('not recorded');
    const items = [item('a', 'train'), item('a', 'train'), item('a', 'train', { kind: 'upload', provider: undefined, license: undefined })];
    expect(sourceCounts(items)).toEqual([['search via openverse', 2], ['upload', 1]]);
  });

  it('/dataset show: per-class counts, rejections in words, escaped names, the contact sheet', () => {
    const items = [item('grizzly bear', 'train'), item('grizzly bear', 'valid')];
    const embed = datasetShowEmbed(meta({ rejected: { 'not-an-image': 2, 'http-error': 5 } }), items, { image: true }).toJSON();
    expect(embed.title).toBe('Dataset my\\_bears');
    expect(embed.description).toContain('2 images in 2 classes: 1 to train on, 1 held out for validation (20%)');
    expect(embed.description).toContain('**grizzly bear**: 2 (train 1, valid 1)');
    expect(embed.description).toContain('**teddy bear**: 0 (train 0, valid 0) ⚠️ empty');
    const fields = Object.fromEntries((embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['Rejected while collecting']).toBe('the server answered with an error (e.g. 404): 5\nnot an image: 2');
    expect(fields.Licences).toBe('CC BY: 2');
    expect(embed.image?.url).toBe('attachment://contact-sheet.png');
  });

  it('/dataset list and create escape names and say what was cleaned', () => {
    expect(datasetListText([])).toContain('No datasets');
    expect(datasetListText([{ meta: meta(), images: 1 }])).toContain('**my\\_bears**: 2 classes, 1 image');
    const text = createdText(meta({ classes: ['everyone bear', 'cub'] }), ['@everyone bear', 'cub']);
    expect(text).toContain('**everyone bear**');
    expect(text).toContain('Mentions and markdown were taken out of 1 class name');
    expect(text).not.toContain('@everyone');
  });

  it('/dataset add: summaries add up, and the text says what was not added and why', () => {
    const merged = mergeAddSummaries([
      { total: 3, kept: 2, duplicates: 1, failed: {}, perClass: { cub: 2 }, addedClasses: [], skippedDuplicates: [{ source: 'b.jpg', of: { id: 'f00', source: 'a.jpg', label: 'cub' } }] },
      { total: 4, kept: 1, duplicates: 0, failed: { 'not-an-image': 3 }, perClass: { cub: 1 }, addedClasses: ['cub'], skippedDuplicates: [] },
    ]);
    expect(merged).toMatchObject({ total: 7, kept: 3, duplicates: 1, perClass: { cub: 3 }, addedClasses: ['cub'], skippedDuplicates: [{ source: 'b.jpg' }] });
    const text = addSummaryText('my_bears', merged);
    expect(text).toContain('Added 3 images to **my\\_bears** (**cub**: 3) out of 7.');
    expect(text).toContain('1 duplicate of images already there skipped: `b.jpg` is `a.jpg` (**cub**).');
    // Named, escaped, and cut after five.
    const many = addSummaryText('x', { ...merged, duplicates: 7, skippedDuplicates: Array.from({ length: 7 }, (_, i) => ({ source: `https://e.x/${i}*.jpg`, of: { id: 'f', source: 'c`d.png', label: 'cub' }, distance: 3 })) });
    expect(many).toContain('<https://e.x/0*.jpg> looks like `c\'d.png` (**cub**)');
    expect(many).toContain('; and 2 more.');
    expect(text).toContain('Not added: not an image: 3.');
  });

  it('/dataset export too large points at the command line', () => {
    const text = exportTooLargeText('bears', '123', 42 * 1024 * 1024, 10 * 1024 * 1024);
    expect(text).toContain('42.0 MB');
    expect(text).toContain('`kodiak dataset export bears ./bears --guild 123`');
  });

  it('delete buttons carry the guild, dataset and requester within 100 characters', () => {
    const row = deleteButtons('123456789012345678901', 'a'.repeat(32), '123456789012345678901').toJSON();
    const ids = row.components.map((c) => ('custom_id' in c ? c.custom_id : ''));
    expect(ids).toEqual([`dsdel:yes:123456789012345678901:${'a'.repeat(32)}:123456789012345678901`, `dsdel:no:123456789012345678901:${'a'.repeat(32)}:123456789012345678901`]);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(100);
  });
});

describe('/dataset add attachments', () => {
  const file = (name: string, contentType: string | null, size = 1000) => ({ name, contentType, size, url: `http://x/${name}` }) as unknown as Attachment;

  it('sorts by name and content type', () => {
    expect(attachmentKind({ name: 'a.JPG' })).toBe('image');
    expect(attachmentKind({ name: 'photo', contentType: 'image/webp' })).toBe('image');
    expect(attachmentKind({ name: 'urls.csv', contentType: 'text/csv' })).toBe('url-list');
    expect(attachmentKind({ name: 'bears.zip', contentType: 'application/zip' })).toBe('zip');
    expect(attachmentKind({ name: 'doc.pdf', contentType: 'application/pdf' })).toBeUndefined();
  });

  it('refuses the whole request for an unusable file, or images without a class', () => {
    expect(() => planAttachments([file('a.jpg', 'image/jpeg'), file('doc.pdf', 'application/pdf')], 'cub')).toThrow(/doc\.pdf.*nothing was added/);
    expect(() => planAttachments([file('a.jpg', 'image/jpeg')], undefined)).toThrow(/which class/);
    expect(() => planAttachments([], 'cub')).toThrow(/nothing to add/);
    expect(() => planAttachments([], undefined, ['http://x/posted.jpg'])).toThrow(/which class/);
    expect(planAttachments([], 'cub', ['http://x/posted.jpg']).channelImages).toEqual(['http://x/posted.jpg']);
    const plan = planAttachments([file('a.jpg', 'image/jpeg'), file('classes.zip', 'application/zip')], 'cub');
    expect(plan.images.map((f) => f.name)).toEqual(['a.jpg']);
    expect(plan.zips.map((f) => f.name)).toEqual(['classes.zip']);
    expect(planAttachments([file('classes.zip', 'application/zip')], undefined).zips).toHaveLength(1);
  });
});

describe('collection progress and summary', () => {
  const job = (className: string, target: { channelId: string; progressMessageId: string; userId: string }) =>
    ({ data: { dataset: ref, className, query: className, count: 10, source: 'search', target } }) as unknown as Job;

  it('keeps one bar per class in the run’s progress message, and stops after the final state', async () => {
    const target = { channelId: 'c1', progressMessageId: 'm1', userId: 'u1' };
    expect(description(initialProgress(ref, ['grizzly bear', 'teddy bear'], 10)).description).toContain('**teddy bear**: 0/10 kept');
    startTracking(target, ref, ['grizzly bear', 'teddy bear'], 10, 'asked by alice');
    const body = await renderCollectProgress(job('grizzly bear', target), progress('grizzly bear', 5, 10, { failed: { timeout: 2 }, duplicates: 1 }));
    const shown = description(body!);
    expect(shown.title).toBe('Collecting images for my\\_bears');
    expect(shown.description).toContain('50%` **grizzly bear**: 5/10 kept (2 failed, 1 duplicate)');
    expect(shown.description).toContain('0%` **teddy bear**: 0/10 kept');
    expect(progressStateFor(target)?.collect.size).toBe(2);
    expect(await renderCollectProgress(job('grizzly bear', target), { nonsense: true })).toBeUndefined();

    const final = description(finishTracking(target, ref, [result('grizzly bear', 10), result('teddy bear', 10)]));
    expect(final.title).toBe('Collected images for my\\_bears');
    expect(final.description).toContain('100%` **teddy bear**: 10/10 kept');
    expect(final.footer?.text).toContain('Done: 20 images');
    // A late progress event must not undo the final state.
    expect(await renderCollectProgress(job('teddy bear', target), progress('teddy bear', 3))).toBeUndefined();
  });

  it('rebuilds the bars from progress events after a restart', async () => {
    const target = { channelId: 'c2', progressMessageId: 'm2', userId: 'u1' };
    const body = await renderCollectProgress(job('teddy bear', target), progress('teddy bear', 4));
    expect(description(body!).description).toContain('**teddy bear**: 4/10 kept');
  });

  it('summarises per class, failures by reason, duplicates, providers and the ones that failed', () => {
    const results = [
      result('grizzly bear', 10, { failed: { 'http-error': 2, 'not-an-image': 1 }, duplicates: 3, providers: { openverse: 6, wikimedia: 4 }, providerErrors: { brave: 'not configured (set BRAVE_API_KEY)' } }),
      result('teddy bear', 4, { failed: { 'http-error': 1 }, providers: { openverse: 4 } }),
      result('black bear', 0, { providers: {}, error: 'Redis went away' }),
    ];
    const embed = collectSummaryEmbed(ref, results).toJSON();
    expect(embed.title).toBe('Collection finished: my\\_bears');
    expect(embed.description).toContain('14 images in 3 classes.');
    expect(embed.description).toContain('**grizzly bear**: 10/10 kept · 3 failed · 3 duplicates');
    expect(embed.description).toContain('**teddy bear**: 4/10 kept · 1 failed (the search ran out of usable images)');
    expect(embed.description).toContain('⚠️ this class failed: Redis went away');
    const fields = Object.fromEntries((embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['Not kept']).toBe('the server answered with an error (e.g. 404): 3\nnot an image: 1\nduplicates of images already in the dataset: 3');
    expect(fields['Found by']).toBe('openverse: 10 images\nwikimedia: 4 images');
    expect(fields['Search providers that did not answer']).toBe('brave: not configured (set BRAVE\\_API\\_KEY)');
    expect(reasonLines({ a: 0 })).toEqual([]);
    expect(classSummaryLine(result('**x**', 10))).toContain('\\*\\*x\\*\\*');
  });
});

describe('the collect flow and worker helpers', () => {
  it('puts one retried collect child per class under a summary parent, with stable unique ids', () => {
    const flow = collectSummaryFlow({ dataset: ref, classes: ['grizzly bear', 'teddy bear'], count: 30, runId: '999', target: { channelId: 'c', userId: 'u' } });
    expect(flow).toMatchObject({ name: 'collect-summary', queueName: 'collect', data: { dataset: ref, classes: ['grizzly bear', 'teddy bear'] } });
    const children = flow.children ?? [];
    expect(children.map((c) => c.data.className)).toEqual(['grizzly bear', 'teddy bear']);
    expect(children.every((c) => c.opts?.ignoreDependencyOnFailure && (c.opts.attempts ?? 0) > 1)).toBe(true);
    const ids = [flow.opts?.jobId, ...children.map((c) => c.opts?.jobId)];
    expect(new Set(ids).size).toBe(3);
    expect(collectSummaryFlow({ dataset: ref, classes: ['grizzly bear', 'teddy bear'], count: 30, runId: '999' }).opts?.jobId).toBe(flow.opts?.jobId);
  });

  it('throttles progress to the latest state and always sends the last one', async () => {
    vi.useFakeTimers();
    try {
      const sent: number[] = [];
      const t = throttledProgress(async (p) => void sent.push(p.kept), 500);
      t.update(progress('a', 1));
      t.update(progress('a', 2));
      t.update(progress('a', 3));
      await vi.advanceTimersByTimeAsync(0);
      expect(sent).toEqual([1]);
      await vi.advanceTimersByTimeAsync(500);
      expect(sent).toEqual([1, 3]);
      t.update(progress('a', 4));
      await t.flush();
      expect(sent).toEqual([1, 3, 4]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses /dataset in direct messages with a clear message', async () => {
    const dm = { guildId: null, options: { getSubcommand: () => 'list', getString: () => 'bears' } } as unknown as ChatInputCommandInteraction;
    const err = await execute(dm, {} as BotContext).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toContain('not in direct messages');
  });
});
