// Classifying images from Discord: which images a message carries, the per-user rate limit,
// the round trip through the predict queue, and the reply text.
import { randomUUID } from 'node:crypto';
import { Job, QueueEvents } from 'bullmq';
import type { Attachment } from 'discord.js';
import { escapeMarkdown, inlineCode } from '../core/render/markdown.js';
import { UserError } from '../core/errors.js';
import { predictResult, type DatasetRef, type PredictResult } from '../core/jobs.js';
import { createQueueEvents } from '../core/queues.js';
import { retryIn, takeTokens } from '../core/rateLimit.js';
import type { BotContext } from './types.js';

export const MAX_IMAGES_PER_MESSAGE = 10;
const IMAGE_TYPES = /^image\/(jpeg|png|webp|gif|avif|tiff|heic|heif)$/i;
const IMAGE_LINK = /https?:\/\/[^\s<>]+?\.(?:jpe?g|png|webp|gif)(?:\?[^\s<>]*)?(?=$|[\s>])/gi;

export interface ImageRef {
  name: string;
  url: string;
}

export interface MessageImages {
  images: ImageRef[];
  /** Attachments that are not images, or too large: the user hears why. */
  refused: string[];
}

export function isImageAttachment(a: Pick<Attachment, 'contentType' | 'name'>): boolean {
  return a.contentType ? IMAGE_TYPES.test(a.contentType) : /\.(jpe?g|png|webp|gif)$/i.test(a.name);
}

type AttachmentInfo = Pick<Attachment, 'contentType' | 'name' | 'size' | 'url'>;

/** The images a message carries (attachments, then image links in its text), and what was refused. */
export function imagesOf(attachments: Iterable<AttachmentInfo>, content: string, maxBytes: number): MessageImages {
  const images: ImageRef[] = [];
  const refused: string[] = [];
  for (const a of attachments) {
    if (!isImageAttachment(a)) refused.push(`${inlineCode(a.name)} is not an image I can read (JPEG, PNG, WebP or GIF).`);
    else if (a.size > maxBytes) refused.push(`${inlineCode(a.name)} is ${(a.size / 1048576).toFixed(1)} MiB; the limit is ${(maxBytes / 1048576).toFixed(0)} MiB.`);
    else images.push({ name: a.name, url: a.url });
  }
  for (const [link] of content.matchAll(IMAGE_LINK)) {
    // The pattern is loose (`http://[.png` matches it); what does not parse is not a link.
    if (URL.canParse(link)) images.push({ name: new URL(link).pathname.split('/').pop() || 'link', url: link });
  }
  return { images: images.slice(0, MAX_IMAGES_PER_MESSAGE), refused };
}

/** The per-user limit counts photos, not messages: one message may carry ten. */
export async function checkRate(ctx: BotContext, userId: string, images: number): Promise<void> {
  const limit = ctx.config.PREDICT_RATE_PER_MINUTE;
  const bucket = { key: `${ctx.config.QUEUE_PREFIX}:rate:predict:${userId}`, limit, windowMs: 60_000 };
  const { allowed, retryAfterMs } = await takeTokens(ctx.redis, [bucket], images);
  if (allowed) return;
  const asked = images > 1 ? `; these ${images} would go over` : '';
  throw new UserError(`You may have ${limit} photos classified per minute${asked}. Try again ${retryIn(retryAfterMs)}.`);
}

const events = new WeakMap<BotContext, QueueEvents>();

function predictEvents(ctx: BotContext): QueueEvents {
  let e = events.get(ctx);
  if (!e) {
    e = createQueueEvents('predict', ctx.redis, ctx.config.QUEUE_PREFIX);
    e.on('error', (err) => ctx.log.warn({ err }, 'predict queue events error'));
    events.set(ctx, e);
  }
  return e;
}

export async function closePredictEvents(ctx: BotContext): Promise<void> {
  await events.get(ctx)?.close();
  events.delete(ctx);
}

/** Sends the images through the predict queue and waits for the answer (a second or so). */
export async function classify(ctx: BotContext, model: { dataset: DatasetRef; version?: number }, images: ImageRef[], timeoutMs = 60_000): Promise<PredictResult> {
  const queueEvents = predictEvents(ctx);
  await queueEvents.waitUntilReady();
  const id = await ctx.queues.add('predict', 'predict', { model, images }, { jobId: `predict.${randomUUID()}`, attempts: 1, removeOnComplete: { age: 600 } });
  const job = await Job.fromId(ctx.queues.predict, id);
  if (!job) throw new Error('the predict job vanished');
  return predictResult.parse(await job.waitUntilFinished(queueEvents, timeoutMs));
}

/** The model a prediction should use, checked before anything is queued. */
export async function resolveModel(ctx: BotContext, guildId: string, channelId: string, name?: string): Promise<{ dataset: DatasetRef; version?: number }> {
  if (name) {
    const dataset = { guildId, name: name.trim().toLowerCase() };
    if (!(await ctx.models.get(dataset).catch(() => undefined))) throw new UserError(`${inlineCode(dataset.name)} has no trained model: /train ${dataset.name} first.`);
    return { dataset };
  }
  const active = await ctx.models.getActive(guildId, channelId);
  if (!active) throw new UserError('No model classifies photos in this channel: pick one with /model use <name>, or name one with the `model` option.');
  return { dataset: active.dataset, version: active.version };
}

const pct = (p: number) => `${(p * 100).toFixed(p >= 0.995 || p < 0.1 ? 1 : 0)}%`;

/** The model's classes when the result has them, else the ones in the prediction's top list. */
function classList(result: PredictResult, p: PredictResult['predictions'][number]): string {
  const classes = result.classes ?? p.top.map((t) => t.class);
  const shown = classes.slice(0, 10).map((c) => `**${escapeMarkdown(c)}**`).join(', ');
  return classes.length > 10 ? `${shown} and ${classes.length - 10} more` : shown;
}

export function predictionText(result: PredictResult, refused: string[] = []): string {
  const lines = result.predictions.map((p) => {
    const label = result.predictions.length > 1 ? `${inlineCode(p.name)}: ` : '';
    if (p.error) return `${label}⚠️ ${p.error}`;
    const [best, ...rest] = p.top;
    if (!best) return `${label}no answer`;
    const others = rest.slice(0, 2).map((t) => `${escapeMarkdown(t.class)} ${pct(t.p)}`).join(', ');
    if (p.noneOfThese) return `${label}🤔 this does not look like any of: ${classList(result, p)} (${escapeMarkdown(p.reason ?? 'unlike the training images')}).`;
    if (p.notSure) return `${label}🤔 not sure: maybe **${escapeMarkdown(best.class)}** (${pct(best.p)})${others ? `, ${others}` : ''}; it may be none of these.`;
    return `${label}**${escapeMarkdown(best.class)}** (${pct(best.p)})${others ? `; then ${others}` : ''}`;
  });
  const footer = `-# ${escapeMarkdown(result.dataset.name)} v${result.modelVersion}`;
  return [...lines, ...refused.map((r) => `⚠️ ${r}`), footer].join('\n').slice(0, 2000);
}
