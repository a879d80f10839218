// Collection entry points used by the collect worker, the /dataset commands and the CLI:
// search-and-download for a class, a list of URLs, a zip, a folder.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SearchProviderId } from '../config.js';
import { UserError } from '../errors.js';
import type { CollectProgress, CollectResult, DatasetRef } from '../jobs.js';
import type { Services } from '../services.js';
import { sourceOf } from '../clean/report.js';
import { checkDatasetRoom } from '../quotas.js';
import { cleanClassName, cleanClassNames, findClass } from '../store/classNames.js';
import type { DatasetMeta, ItemSource, SourceKind } from '../store/types.js';
import { DownloadSession, type Downloader } from './download.js';
import { runPipeline, sharedDownloader, verifyOptions, type Candidate, type PipelineCounts } from './pipeline.js';
import { ProviderTally, saveCollectReport } from './providerReport.js';
import { RedisCursorStore } from './search/cursors.js';
import { createPacer, createProviders, giveBack, searchImages, type ProvidedHit, type SearchProvider } from './search/index.js';
import { listImageFolder } from './sources.js';
import { DEFAULT_ZIP_LIMITS, openZip } from './zip.js';

export type ProgressFn = (p: CollectProgress) => void;

/** Search results wanted per image still missing: about 10% of downloads fail, some are duplicates. */
export const OVERFETCH = 1.5;
const SEARCH_ROUNDS = 3;

export interface CollectClassArgs {
  services: Services;
  dataset: DatasetRef;
  className: string;
  /** Defaults to the class name. */
  query?: string;
  /** Images wanted in the class in total (images already there count). */
  count: number;
  source?: 'search' | SearchProviderId;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  /** What this run is (the job id): a retry replaces its rejection counts instead of adding. */
  operation?: string;
  /** Overrides for tests and benchmarks. */
  downloader?: Downloader;
  providers?: SearchProvider[];
}

function resolveClass(meta: DatasetMeta, name: string): string {
  const label = findClass(meta.classes, name);
  if (!label) throw new UserError(`"${name}" is not a class of ${meta.name} (classes: ${meta.classes.join(', ')})`);
  return label;
}

/** Calls `fn` at most every `ms`, and always for the final call made with `force`. */
function throttle(fn: ProgressFn | undefined, ms = 250): (p: CollectProgress, force?: boolean) => void {
  let last = 0;
  return (p, force = false) => {
    if (!fn || (!force && Date.now() - last < ms)) return;
    last = Date.now();
    fn(structuredClone(p));
  };
}

function mergeCounts(into: CollectProgress, counts: PipelineCounts, base: { downloaded: number; duplicates: number; failed: Record<string, number> }) {
  into.downloaded = base.downloaded + counts.downloaded;
  into.duplicates = base.duplicates + counts.duplicates;
  into.failed = { ...base.failed };
  for (const [r, n] of Object.entries(counts.failed)) into.failed[r] = (into.failed[r] ?? 0) + n;
}

/**
 * Fill one class up to `count` images from image search: search -> parallel download -> verify
 * -> dedup -> store. Idempotent: a retried job finds its earlier images already in the
 * dataset (same bytes, same id) and only fetches what is still missing.
 */
