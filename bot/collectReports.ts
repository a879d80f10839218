// How a collection shows in Discord: one progress message per run with a bar per class (its
// state kept here in memory, per progress message, and drawn by progressView), and the summary
// posted when every class has finished. A bot restart loses only the bars of classes that have
// not reported since: the next progress event brings each class back.
import type { Job } from 'bullmq';
import { EmbedBuilder, type MessageEditOptions } from 'discord.js';
import { escapeMarkdown } from '../core/render/markdown.js';
import { describeReason } from '../core/collect/reasons.js';
import { mergeSources, providerLines } from '../core/collect/providerReport.js';
import { collectPayload, collectProgress, type CollectProgress, type CollectResult, type DatasetRef, type ReportTarget } from '../core/jobs.js';
import type { NotifyHandler } from './notify.js';
import type { ProgressEditor } from './progress.js';
import { postResult } from './resultPost.js';
import { renderProgress, type ProgressState } from './progressView.js';

interface Tracked {
  state: ProgressState;
  done: boolean;
  touched: number;
}

type MessageTarget = Pick<ReportTarget, 'channelId' | 'progressMessageId'>;

const tracked = new Map<string, Tracked>();
/** Finished runs are forgotten after this long; the map never holds more than MAX_TRACKED. */
const DONE_TTL_MS = 30 * 60_000;
const MAX_TRACKED = 500;

const keyOf = (t: MessageTarget) => `${t.channelId}/${t.progressMessageId ?? ''}`;

function prune(now: number): void {
  for (const [key, entry] of tracked) if (entry.done && now - entry.touched > DONE_TTL_MS) tracked.delete(key);
  // Oldest first (Map keeps insertion order): a burst of runs cannot grow memory without bound.
  for (const key of tracked.keys()) {
    if (tracked.size <= MAX_TRACKED) break;
    tracked.delete(key);
  }
}

export function collectTitle(dataset: DatasetRef, done = false): string {
  return `${done ? 'Collected' : 'Collecting'} images for ${escapeMarkdown(dataset.name)}`;
}

/** A class that has not reported yet: an empty bar. */
export function emptyProgress(className: string, wanted: number): CollectProgress {
  return { className, searched: 0, downloaded: 0, failed: {}, duplicates: 0, kept: 0, wanted };
}

/** Progress with the class name made safe to show in markdown. */
function shown(p: CollectProgress): CollectProgress {
  return { ...p, className: escapeMarkdown(p.className) };
}

function initialState(dataset: DatasetRef, classes: string[], wanted: number, footer?: string): ProgressState {
  return { title: collectTitle(dataset), collect: new Map(classes.map((c) => [c, shown(emptyProgress(c, wanted))])), footer };
}

/** The first body of a run's progress message: every class with an empty bar. */
export function initialProgress(dataset: DatasetRef, classes: string[], wanted: number, footer?: string): ReturnType<typeof renderProgress> {
  return renderProgress(initialState(dataset, classes, wanted, footer));
}

/** Start showing a run in its (posted) progress message; its progress events then edit it. */
export function startTracking(target: Required<MessageTarget>, dataset: DatasetRef, classes: string[], wanted: number, footer?: string): void {
  const now = Date.now();
  prune(now);
  tracked.set(keyOf(target), { state: initialState(dataset, classes, wanted, footer), done: false, touched: now });
}

/** The live state of a progress message, e.g. for /train to add its stage below the bars. */
export function progressStateFor(target: MessageTarget): ProgressState | undefined {
  return tracked.get(keyOf(target))?.state;
}

function entryFor(target: MessageTarget, dataset: DatasetRef): Tracked {
  let entry = tracked.get(keyOf(target));
  if (!entry) {
    // Not started by this process (the bot restarted): rebuild from what reports arrive.
    entry = { state: { title: collectTitle(dataset), collect: new Map() }, done: false, touched: Date.now() };
    tracked.set(keyOf(target), entry);
  }
  return entry;
}

/** The progressRenderers hook for the collect queue: one class's progress into its run's bars. */
export async function renderCollectProgress(job: Job, data: unknown): Promise<MessageEditOptions | undefined> {
  const progress = collectProgress.safeParse(data);
  const payload = collectPayload.safeParse(job.data);
  if (!progress.success || !payload.success || !payload.data.target?.progressMessageId) return undefined;
  const entry = entryFor(payload.data.target, payload.data.dataset);
  // After the final edit a late progress event must not bring back an older picture.
  if (entry.done) return undefined;
  entry.touched = Date.now();
  entry.state.collect.set(progress.data.className, shown(progress.data));
  return renderProgress(entry.state);
}

