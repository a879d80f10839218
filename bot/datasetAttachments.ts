// /dataset add: what each attachment is (images, a URL list, a zip), and the add job that a
// collect worker runs on their URLs (core/collect/addJob.ts) while the bot waits for it.
import type { Attachment, Collection, Message } from 'discord.js';
import { ADD_JOB, addPayload, addResult, MAX_ZIP_BYTES, type AddPayload } from '../core/collect/addJob.js';
import type { AddSummary, ProgressFn } from '../core/collect/collect.js';
import { UserError } from '../core/errors.js';
import { collectProgress, jobId, type DatasetRef } from '../core/jobs.js';
import { createQueueEvents } from '../core/queues.js';
import type { BotContext } from './types.js';

export type AttachmentKind = 'image' | 'url-list' | 'zip';

export const MAX_LIST_BYTES = 2 * 1024 * 1024;

const IMAGE_EXT = /\.(jpe?g|png|gif|webp|avif|tiff?|bmp|heic)$/i;

/** What an attachment is, from its name and content type; undefined when we cannot use it. */
export function attachmentKind(file: { name: string; contentType?: string | null }): AttachmentKind | undefined {
  const name = file.name.toLowerCase();
  const type = (file.contentType ?? '').toLowerCase();
  if (name.endsWith('.zip') || type.startsWith('application/zip') || type.startsWith('application/x-zip')) return 'zip';
  if (/\.(csv|txt)$/.test(name) || type.startsWith('text/plain') || type.startsWith('text/csv')) return 'url-list';
  // The verifier sniffs the bytes later; this only sorts what to do with the file.
  if (IMAGE_EXT.test(name) || type.startsWith('image/')) return 'image';
  return undefined;
}

export interface AddPlan {
  images: Attachment[];
  lists: Attachment[];
  zips: Attachment[];
  /** Image URLs of messages already posted in the channel. */
  channelImages: string[];
}

/** The image attachments of recent channel messages (not the bot's own), oldest first. */
export function channelImageUrls(messages: Collection<string, Message> | Message[], botId: string | undefined): string[] {
  const list = [...messages.values()].sort((a, b) => a.createdTimestamp - b.createdTimestamp);
  return list.filter((m) => m.author.id !== botId).flatMap((m) => [...m.attachments.values()].filter((a) => attachmentKind(a) === 'image').map((a) => a.url));
}

/** Sort the attachments, refusing the whole request (nothing stored) if one cannot be used. */
export function planAttachments(files: Attachment[], className: string | undefined, channelImages: string[] = []): AddPlan {
  const plan: AddPlan = { images: [], lists: [], zips: [], channelImages };
  for (const file of files) {
    const kind = attachmentKind(file);
    if (!kind) throw new UserError(`"${file.name.slice(0, 80)}" is not an image, a .zip or a .csv/.txt list of image URLs; nothing was added`);
    if (kind === 'zip' && file.size > MAX_ZIP_BYTES) throw new UserError(`"${file.name.slice(0, 80)}" is larger than ${MAX_ZIP_BYTES / 1024 / 1024} MB; nothing was added`);
    if (kind === 'url-list' && file.size > MAX_LIST_BYTES) throw new UserError(`"${file.name.slice(0, 80)}" is larger than ${MAX_LIST_BYTES / 1024 / 1024} MB; split the list`);
    ({ image: plan.images, 'url-list': plan.lists, zip: plan.zips })[kind].push(file);
  }
  if (!files.length && !channelImages.length) throw new UserError('nothing to add: attach images, a .csv/.txt list of image URLs or a .zip, or use `recent` to take images posted in this channel');
  if (!className && (plan.images.length || plan.lists.length || plan.channelImages.length)) {
    throw new UserError('say which class these images belong to (the `class` option); only a .zip of class folders can go without it');
  }
  return plan;
}

/** The add job's payload for a plan: URLs only; the collect worker fetches them. */
export function addPayloadFor(plan: AddPlan, dataset: DatasetRef, className: string | undefined, lease: string): AddPayload {
  const named = (files: Attachment[]) => files.map((f) => ({ name: f.name.slice(0, 200), url: f.url }));
  return { dataset, className, images: plan.images.map((f) => f.url), channelImages: plan.channelImages, lists: named(plan.lists), zips: named(plan.zips), lease };
}

/**
 * Run /dataset add on a collect worker and wait for it, passing its progress on. A user's
 * mistake found by the worker (a bad list, an unsafe zip) comes back as a UserError.
 */
export async function runAddJob(ctx: BotContext, payload: AddPayload, runId: string, onProgress?: ProgressFn): Promise<AddSummary[]> {
  const events = createQueueEvents('collect', ctx.redis, ctx.config.QUEUE_PREFIX);
  const id = jobId(ADD_JOB, payload.dataset.guildId, payload.dataset.name, runId);
  events.on('progress', ({ jobId: j, data }) => {
    const p = j === id ? collectProgress.safeParse(data) : undefined;
    if (p?.success) onProgress?.(p.data);
  });
  try {
    await events.waitUntilReady();
    // Not queues.add: that validates the collect queue's per-class payload; this is the add job's.
    const job = await ctx.queues.collect.add(ADD_JOB, addPayload.parse(payload), { jobId: id, attempts: 1, removeOnComplete: { age: 3600 } });
    const result = addResult.parse(await job.waitUntilFinished(events, ADD_WAIT_MS));
    if ('error' in result) throw new UserError(result.error);
    return result.summaries;
  } finally {
    await events.close();
  }
}

/** A big add may outlive the interaction token; the reply then goes to the channel. */
const ADD_WAIT_MS = 2 * 3600_000;