export async function collectClass(args: CollectClassArgs): Promise<CollectResult> {
  const { services, dataset, count, signal } = args;
  const meta = await services.datasets.require(dataset);
  const label = resolveClass(meta, args.className);
  const query = args.query?.trim() || label;
  const existing = (await services.datasets.items(dataset, { includeTrashed: true })).filter((i) => i.label === label);
  // URLs this class already has (trashed ones too: a deleted image should not come back).
  const seen = new Set(existing.map((i) => i.source.url).filter((u): u is string => !!u));
  const progress: CollectProgress = {
    className: label,
    searched: 0,
    downloaded: 0,
    failed: {},
    duplicates: 0,
    kept: existing.filter((i) => i.status === 'active').length,
    wanted: count,
  };
  const result: CollectResult = { ...progress, providers: {}, providerErrors: {} };
  const only = args.source && args.source !== 'search' ? args.source : undefined;
  const set = args.providers ? { providers: args.providers, unavailable: {}, skipped: {} } : createProviders(services.config, only, createPacer(services.config, services.redis));
  const cursors = new RedisCursorStore(services.redis, services.config.QUEUE_PREFIX, `${dataset.guildId}/${dataset.name}/${meta.createdAt}/${label}`);
  // An unconfigured provider is worth mentioning only when it was asked for or nothing else can run.
  if (only || set.providers.length === 0) Object.assign(result.providerErrors, set.unavailable);
  Object.assign(result.providerErrors, set.skipped);
  const tally = new ProviderTally();
  tally.skipped(set.skipped);
  const report = throttle(args.onProgress);
  const downloader = args.downloader ?? sharedDownloader(services.config);
  const session = new DownloadSession();
  report(progress, true);

  for (let round = 0; round < SEARCH_ROUNDS && progress.kept < count; round++) {
    const missing = count - progress.kept;
    const found = await searchImages(set.providers, query, Math.ceil(missing * OVERFETCH * 2 ** round) + 2, { signal, seen, cursors });
    Object.assign(result.providerErrors, found.errors);
    tally.searched(found);
    if (found.hits.length === 0) break;
    progress.searched += found.hits.length;
    const candidates: Candidate[] = found.hits.map((h: ProvidedHit) => ({ label, source: hitSource(h) }));
    const keptBefore = progress.kept;
    const tried = new Set<string>();
    const base = { downloaded: progress.downloaded, duplicates: progress.duplicates, failed: progress.failed };
    const counts = await runPipeline(services, dataset, candidates, {
      downloader,
      session,
      verify: verifyOptions(services.config),
      stopAfterKept: missing,
      signal,
      onSettled: (c, outcome, running) => {
        if (outcome.kind === 'kept') result.providers[c.source.provider!] = (result.providers[c.source.provider!] ?? 0) + 1;
        tally.settled(c.source.provider, outcome);
        tried.add(c.source.url!);
        mergeCounts(progress, running, base);
        progress.kept = keptBefore + running.kept;
        report(progress);
      },
    });
    mergeCounts(progress, counts, base);
    progress.kept = keptBefore + counts.kept;
    await giveBack(cursors, query, found.hits.filter((h) => !tried.has(h.url)), seen);
  }
  await services.datasets.addRejections(dataset, progress.failed, args.operation);
  await saveCollectReport(services.redis, services.config.QUEUE_PREFIX, { ...dataset, createdAt: meta.createdAt }, label, tally.sources);
  report(progress, true);
  for (const [id, message] of Object.entries(result.providerErrors)) {
    if (message) services.log.info({ provider: id, message, dataset }, 'search provider unavailable');
  }
  return { ...result, ...progress, sources: tally.sources };
}

function hitSource(h: ProvidedHit): ItemSource {
  const s: ItemSource = { kind: 'search', url: h.url, provider: h.provider };
  if (h.pageUrl) s.pageUrl = h.pageUrl;
  if (h.title) s.title = h.title.slice(0, 300);
  if (h.creator) s.creator = h.creator.slice(0, 200);
  if (h.license) s.license = h.license;
  return s;
}

/** What adding a batch (URLs, zip, folder) did. */
export interface AddSummary {
  total: number;
  kept: number;
  duplicates: number;
  failed: Record<string, number>;
  /** New images per class. */
  perClass: Record<string, number>;
  /** Classes created because a zip or folder had a folder for them. */
  addedClasses: string[];
  /** Each image left out as a copy of one the dataset has: where it came from, and which image it copies. */
  skippedDuplicates: SkippedDuplicate[];
}

export interface SkippedDuplicate {
  source: string;
  of: { id: string; source: string; label: string };
  /** Differing bits of the perceptual hashes (a near-duplicate); absent for the same bytes. */
  distance?: number;
}

interface AddArgs {
  services: Services;
  dataset: DatasetRef;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  downloader?: Downloader;
}

