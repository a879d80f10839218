// Garbage collection of image files: blobs and cached embeddings that no dataset refers to any
// more (after /dataset delete). Blobs are shared by content between datasets, so deleting a
// dataset cannot delete its files; this sweep removes the ones nobody holds.
//
// Two guards, because an empty or wrong Redis makes every file look unheld:
//  - the sweep runs only when DATA_DIR and Redis carry the same deployment marker (deployment.ts);
//  - files a deleted dataset released (its ids, recorded by datasets.delete) go freely, with a log
//    line naming why; any other unheld file counts against a small share of the files, and a pass
//    that would remove more is refused whole.
//
// Race with a collection in flight: a blob is written (or, if it exists, touched) before its
// item is added, so a file younger than the grace period is never removed, and its age is
// read again just before it goes.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { ALL_ITEMS_KEYS, ALL_RELEASED_KEYS } from './datasets.js';
import { checkDeployment } from './deployment.js';

export interface SweepOptions {
  dataDir: string;
  /** Files younger than this are kept whatever refers to them (default 10 minutes). */
  graceMs?: number;
  now?: number;
  /** Unheld files no deleted dataset released may be at most this share of all files (default 10%)... */
  maxUnexplainedShare?: number;
  /** ...or this many, whichever is more (leftovers of a small deployment; default 10). */
  unexplainedAllowance?: number;
}

export interface SweepResult {
  blobs: number;
  embeddings: number;
  bytes: number;
  /** Why nothing was removed, when the sweep refused to run. */
  refused?: string;
}

export const DEFAULT_SWEEP_GRACE_MS = 10 * 60_000;
export const DEFAULT_MAX_UNEXPLAINED_SHARE = 0.1;
export const DEFAULT_UNEXPLAINED_ALLOWANCE = 10;

const SHA256 = /^[0-9a-f]{64}$/;

/** Every member of every key matching `pattern` (sets when `kind` is 'set', hash fields otherwise). */
async function membersOf(redis: Redis, pattern: string, kind: 'hash' | 'set'): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const ids = kind === 'set' ? await redis.smembers(key) : await redis.hkeys(key);
      for (const id of ids) byId.set(id, [...(byId.get(id) ?? []), key]);
    }
  } while (cursor !== '0');
  return byId;
}

/**
 * Every image id some dataset holds (trashed ones too: Undo needs their files), under any
 * QUEUE_PREFIX of this Redis, so deployments sharing a DATA_DIR keep each other's images.
 */