/** The final body of the progress message: every class at its final count. */
export function finishTracking(target: MessageTarget, dataset: DatasetRef, results: CollectResult[]): MessageEditOptions {
  const entry = entryFor(target, dataset);
  for (const r of results) {
    const { providers: _p, providerErrors: _e, error: _x, sources: _s, ...counts } = r;
    entry.state.collect.set(r.className, shown(counts));
  }
  const kept = results.reduce((n, r) => n + r.kept, 0);
  const failedClasses = results.filter((r) => r.error).length;
  entry.state.title = collectTitle(dataset, true);
  entry.state.footer = `Done: ${kept} image${kept === 1 ? '' : 's'} in the dataset${failedClasses ? `; ${failedClasses} class${failedClasses === 1 ? '' : 'es'} failed` : ''}`;
  entry.done = true;
  entry.touched = Date.now();
  return renderProgress(entry.state);
}

function sumRecords(records: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
  return out;
}

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** One line per class: kept of wanted, and what did not make it. */
export function classSummaryLine(r: CollectResult): string {
  const failed = Object.values(r.failed).reduce((a, b) => a + b, 0);
  const parts = [`**${escapeMarkdown(r.className)}**: ${r.kept}/${r.wanted} kept`];
  if (failed) parts.push(`${failed} failed`);
  if (r.duplicates) parts.push(plural(r.duplicates, 'duplicate'));
  let line = parts.join(' · ');
  if (r.error) line += `\n  ⚠️ this class failed: ${escapeMarkdown(r.error.slice(0, 200))}`;
  else if (r.kept < r.wanted) line += ' (the search ran out of usable images)';
  return line;
}

/** `reason: n` lines, most frequent first, in the user's words. */
export function reasonLines(counts: Record<string, number>): string[] {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, n]) => `${describeReason(code)}: ${n}`);
}

const fieldValue = (lines: string[]) => lines.join('\n').slice(0, 1024) || 'none';

/** Where the images came from, per provider (results, kept, refused and why, throttled, refused us). */
export function sourcesFields(results: CollectResult[]): { name: string; value: string }[] {
  const lines = providerLines(mergeSources(results));
  return lines.length ? [{ name: 'Where images came from', value: fieldValue(lines.map((l) => escapeMarkdown(l))) }] : [];
}

/** The summary posted when a collection has finished. */
export function collectSummaryEmbed(dataset: DatasetRef, results: CollectResult[]): EmbedBuilder {
  const kept = results.reduce((n, r) => n + r.kept, 0);
  const duplicates = results.reduce((n, r) => n + r.duplicates, 0);
  const failed = sumRecords(results.map((r) => r.failed));
  const providers = sumRecords(results.map((r) => r.providers));
  const providerErrors = new Map<string, string>();
  for (const r of results) for (const [id, message] of Object.entries(r.providerErrors)) if (message) providerErrors.set(id, message);

  const notKept = reasonLines(failed);
  if (duplicates) notKept.push(`duplicates of images already in the dataset: ${duplicates}`);
  const embed = new EmbedBuilder()
    .setTitle(`Collection finished: ${escapeMarkdown(dataset.name)}`.slice(0, 256))
    .setDescription([`${plural(kept, 'image')} in ${plural(results.length, 'class', 'classes')}.`, ...results.map(classSummaryLine)].join('\n').slice(0, 4096))
    .addFields(
      { name: 'Not kept', value: fieldValue(notKept) },
      { name: 'Found by', value: fieldValue(Object.entries(providers).sort((a, b) => b[1] - a[1]).map(([id, n]) => `${escapeMarkdown(id)}: ${plural(n, 'image')}`)) },
    )
    .addFields(sourcesFields(results))
    .setFooter({ text: `/dataset show ${dataset.name} shows the counts per split and sample images` });
  if (providerErrors.size) {
    embed.addFields({ name: 'Search providers that did not answer', value: fieldValue([...providerErrors].map(([id, m]) => `${escapeMarkdown(id)}: ${escapeMarkdown(m)}`)) });
  }
  return embed;
}

/**
 * The 'collect-done' notify handler: the progress message gets its final state, then the
 * summary is posted (see ProgressEditor.finish for a thread archived meanwhile). Retried
 * deliveries edit the same message again, so only the post can repeat, and only if Discord
 * accepted it but the answer was lost; a refused one is logged, not retried (see postResult).
 */
export function collectDoneHandler(editor: ProgressEditor): NotifyHandler<'collect-done'> {
  return async ({ target, dataset, results }, ctx, job) => {
    const post = () =>
      postResult(ctx, target.channelId, {
        content: `<@${target.userId}> the collection for **${escapeMarkdown(dataset.name)}** has finished.`,
        embeds: [collectSummaryEmbed(dataset, results)],
        // Ping the person who asked, and nobody else whatever the names contain.
        allowedMentions: { parse: [], users: [target.userId] },
      }, { jobId: job.id, kind: 'collect-done' });
    if (!target.progressMessageId) return void (await post());
    const body = finishTracking(target, dataset, results);
    await editor.finish(target.channelId, target.progressMessageId, () => body, post);
  };
}
