// The shared ingestion pipeline: candidate (a URL or bytes) -> download -> verify and
// normalise -> blob store -> dataset item. Bounded memory: a fixed number of candidates are
// in flight, and decodes have their own small limit so downloads keep going while sharp works.
import os from 'node:os';
import sharp from 'sharp';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Config } from '../config.js';
import { isStorageError, type StorageError } from '../errors.js';
import type { Services } from '../services.js';
import type { DatasetItem, DatasetRef, ItemSource } from '../store/types.js';
import { Downloader, DownloadSession, downloaderOptions } from './download.js';
import { countReason, isRejectError } from './reasons.js';
import { normaliseImage, type VerifyOptions } from './verify.js';
import { storedSource } from './sources.js';

export interface Candidate {
  label: string;
  source: ItemSource;
  /** Bytes in hand (upload, zip) or a loader (file on disk); otherwise source.url is downloaded. */
  bytes?: Uint8Array | (() => Promise<Uint8Array>);
  /**
   * The label is a class the dataset does not have yet (a zip's folder): it is created when
   * the first image for it is kept, so folders whose images all fail leave no empty class.
   */
  newClass?: boolean;
}

export interface PipelineCounts {
  downloaded: number;
  failed: Record<string, number>;
  duplicates: number;
  kept: number;
}

export type CandidateOutcome =
  | { kind: 'kept'; id: string }
  /** `of` is the image already in the dataset; `distance` (pHash bits) is set for a near-duplicate. */
  | { kind: 'duplicate'; of: DatasetItem; distance?: number }
  | { kind: 'failed'; reason: string }
  | { kind: 'skipped' };

export interface PipelineOptions {
  downloader: Downloader;
  /** Hosts given up on; one per job, so a collection's search rounds share it. */
  session?: DownloadSession;
  verify: VerifyOptions;
  /** Stop once this many new images are kept (collection); in-flight work is abandoned. */
  stopAfterKept?: number;
  signal?: AbortSignal;
  /** Called after every candidate settles, with the running counts. */
  onSettled?: (candidate: Candidate, outcome: CandidateOutcome, counts: PipelineCounts) => void;
}

// One downloader (one connection pool and one set of limits) per configuration in a process.
const downloaders = new WeakMap<Config, Downloader>();

export function sharedDownloader(config: Config): Downloader {
  let d = downloaders.get(config);
  if (!d) downloaders.set(config, (d = new Downloader(downloaderOptions(config))));
  return d;
}

/** Close the process's shared downloader, if one was made (worker and CLI shutdown). */
export async function closeSharedDownloader(config: Config): Promise<void> {
  const d = downloaders.get(config);
  downloaders.delete(config);
  await d?.close();
}

/**
 * Images in verification per process: three per core. Each image alternates between sharp
 * (decode, then encode, on libuv's pool) and JS (hashing), so a few waiting keep every core
 * busy; few enough to bound memory (~1 MB each). Measured on 2 cores, verify-only, paired runs:
 * 4 in flight 85-99 img/s, 6 in flight 92-108 img/s, 8 no better.
 */
export const VERIFY_CONCURRENCY = Math.min(12, os.availableParallelism() * 3);
let verifyLimit: LimitFunction = pLimit(VERIFY_CONCURRENCY);

/**
 * How sharp should run in a process that verifies and embeds many images: one libvips thread
 * per image (parallelism comes from several images in flight, which wastes less on thread
 * hand-offs than splitting each small image: 79 -> 100 img/s on 2 cores), and no operation
 * cache (every image is new).
 */
export function configureSharpForWorkers(): void {
  sharp.cache(false);
  sharp.concurrency(1);
}

/**
 * sharp runs on libuv's thread pool, 4 threads unless UV_THREADPOOL_SIZE says otherwise, and
 * the variable counts only when set before the process starts (module loading already starts
 * the pool). On a machine with more cores, collection would use only 4 of them: say so.
 */
