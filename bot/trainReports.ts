// How a training shows in Discord: its stage under the collection bars in the progress
// message while it runs, then a report (metrics, per-class figures, confusion matrix and
// curves as images) when the train worker hands the result over through the notify queue.
import fs from 'node:fs/promises';
import type { Job } from 'bullmq';
import { AttachmentBuilder, EmbedBuilder, escapeMarkdown, type MessageCreateOptions, type MessageEditOptions } from 'discord.js';
import { trainPayload, trainProgress, type TrainResult } from '../core/jobs.js';
import type { ModelStore } from '../core/ml/models.js';
import { beforeAfter } from '../core/ml/previous.js';
import { progressStateFor, sourcesFields } from './collectReports.js';
import type { NotifyHandler } from './notify.js';
import { postOnce } from './notify.js';
import type { ProgressEditor } from './progress.js';
import { renderProgress, type ProgressState } from './progressView.js';
import type { BotContext } from './types.js';

/** Trainings whose progress message this process did not start (e.g. after a restart). */
const orphans = new Map<string, ProgressState>();

function stateFor(target: { channelId: string; progressMessageId?: string }, name: string): ProgressState {
  const tracked = progressStateFor(target);
  if (tracked) return tracked;
  const key = `${target.channelId}/${target.progressMessageId}`;
  let state = orphans.get(key);
  if (!state) {
    state = { title: `Training ${escapeMarkdown(name)}`, collect: new Map() };
    orphans.set(key, state);
    if (orphans.size > 200) orphans.delete(orphans.keys().next().value!);
  }
  return state;
}

export async function renderTrainProgress(job: Job, data: unknown): Promise<MessageEditOptions | undefined> {
  const payload = trainPayload.safeParse(job.data);
  const progress = trainProgress.safeParse(data);
  if (!payload.success || !progress.success || !payload.data.target) return undefined;
  const state = stateFor(payload.data.target, payload.data.dataset.name);
  state.title = `Training ${escapeMarkdown(payload.data.dataset.name)}`;
  state.train = progress.data;
  return renderProgress(state);
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The per-class table as a code block: it lines up in Discord's proportional font. */
export function perClassTable(result: Pick<TrainResult, 'classes' | 'perClass'>): string {
  const width = Math.min(24, Math.max(5, ...result.classes.map((c) => c.length)));
  const rows = result.classes.map((c) => {
    const m = result.perClass[c] ?? { precision: 0, recall: 0, n: 0 };
    return `${c.slice(0, width).padEnd(width)}  ${pct(m.precision).padStart(9)}  ${pct(m.recall).padStart(6)}  ${String(m.n).padStart(4)}`;
  });
  return ['```', `${'class'.padEnd(width)}  precision  recall     n`, ...rows, '```'].join('\n');
}

export function errorRateLine(result: Pick<TrainResult, 'errorRate' | 'accuracy' | 'modelVersion' | 'nValid' | 'previous' | 'previousNote'>): string {
  const now = `**error rate ${pct(result.errorRate)}** (accuracy ${pct(result.accuracy)})`;
  if (result.previousNote) return `${now}; ${escapeMarkdown(result.previousNote)}`;
  return result.previous ? `${now}; ${beforeAfter(result.previous, result)}` : now;
}

export async function trainReportMessage(result: TrainResult, models: ModelStore): Promise<MessageCreateOptions> {
  const name = escapeMarkdown(result.dataset.name);
  const notes = [
    `${result.nTrain} training and ${result.nValid} validation images; backbone \`${result.backbone}\` on ${result.backend}; ${result.seconds.toFixed(1)} s.`,
    result.backboneNote ? `⚠️ ${result.backboneNote}` : '',
    result.fineTune ? `Fine-tuning: ${result.fineTune}` : '',
  ].filter(Boolean);
  const embed = new EmbedBuilder()
    .setTitle(`Model ${name} v${result.modelVersion}`.slice(0, 256))
    .setDescription([errorRateLine(result), perClassTable(result), ...notes].join('\n').slice(0, 4096))
    .addFields(sourcesFields(result.collected ?? []))
    .setFooter({ text: `/model use ${result.dataset.name} classifies photos posted in a channel; /clean ${result.dataset.name} shows what looks wrong.`.slice(0, 2048) });
  const files: AttachmentBuilder[] = [];
  for (const chart of result.charts) {
    const file = models.chartPath(result.dataset, result.modelVersion, chart);
    const bytes = await fs.readFile(file).catch(() => undefined);
    if (bytes) files.push(new AttachmentBuilder(bytes, { name: `${chart}.png` }));
  }
  if (files.some((f) => f.name === 'confusion.png')) embed.setImage('attachment://confusion.png');
  return { embeds: [embed], files, allowedMentions: { parse: [] } };
}

export function trainDoneHandler(progress: ProgressEditor): NotifyHandler<'train-done'> {
  return async (payload, ctx: BotContext, job) => {
    const { target, result } = payload;
    const post = () => postOnce(ctx, job, target.channelId, async () => trainReportMessage(result, ctx.models));
    if (!target.progressMessageId) return void (await post());
    const state = stateFor(target, result.dataset.name);
    state.title = `Trained ${escapeMarkdown(result.dataset.name)}: model v${result.modelVersion}, error rate ${pct(result.errorRate)}`;
    state.train = { stage: 'saving', done: 1, total: 1, detail: 'done' };
    await progress.finish(target.channelId, target.progressMessageId, () => renderProgress(state), post);
  };
}