async function addCandidates(args: AddArgs, candidates: Candidate[], newClasses: string[] = []): Promise<AddSummary> {
  const { services, dataset } = args;
  checkDatasetRoom(services.config, (await services.datasets.items(dataset)).length, candidates.length, `adding ${candidates.length} images`);
  const label = new Set(candidates.map((c) => c.label)).size === 1 ? candidates[0]!.label : '*';
  const progress: CollectProgress = { className: label, searched: candidates.length, downloaded: 0, failed: {}, duplicates: 0, kept: 0, wanted: candidates.length };
  const perClass: Record<string, number> = {};
  const skippedDuplicates: SkippedDuplicate[] = [];
  const report = throttle(args.onProgress);
  const counts = await runPipeline(services, dataset, candidates, {
    downloader: args.downloader ?? sharedDownloader(services.config),
    verify: verifyOptions(services.config),
    signal: args.signal,
    onSettled: (c, outcome, running) => {
      if (outcome.kind === 'kept') perClass[c.label] = (perClass[c.label] ?? 0) + 1;
      if (outcome.kind === 'duplicate') {
        const { of, distance } = outcome;
        skippedDuplicates.push({ source: sourceOf(c), of: { id: of.id, source: sourceOf(of), label: of.label }, ...(distance !== undefined ? { distance } : {}) });
      }
      mergeCounts(progress, running, { downloaded: 0, duplicates: 0, failed: {} });
      progress.kept = running.kept;
      report(progress);
    },
  });
  await services.datasets.addRejections(dataset, counts.failed);
  mergeCounts(progress, counts, { downloaded: 0, duplicates: 0, failed: {} });
  progress.kept = counts.kept;
  report(progress, true);
  // Only the new classes that got an image exist now (the pipeline creates them on first keep).
  const addedClasses = newClasses.filter((c) => perClass[c]);
  skippedDuplicates.sort((a, b) => a.source.localeCompare(b.source));
  return { total: candidates.length, kept: counts.kept, duplicates: counts.duplicates, failed: counts.failed, perClass, addedClasses, skippedDuplicates };
}

/** Download a list of URLs (a .csv/.txt list, attachments or channel images) into one class. */
export async function addFromUrls(args: AddArgs & { className: string; urls: string[]; kind?: SourceKind }): Promise<AddSummary> {
  const meta = await args.services.datasets.require(args.dataset);
  const label = resolveClass(meta, args.className);
  const kind = args.kind ?? 'url-list';
  return addCandidates(args, args.urls.map((url) => ({ label, source: { kind, url } })));
}

/**
 * The class of every file: `className` when given, else its folder (ImageFolder layout).
 * Folders naming no class yet become new classes, created only once one of their images is
 * kept (see Candidate.newClass); their names and number are checked here, before anything runs.
 */
async function labelFiles<T extends { folder?: string }>(args: AddArgs, files: T[], className?: string): Promise<{ labelled: [T, string, boolean][]; newClasses: string[] }> {
  const meta = await args.services.datasets.require(args.dataset);
  if (className) {
    const label = resolveClass(meta, className);
    return { labelled: files.map((f) => [f, label, false]), newClasses: [] };
  }
  const loose = files.filter((f) => !f.folder);
  if (loose.length) throw new UserError(`${loose.length} image(s) are not in a class folder: put each class in its own folder, or choose the class`);
  const missing = [...new Map(files.map((f) => [cleanClassName(f.folder!).toLowerCase(), cleanClassName(f.folder!)])).values()].filter((c) => !findClass(meta.classes, c));
  const newClasses = cleanClassNames(missing, meta.classes);
  const all = [...meta.classes, ...newClasses];
  return { labelled: files.map((f) => [f, findClass(all, cleanClassName(f.folder!))!, !findClass(meta.classes, cleanClassName(f.folder!))]), newClasses };
}

/**
 * Add the images of a .zip (its bytes, or the path of a file holding it): all into `className`,
 * or one class per top folder. Entries are read as the pipeline needs them, not all at once.
 */
export async function addFromZip(args: AddArgs & { zip: Uint8Array | string; className?: string; zipName?: string }): Promise<AddSummary> {
  const archive = await openZip(args.zip, { ...DEFAULT_ZIP_LIMITS, maxEntryBytes: args.services.config.DOWNLOAD_MAX_BYTES });
  try {
    if (archive.images.length === 0) throw new UserError('that zip has no images in it');
    const { labelled, newClasses } = await labelFiles(args, archive.images, args.className);
    const candidates = labelled.map(([f, label, newClass]): Candidate => ({ label, newClass, bytes: () => archive.read(f), source: { kind: 'zip', path: args.zipName ? `${args.zipName}/${f.path}` : f.path } }));
    return await addCandidates(args, candidates, newClasses);
  } finally {
    archive.close();
  }
}

/** Add the images of a folder on disk (class-per-folder), keeping each file's path as its source. */
export async function addFromFolder(args: AddArgs & { folder: string; className?: string }): Promise<AddSummary> {
  const root = path.resolve(args.folder);
  const files = await listImageFolder(root);
  if (files.length === 0) throw new UserError(`no images found under ${root}`);
  const { labelled, newClasses } = await labelFiles(args, files, args.className);
  const candidates = labelled.map(([f, label, newClass]): Candidate => ({ label, newClass, bytes: () => fs.readFile(f.path), source: { kind: 'import', path: f.path } }));
  return addCandidates(args, candidates, newClasses);
}
