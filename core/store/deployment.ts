// The deployment marker: proof that a DATA_DIR and a Redis belong together.
//
// Image files are deleted when no dataset in Redis holds them (gc.ts). Against the wrong Redis
// (empty after a crash without persistence, flushed, another database number, an embedded one
// started because the real one was not up yet) every file looks unheld. So the first start
// writes a random id to DATA_DIR/deployment.json and to Redis, and nothing is deleted unless
// both still name the same deployment.
//
// The marker also records whether the embedded Redis (AOF under DATA_DIR/redis) owns the data,
// so `npm start` never starts an empty embedded Redis for data that lives in another Redis.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import { ALL_ITEMS_KEYS } from './datasets.js';

export const DEPLOYMENT_FILE = 'deployment.json';
/** Redis hash: deployment id -> JSON {dataDir, pairedAt}. Outside QUEUE_PREFIX: the sweep spans every prefix. */
export const DEPLOYMENTS_KEY = 'kodiak-deployments';

const markerSchema = z.object({
  id: z.string().min(8),
  createdAt: z.number(),
  /** 'embedded': the redis-server `npm start` runs with its AOF in DATA_DIR/redis holds this data. */
  redis: z.enum(['embedded', 'external']),
});
export type DeploymentMarker = z.infer<typeof markerSchema>;

export type Pairing = { ok: true; id: string; paired: 'now' | 'before' } | { ok: false; reason: string };

const markerPath = (dataDir: string) => path.join(dataDir, DEPLOYMENT_FILE);

export async function readMarker(dataDir: string): Promise<DeploymentMarker | undefined> {
  let text: string;
  try {
    text = await fs.readFile(markerPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = markerSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${markerPath(dataDir)} is not a deployment marker: ${parsed.error.message}`);
  return parsed.data;
}

async function writeMarker(dataDir: string, marker: DeploymentMarker): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true });
  const tmp = `${markerPath(dataDir)}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(marker, null, 2) + '\n');
  await fs.rename(tmp, markerPath(dataDir));
}

async function entries(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

/** Image ids stored under DATA_DIR/blobs (ab/cd/<sha>). */
export async function storedBlobIds(dataDir: string): Promise<string[]> {
  const ids: string[] = [];
  const root = path.join(dataDir, 'blobs');
  for (const a of await entries(root)) for (const b of await entries(path.join(root, a))) ids.push(...(await entries(path.join(root, a, b))));
  return ids.filter((n) => /^[0-9a-f]{64}$/.test(n));
}

/** The embedded Redis has left its append-only files here (Redis 7: appendonlydir; older: appendonly.aof). */
export async function hasEmbeddedAof(dataDir: string): Promise<boolean> {
  const names = await entries(path.join(dataDir, 'redis'));
  return names.includes('appendonlydir') || names.includes('appendonly.aof');
}

/** A DATA_DIR that holds nothing yet: no marker and no image. */
export async function isNewDataDir(dataDir: string): Promise<boolean> {
  return (await readMarker(dataDir)) === undefined && (await storedBlobIds(dataDir)).length === 0;
}

/**
 * May `npm start` run an embedded redis-server on this DATA_DIR? Yes when it is new, or its
 * marker (or, before markers existed, its AOF) says the embedded Redis owns the data.
 */
export async function embeddedRedisOwns(dataDir: string): Promise<boolean> {
  const marker = await readMarker(dataDir);
  if (marker) return marker.redis === 'embedded' && (await hasEmbeddedAof(dataDir));
  return (await storedBlobIds(dataDir)).length === 0 || (await hasEmbeddedAof(dataDir));
}

/** Some dataset in this Redis holds an image stored in this DATA_DIR (pairing data from before markers). */
async function redisHoldsAnyOf(redis: Redis, ids: Set<string>): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', ALL_ITEMS_KEYS, 'COUNT', 500);
    cursor = next;
    for (const key of keys) for (const id of await redis.hkeys(key)) if (ids.has(id)) return true;
  } while (cursor !== '0');
  return false;
}

async function pairNow(redis: Redis, dataDir: string, redisKind: DeploymentMarker['redis']): Promise<Pairing> {
  const marker: DeploymentMarker = { id: randomUUID(), createdAt: Date.now(), redis: redisKind };
  await redis.hset(DEPLOYMENTS_KEY, marker.id, JSON.stringify({ dataDir, pairedAt: marker.createdAt }));
  await writeMarker(dataDir, marker);
  return { ok: true, id: marker.id, paired: 'now' };
}

/**
 * Check that `redis` and `dataDir` belong together, pairing them when that is safe: a new
 * DATA_DIR, or one from before markers whose images some dataset in this Redis holds.
 * Never pairs a marked DATA_DIR with a Redis that does not know its id.
 */
export async function checkDeployment(
  redis: Redis,
  dataDir: string,
  /** embeddedRedis: true when the caller started the embedded Redis; otherwise its AOF files in DATA_DIR decide. */
  opts: { embeddedRedis?: boolean } = {},
): Promise<Pairing> {
  const marker = await readMarker(dataDir);
  if (marker) {
    if (await redis.hexists(DEPLOYMENTS_KEY, marker.id)) return { ok: true, id: marker.id, paired: 'before' };
    return {
      ok: false,
      reason:
        `${markerPath(dataDir)} names deployment ${marker.id}, which this Redis does not know: it is empty, flushed, ` +
        'another database or another server. Point REDIS_URL at the Redis that holds Kodiak\'s data. If its data is really ' +
        `gone, delete ${markerPath(dataDir)} to pair DATA_DIR with this Redis (the next sweep then removes every image no dataset here holds).`,
    };
  }
  // Who pairs without knowing (a worker's sweep) trusts the embedded Redis' files being there.
  const embedded = opts.embeddedRedis ?? (await hasEmbeddedAof(dataDir));
  const kind = embedded ? 'embedded' : 'external';
  const stored = await storedBlobIds(dataDir);
  if (stored.length === 0 || (await redisHoldsAnyOf(redis, new Set(stored)))) return pairNow(redis, dataDir, kind);
  return {
    ok: false,
    reason: `${dataDir} holds ${stored.length} images but no deployment marker, and no dataset in this Redis holds any of them: this is not the Redis they were collected with. Point REDIS_URL at that Redis.`,
  };
}
