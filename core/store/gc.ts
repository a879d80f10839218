// Garbage collection of image files: blobs and cached embeddings that no dataset refers to any
// more (after /dataset delete). Blobs are shared by content between datasets, so deleting a
// dataset cannot delete its files; this sweep removes the ones nobody holds.
//
// Race with a collection in flight: a blob is written (or, if it exists, touched) before its
// item is added, so a file younger than the grace period is never removed, and its age is
// read again just before it goes.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { ALL_ITEMS_KEYS } from './datasets.js';

export interface SweepOptions {
  dataDir: string;
  /** Files younger than this are kept whatever refers to them (default 10 minutes). */
  graceMs?: number;
  now?: number;
}

export interface SweepResult {
  blobs: number;
  embeddings: number;
  bytes: number;
}

export const DEFAULT_SWEEP_GRACE_MS = 10 * 60_000;

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Every image id some dataset holds (trashed ones too: Undo needs their files), under any
 * QUEUE_PREFIX of this Redis, so deployments sharing a DATA_DIR keep each other's images.
 */
export async function referencedImageIds(redis: Redis): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', ALL_ITEMS_KEYS, 'COUNT', 500);
    cursor = next;
    for (const key of keys) for (const id of await redis.hkeys(key)) ids.add(id);
  } while (cursor !== '0');
  return ids;
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

export async function sweepUnreferenced(redis: Redis, opts: SweepOptions): Promise<SweepResult> {
  const cutoff = (opts.now ?? Date.now()) - (opts.graceMs ?? DEFAULT_SWEEP_GRACE_MS);
  const held = await referencedImageIds(redis);
  const result: SweepResult = { blobs: 0, embeddings: 0, bytes: 0 };
  const sweep = async (file: string, kind: 'blobs' | 'embeddings') => {
    const owner = idOf(file);
    if (!owner || (held.has(owner.id) && !owner.temporary)) return;
    const freed = await removeIfOld(file, cutoff);
    if (freed === undefined) return;
    result[kind]++;
    result.bytes += freed;
  };
  // blobs/ab/cd/<sha>; embeddings/<backbone>/ab/<sha>.f32
  for await (const file of filesBelow(path.join(opts.dataDir, 'blobs'), 2)) await sweep(file, 'blobs');
  for await (const file of filesBelow(path.join(opts.dataDir, 'embeddings'), 2)) await sweep(file, 'embeddings');
  return result;
}

/**
 * Sweep without waiting (after a dataset is deleted, when workers start): files of a dataset
 * deleted within the grace period go at a later sweep. Logged, never thrown.
 */
export function sweepFilesInBackground(deps: { redis: Redis; config: { DATA_DIR: string }; log: Logger }, why: string): void {
  sweepUnreferenced(deps.redis, { dataDir: deps.config.DATA_DIR }).then(
    (r) => {
      if (r.blobs || r.embeddings) deps.log.info({ ...r, why }, 'removed image files no dataset holds');
    },
    (err: unknown) => deps.log.error({ err, why }, 'sweeping unreferenced image files failed'),
  );
}