export async function referencedImageIds(redis: Redis): Promise<Set<string>> {
  return new Set((await membersOf(redis, ALL_ITEMS_KEYS, 'hash')).keys());
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Files `depth` folders below `root` (the fan-out folders of the blob and embedding stores). */
async function* filesBelow(root: string, depth: number): AsyncGenerator<string> {
  for (const name of await listDir(root)) {
    const full = path.join(root, name);
    if (depth === 0) yield full;
    else yield* filesBelow(full, depth - 1);
  }
}

/** The id a stored file belongs to: `<sha>`, `<sha>.f32`, or a leftover `<sha>....tmp`. */
function idOf(file: string): { id: string; temporary: boolean } | undefined {
  const name = path.basename(file);
  const id = name.slice(0, 64);
  if (!SHA256.test(id)) return undefined;
  return { id, temporary: name.endsWith('.tmp') };
}

async function mtimeOf(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Removes `file` if it is older than `cutoff`; returns the bytes freed, or undefined if kept. */
async function removeIfOld(file: string, cutoff: number): Promise<number | undefined> {
  try {
    const stat = await fs.stat(file);
    if (stat.mtimeMs > cutoff) return undefined;
    await fs.unlink(file);
    return stat.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

interface Candidate {
  file: string;
  kind: 'blobs' | 'embeddings';
  id: string;
  released: boolean;
}

/** Old files no dataset holds; `total` counts every stored file. */
async function findCandidates(dataDir: string, held: Set<string>, released: Map<string, string[]>, cutoff: number) {
  const candidates: Candidate[] = [];
  const young = new Set<string>();
  let total = 0;
  const visit = async (file: string, kind: Candidate['kind']) => {
    const owner = idOf(file);
    if (!owner) return;
    total++;
    if (held.has(owner.id) && !owner.temporary) return;
    const mtime = await mtimeOf(file);
    if (mtime === undefined) return;
    if (mtime > cutoff) young.add(owner.id);
    else candidates.push({ file, kind, id: owner.id, released: released.has(owner.id) && !owner.temporary });
  };
  // blobs/ab/cd/<sha>; embeddings/<backbone>/ab/<sha>.f32
  for await (const file of filesBelow(path.join(dataDir, 'blobs'), 2)) await visit(file, 'blobs');
  for await (const file of filesBelow(path.join(dataDir, 'embeddings'), 2)) await visit(file, 'embeddings');
  return { candidates, young, total };
}

/** Released ids are settled once their files are gone or held; ids with young files wait for a later pass. */
async function settleReleased(redis: Redis, released: Map<string, string[]>, young: Set<string>): Promise<void> {
  const byKey = new Map<string, string[]>();
  for (const [id, keys] of released) if (!young.has(id)) for (const key of keys) byKey.set(key, [...(byKey.get(key) ?? []), id]);
  for (const [key, ids] of byKey) await redis.srem(key, ...ids);
}

export async function sweepUnreferenced(redis: Redis, opts: SweepOptions): Promise<SweepResult> {
  const result: SweepResult = { blobs: 0, embeddings: 0, bytes: 0 };
  const pairing = await checkDeployment(redis, opts.dataDir);
  if (!pairing.ok) return { ...result, refused: pairing.reason };
  const cutoff = (opts.now ?? Date.now()) - (opts.graceMs ?? DEFAULT_SWEEP_GRACE_MS);
  const released = await membersOf(redis, ALL_RELEASED_KEYS, 'set');
  const held = await referencedImageIds(redis);
  const { candidates, young, total } = await findCandidates(opts.dataDir, held, released, cutoff);
  const unexplained = candidates.filter((c) => !c.released).length;
  const allowed = Math.max(opts.unexplainedAllowance ?? DEFAULT_UNEXPLAINED_ALLOWANCE, (opts.maxUnexplainedShare ?? DEFAULT_MAX_UNEXPLAINED_SHARE) * total);
  if (unexplained > allowed) {
    return {
      ...result,
      refused:
        `${unexplained} of ${total} files in ${opts.dataDir} are held by no dataset and were released by no /dataset delete, ` +
        `more than the ${allowed.toFixed(0)} a sweep may remove unexplained: is this the Redis that holds Kodiak's data? Nothing was removed.`,
    };
  }
  for (const c of candidates) {
    const freed = await removeIfOld(c.file, cutoff);
    if (freed === undefined) continue;
    result[c.kind]++;
    result.bytes += freed;
  }
  await settleReleased(redis, released, young);
  return result;
}

/**
 * Sweep without waiting (after a dataset is deleted, when workers start): files of a dataset
 * deleted within the grace period go at a later sweep. Logged, never thrown.
 */
export function sweepFilesInBackground(deps: { redis: Redis; config: { DATA_DIR: string }; log: Logger }, why: string): void {
  sweepUnreferenced(deps.redis, { dataDir: deps.config.DATA_DIR }).then(
    (r) => {
      if (r.refused) deps.log.warn({ why, dataDir: deps.config.DATA_DIR }, `not sweeping image files: ${r.refused}`);
      else if (r.blobs || r.embeddings) deps.log.info({ ...r, why }, 'removed image files no dataset holds');
    },
    (err: unknown) => deps.log.error({ err, why }, 'sweeping unreferenced image files failed'),
  );
}
