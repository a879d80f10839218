// Redis connections, and the embedded Redis that `npm start` launches when none answers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './log.js';
import { embeddedRedisOwns } from './store/deployment.js';

export type { Redis };

/**
 * How long a store call serving an interaction waits for Redis before giving up: Discord wants
 * an answer within 3 s, and "storage is unavailable" is a better one than none.
 */
export const INTERACTIVE_COMMAND_TIMEOUT_MS = 2000;

export const STORAGE_UNAVAILABLE = 'Storage is unavailable, try again in a moment.';

/**
 * Logs a connection's errors, once per outage (ioredis repeats them on every reconnect attempt);
 * without a listener every failed attempt is an "Unhandled error event".
 */
export function logConnectionErrors(client: Redis, log: Logger | undefined, name: string): Redis {
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log?.warn({ err, connection: name }, 'Redis connection error (retrying)');
  });
  client.on('ready', () => {
    if (down) log?.info({ connection: name }, 'Redis connection is back');
    down = false;
  });
  return client;
}

/** A connection BullMQ can share: it requires maxRetriesPerRequest null for blocking calls. */
export function createRedis(url: string, opts: RedisOptions = {}, log?: Logger): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...opts });
  return logConnectionErrors(client, log, 'main');
}

/** The connection interactions use: a command Redis does not answer in time fails (isStorageUnavailable). */
export function interactiveConnection(redis: Redis, log?: Logger): Redis {
  return logConnectionErrors(redis.duplicate({ commandTimeout: INTERACTIVE_COMMAND_TIMEOUT_MS }), log, 'interactive');
}

/**
 * A connection for BullMQ's workers and queue events and for subscribers: their blocking reads
 * wait by design, so never a command timeout (BullMQ adds its own error listener and re-emits).
 */
export function blockingConnection(redis: Redis): Redis {
  return redis.duplicate({ commandTimeout: undefined, maxRetriesPerRequest: null });
}

/** Errors ioredis gives when Redis cannot be reached or did not answer in time. */
export function isStorageUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  return /^Command timed out$|Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|LOADING/.test(err.message);
}

/** True when a Redis server answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

async function onPath(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    try {
      await fs.access(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

export interface EmbeddedRedis {
  readonly started: boolean;
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  mode?: 'auto' | 'never';
  /** Called as soon as a redis-server is spawned, before it answers, so a caller stopped meanwhile can stop it. */
  onSpawn?: (stop: () => Promise<void>) => void;
}

/**
 * Make sure a Redis answers at `url`. When nothing does, the host is loopback, `redis-server` is
 * on the PATH and DATA_DIR is new or owned by the embedded Redis (deployment.ts), start one as a
 * child process with AOF persistence under `dataDir/redis`. Never an empty Redis for data that
 * lives in another one: its sweep would see no dataset. Throws naming REDIS_URL otherwise.
 */
export async function ensureRedis(url: string, dataDir: string, log: Logger, opts: EnsureRedisOptions | 'auto' | 'never' = {}): Promise<EmbeddedRedis> {
  const { mode = 'auto', onSpawn } = typeof opts === 'string' ? { mode: opts } : opts;
  if (await redisAnswers(url)) return { started: false, stop: async () => {} };
  const parsed = new URL(url);
  const binary = await onPath('redis-server');
  if (mode === 'never' || !isLoopbackHost(parsed.hostname) || !binary) {
    throw new Error(
      `REDIS_URL: nothing answers at ${url}` +
        (binary ? '' : ' and redis-server is not on the PATH (install it, e.g. apt-get install redis-server)'),
    );
  }
  if (!(await embeddedRedisOwns(dataDir))) {
    throw new Error(
      `REDIS_URL: nothing answers at ${url}, and ${dataDir} holds data kept in another Redis (its deployment.json says so, or it has images but no embedded Redis files). ` +
        'Start that Redis, or set REDIS_URL to where it runs; Kodiak does not start an empty Redis for existing data.',
    );
  }
  const dir = path.join(dataDir, 'redis');
  await fs.mkdir(dir, { recursive: true });
  const port = parsed.port || '6379';
  const child: ChildProcess = spawn(
    binary,
    ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    { stdio: 'ignore' },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  onSpawn?.(stop);
  log.info({ port, dir, pid: child.pid }, 'no Redis answered: started an embedded redis-server with AOF persistence');
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url, 500)) return { started: true, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`REDIS_URL: started redis-server on port ${port} but it never answered`);
}