export function threadPoolAdvice(env: NodeJS.ProcessEnv = process.env, cores = os.availableParallelism()): string | undefined {
  const pool = Number(env.UV_THREADPOOL_SIZE) || 4;
  if (cores <= pool) return undefined;
  return `sharp can use ${pool} of ${cores} cores: start the workers with UV_THREADPOOL_SIZE=${cores} to verify and embed images on all of them`;
}

export function setVerifyConcurrency(n: number): void {
  verifyLimit = pLimit(n);
}

export function verifyOptions(config: Config): VerifyOptions {
  return { maxSize: config.MAX_IMAGE_SIZE, maxPixels: config.MAX_IMAGE_PIXELS, maxProgressivePixels: config.MAX_PROGRESSIVE_PIXELS };
}

class Stopped extends Error {}

/** Run candidates through the pipeline; returns the counts (the dataset holds the kept items). */
export async function runPipeline(services: Services, ref: DatasetRef, candidates: Candidate[], opts: PipelineOptions): Promise<PipelineCounts> {
  const counts: PipelineCounts = { downloaded: 0, failed: {}, duplicates: 0, kept: 0 };
  const enough = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, enough.signal]) : enough.signal;
  const target = opts.stopAfterKept ?? Infinity;
  let storageError: StorageError | undefined;
  let reserved = 0; // adds in progress, so concurrent finishers do not overshoot the target
  let meta = await services.datasets.require(ref);
  const slots = pLimit(opts.downloader.opts.concurrency + VERIFY_CONCURRENCY * 2);
  const session = opts.session ?? new DownloadSession();

  async function one(c: Candidate): Promise<CandidateOutcome> {
    if (signal.aborted) return { kind: 'skipped' };
    let bytes: Uint8Array;
    let release = () => {};
    if (c.bytes) bytes = typeof c.bytes === 'function' ? await c.bytes() : c.bytes;
    else {
      // The download's share of the byte budget is held until its bytes are verified and dropped.
      ({ bytes, release } = await opts.downloader.download(c.source.url ?? '', signal, session, { hold: true }));
      counts.downloaded++;
    }
    const image = await verifyLimit(() => (signal.aborted ? Promise.reject(new Stopped()) : normaliseImage(bytes, opts.verify))).finally(release);
    if (counts.kept + reserved >= target) return { kind: 'skipped' };
    reserved++;
    try {
      if (c.newClass) meta = await services.datasets.ensureClass(ref, c.label);
      await services.blobs.put(image.jpeg);
      const added = await services.datasets.addItem(ref, {
        id: image.sha256,
        label: c.label,
        source: storedSource(c.source),
        width: image.width,
        height: image.height,
        bytes: image.jpeg.length,
        phash: image.phash,
      }, meta);
      if (added.outcome === 'duplicate') return { kind: 'duplicate', of: added.existing };
      if (added.outcome === 'near-duplicate') return { kind: 'duplicate', of: added.existing, distance: added.distance };
      return { kind: 'kept', id: added.item.id };
    } finally {
      reserved--;
    }
  }

  await Promise.all(
    candidates.map((c) =>
      slots(async () => {
        let outcome: CandidateOutcome;
        try {
          outcome = await one(c);
        } catch (err) {
          if (isRejectError(err)) outcome = { kind: 'failed', reason: err.reason };
          else if (isStorageError(err)) {
            // Not the image's fault, and every other image would fail the same way: stop.
            storageError ??= err;
            enough.abort();
            outcome = { kind: 'skipped' };
          } else if (signal.aborted) outcome = { kind: 'skipped' };
          else if ((err as Error).name === 'UserError') throw err;
          else {
            services.log.warn({ err, url: c.source.url, path: c.source.path }, 'image pipeline failed');
            outcome = { kind: 'failed', reason: 'corrupt' };
          }
        }
        if (outcome.kind === 'kept') counts.kept++;
        else if (outcome.kind === 'duplicate') counts.duplicates++;
        else if (outcome.kind === 'failed') countReason(counts.failed, outcome.reason);
        if (counts.kept >= target) enough.abort();
        if (outcome.kind !== 'skipped') opts.onSettled?.(c, outcome, counts);
      }),
    ),
  );
  if (storageError) throw storageError;
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
  return counts;
}
