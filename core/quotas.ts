// Quotas: what one member and one server may ask of the workers. Without them any member could
// queue /train with 100 classes x 300 images, or /dataset add with 4 x 500 MB zips, as often
// as they liked. Each limit is an env variable (defaults in .env.example); excess gets a
// UserError that says when to try again, which the bot shows ephemerally.
//   - runs per member per hour and per server per day, for /train, /dataset collect and /dataset add
//   - runs in progress (queued or running) per server: a lease per run, released by the worker
//     when the run ends; a lease that is never released (a lost job) expires
//   - images per dataset, checked before anything is queued and again while adding
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { UserError } from './errors.js';
import { retryIn, takeTokens } from './rateLimit.js';

export type QuotaAction = 'train' | 'collect' | 'add';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Longer than any run should take; a lease still held then belonged to a lost run. */
export const JOB_LEASE_MS = 3 * HOUR;

const WHAT: Record<QuotaAction, string> = { train: 'trainings', collect: 'collections', add: '/dataset add runs' };

function limitsOf(config: Config, action: QuotaAction): { perUser: number; perGuild: number } {
  switch (action) {
    case 'train':
      return { perUser: config.QUOTA_TRAIN_PER_USER_HOUR, perGuild: config.QUOTA_TRAIN_PER_GUILD_DAY };
    case 'collect':
      return { perUser: config.QUOTA_COLLECT_PER_USER_HOUR, perGuild: config.QUOTA_COLLECT_PER_GUILD_DAY };
    case 'add':
      return { perUser: config.QUOTA_ADD_PER_USER_HOUR, perGuild: config.QUOTA_ADD_PER_GUILD_DAY };
  }
}

export interface QuotaContext {
  redis: Redis;
  config: Config;
}

export interface RunRequest {
  action: QuotaAction;
  guildId: string;
  userId: string;
  /** Names the run's lease, e.g. the interaction id. */
  runId: string;
}

const runsKey = (prefix: string, guildId: string) => `${prefix}:quota:runs:${guildId}`;

// KEYS: the guild's leases. ARGV: now, lease id, lease ms, limit. 1 = taken (or held already).
const CLAIM = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;

/**
 * Admit a run: a lease among the server's runs in progress, then a token from the member's
 * hourly and the server's daily allowance. Throws UserError saying when to retry; nothing is
 * held after a refusal. Returns the lease id to put in the run's last job.
 */
export async function admitRun(ctx: QuotaContext, req: RunRequest, now = Date.now()): Promise<string> {
  const { config, redis } = ctx;
  const prefix = config.QUEUE_PREFIX;
  const claimed = Number(await redis.eval(CLAIM, 1, runsKey(prefix, req.guildId), now, req.runId, JOB_LEASE_MS, config.QUOTA_JOBS_PER_GUILD));
  if (!claimed) {
    throw new UserError(`This server already has ${config.QUOTA_JOBS_PER_GUILD} trainings or collections in progress; try again when one finishes (/status shows them).`);
  }
  const { perUser, perGuild } = limitsOf(config, req.action);
  const user = { key: `${prefix}:quota:${req.action}:user:${req.userId}`, limit: perUser, windowMs: HOUR };
  const guild = { key: `${prefix}:quota:${req.action}:guild:${req.guildId}`, limit: perGuild, windowMs: DAY };
  const mine = await takeTokens(redis, [user], 1, now);
  const ours = mine.allowed ? await takeTokens(redis, [guild], 1, now) : mine;
  if (mine.allowed && ours.allowed) return req.runId;
  await releaseRun(ctx, req.guildId, req.runId);
  // Given back: a refused run should not count against the member's hour.
  if (mine.allowed) await redis.zremrangebyscore(user.key, now, now);
  if (!mine.allowed) throw new UserError(`You have reached your limit of ${perUser} ${WHAT[req.action]} an hour; try again ${retryIn(mine.retryAfterMs)}.`);
  throw new UserError(`This server has reached its limit of ${perGuild} ${WHAT[req.action]} a day; try again ${retryIn(ours.retryAfterMs)}.`);
}

/** Admit a run and start it; when starting fails, the run never was and its place is given back. */
export async function startRun<T>(ctx: QuotaContext, req: RunRequest, start: (lease: string) => Promise<T>): Promise<T> {
  const lease = await admitRun(ctx, req);
  try {
    return await start(lease);
  } catch (err) {
    await releaseRun(ctx, req.guildId, lease);
    throw err;
  }
}

/** The run is over (done, failed for good or cancelled): its lease frees a place. */
export async function releaseRun(ctx: QuotaContext, guildId: string, lease: string): Promise<void> {
  await ctx.redis.zrem(runsKey(ctx.config.QUEUE_PREFIX, guildId), lease);
}

/** Refuse a dataset that would grow past QUOTA_IMAGES_PER_DATASET. */
export function checkDatasetRoom(config: Config, have: number, adding: number, what = 'that'): void {
  const limit = config.QUOTA_IMAGES_PER_DATASET;
  if (have + adding <= limit) return;
  const room = Math.max(0, limit - have);
  throw new UserError(`${what} would take the dataset to ${have + adding} images; a dataset holds at most ${limit}${room ? ` (room for ${room} more)` : ''}; nothing was added.`);
}
