// /dataset add as a collect job: the bot sorts the attachments and enqueues their URLs; a collect
// worker downloads and adds them. The bot process never holds a download (100 URLs of 18 MB
// peaked at 1.15 GB there), and a zip is streamed to a file under DATA_DIR and read from there.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isUserError, UserError } from '../errors.js';
import { datasetRef, reportTarget } from '../jobs.js';
import type { Services } from '../services.js';
import { addFromUrls, addFromZip, type AddSummary, type ProgressFn } from './collect.js';
import { Downloader, downloaderOptions } from './download.js';
import { sharedDownloader } from './pipeline.js';
import { isRejectError } from './reasons.js';
import { parseUrlList } from './sources.js';

/** The job name of a /dataset add on the collect queue. */
export const ADD_JOB = 'add';

/** A zip may be much larger than one image; Discord itself caps uploads at 10-500 MB. */
export const MAX_ZIP_BYTES = 500 * 1024 * 1024;

const namedUrl = z.object({ name: z.string().max(200), url: z.string().url() });

export const addPayload = z.object({
  dataset: datasetRef,
  className: z.string().max(100).optional(),
  /** Image attachments of the command. */
  images: z.array(z.string().url()).max(10),
  /** Images already posted in the channel. */
  channelImages: z.array(z.string().url()).max(1000),
  lists: z.array(namedUrl).max(4),
  zips: z.array(namedUrl).max(4),
  target: reportTarget.optional(),
  /** The run's quota lease (core/quotas.ts), released when the job ends. */
  lease: z.string().optional(),
});
export type AddPayload = z.infer<typeof addPayload>;

export const addSummary = z.object({
  total: z.number().int(),
  kept: z.number().int(),
  duplicates: z.number().int(),
  failed: z.record(z.string(), z.number().int()),
  perClass: z.record(z.string(), z.number().int()),
  addedClasses: z.array(z.string()),
  skippedDuplicates: z.array(
    z.object({
      source: z.string(),
      of: z.object({ id: z.string(), source: z.string(), label: z.string() }),
      distance: z.number().optional(),
    }),
  ),
});
/** A user's mistake (a bad list, an unsafe zip) is an answer, not a failure: no retry, no alarm. */
export const addResult = z.union([z.object({ summaries: z.array(addSummary) }), z.object({ error: z.string() })]);
export type AddResult = z.infer<typeof addResult>;

// Zips get their own downloader: the per-image byte cap would refuse them.
const zipDownloaders = new WeakMap<Services['config'], Downloader>();

function zipDownloader(config: Services['config']): Downloader {
  let d = zipDownloaders.get(config);
  if (!d) zipDownloaders.set(config, (d = new Downloader({ ...downloaderOptions(config), maxBytes: MAX_ZIP_BYTES })));
  return d;
}

async function fetching<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isRejectError(err)) throw new UserError(`could not fetch "${name.slice(0, 80)}" from Discord (${err.message}); nothing from it was added`);
    throw err;
  }
}

/** The collect worker's side of /dataset add. */
export async function addJob(services: Services, data: unknown, onProgress?: ProgressFn, signal?: AbortSignal): Promise<AddResult> {
  try {
    return { summaries: await runAdd(services, addPayload.parse(data), onProgress, signal) };
  } catch (err) {
    if (isUserError(err)) return { error: err.message };
    throw err;
  }
}

/** Add everything in the payload: attached images together, channel images, each list, each zip. */
export async function runAdd(services: Services, payload: AddPayload, onProgress?: ProgressFn, signal?: AbortSignal): Promise<AddSummary[]> {
  const { dataset, className } = payload;
  // Read every list first, so a bad list refuses the request before anything is stored.
  const lists: string[][] = [];
  for (const file of payload.lists) {
    const got = await fetching(file.name, () => sharedDownloader(services.config).download(file.url, signal));
    lists.push(parseUrlList(got.bytes.toString('utf8')));
  }
  const base = { services, dataset, onProgress, signal };
  const summaries: AddSummary[] = [];
  if (payload.images.length) summaries.push(await addFromUrls({ ...base, className: className!, urls: payload.images, kind: 'upload' }));
  if (payload.channelImages.length) summaries.push(await addFromUrls({ ...base, className: className!, urls: payload.channelImages, kind: 'channel' }));
  for (const urls of lists) summaries.push(await addFromUrls({ ...base, className: className!, urls, kind: 'url-list' }));
  if (payload.zips.length) {
    const tmp = path.join(services.config.DATA_DIR, 'tmp');
    await fs.mkdir(tmp, { recursive: true });
    for (const file of payload.zips) {
      const spilled = path.join(tmp, `${randomUUID()}.zip`);
      try {
        await fetching(file.name, () => zipDownloader(services.config).downloadToFile(file.url, spilled, signal));
        summaries.push(await addFromZip({ ...base, zip: spilled, className, zipName: file.name }));
      } finally {
        await fs.rm(spilled, { force: true });
      }
    }
  }
  return summaries;
}
