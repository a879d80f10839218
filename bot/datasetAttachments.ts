// /dataset add: what each attachment is (images, a URL list, a zip), fetching the ones whose
// contents we need, and adding them all through the core collection code.
import type { Attachment, Collection, Message } from 'discord.js';
import { addFromUrls, addFromZip, type AddSummary, type ProgressFn } from '../core/collect/collect.js';
import { Downloader, downloaderOptions } from '../core/collect/download.js';
import { sharedDownloader } from '../core/collect/pipeline.js';
import { isRejectError } from '../core/collect/reasons.js';
import { parseUrlList } from '../core/collect/sources.js';
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import type { DatasetRef } from '../core/jobs.js';
import type { Services } from '../core/services.js';

export type AttachmentKind = 'image' | 'url-list' | 'zip';

/** A zip may be much larger than one image; Discord itself caps uploads at 10-500 MB. */
export const MAX_ZIP_BYTES = 500 * 1024 * 1024;
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

// Zips get their own downloader: the per-image byte cap would refuse them.
const zipDownloaders = new WeakMap<Config, Downloader>();

function zipDownloader(config: Config): Downloader {
  let d = zipDownloaders.get(config);
  if (!d) zipDownloaders.set(config, (d = new Downloader({ ...downloaderOptions(config), maxBytes: MAX_ZIP_BYTES })));
  return d;
}

async function fetchAttachment(downloader: Downloader, file: Attachment, signal?: AbortSignal): Promise<Buffer> {
  try {
    return (await downloader.download(file.url, signal)).bytes;
  } catch (err) {
    if (isRejectError(err)) throw new UserError(`could not fetch "${file.name.slice(0, 80)}" from Discord (${err.message}); nothing from it was added`);
    throw err;
  }
}

export interface AddRun {
  services: Services;
  dataset: DatasetRef;
  className?: string;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

/** Add everything planned: attached images together, channel images, then each list, then each zip. */
export async function addAttachments(run: AddRun, plan: AddPlan): Promise<AddSummary[]> {
  const { services, dataset, className, onProgress, signal } = run;
  // Read every list first, so a bad list refuses the request before anything is stored.
  const lists: string[][] = [];
  for (const file of plan.lists) lists.push(parseUrlList((await fetchAttachment(sharedDownloader(services.config), file, signal)).toString('utf8')));
  const summaries: AddSummary[] = [];
  if (plan.images.length) {
    summaries.push(await addFromUrls({ services, dataset, className: className!, urls: plan.images.map((f) => f.url), kind: 'upload', onProgress, signal }));
  }
  if (plan.channelImages.length) {
    summaries.push(await addFromUrls({ services, dataset, className: className!, urls: plan.channelImages, kind: 'channel', onProgress, signal }));
  }
  for (const urls of lists) summaries.push(await addFromUrls({ services, dataset, className: className!, urls, kind: 'url-list', onProgress, signal }));
  for (const file of plan.zips) {
    const zip = await fetchAttachment(zipDownloader(services.config), file, signal);
    summaries.push(await addFromZip({ services, dataset, zip, className, zipName: file.name, onProgress, signal }));
  }
  return summaries;
}
