// Starts Kodiak in-process for a test: its own Redis key prefix and data dir, the workers
// for the queues asked for, and (when a Discord URL is given) the bot logged into it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config, type QueueName } from '../../core/config.js';
import { createLogger } from '../../core/log.js';
import { createQueues } from '../../core/queues.js';
import { createRedis } from '../../core/redis.js';
import { createServices, type Services } from '../../core/services.js';
import { startBot, type RunningBot } from '../../bot/main.js';
import { startWorkers, type RunningWorkers } from '../../workers/index.js';

export interface TestStack {
  config: Config;
  services: Services;
  workers: RunningWorkers;
  bot?: RunningBot;
  /** Stops the bot and starts a new one on the same Redis prefix and data dir (a restart). */
  restartBot(): Promise<RunningBot>;
  stop(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  /** Queues that get workers in this process (default: all). */
  queues?: QueueName[];
  /** Start the bot too (needs DISCORD_API_URL and DISCORD_TOKEN in env). */
  bot?: boolean;
}

/** Deletes every key under a prefix: tests share one Redis and never flush it. */
export async function deleteKeys(redis: ReturnType<typeof createRedis>, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

export async function startStack(opts: StackOptions = {}): Promise<TestStack> {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-test-'));
  const config = loadConfig({
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    ALLOW_PRIVATE_URLS: 'true',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    EMBED_THREADS: '1',
    // The clean stage follows every training; one 5-fold pass keeps e2e tests quick.
    CLEAN_REPEATS: '1',
    // One view instead of four is a fifth of the embedding work; e2e-train, ml-views and
    // export-readme run the product's default views.
    IMAGE_VIEWS: 'original',
    // Kodiak identifies itself to image APIs; the fake Wikimedia refuses it otherwise, as the real one does.
    HTTP_CONTACT: 'https://kodiak.test/contact',
    // Tests not about pacing are not held to anonymous Openverse's budget of a few requests an hour.
    OPENVERSE_ANON_RATE: '1000/minute',
    ...opts.env,
  });
  const log = createLogger(config.LOG_LEVEL);
  const redis = createRedis(config.REDIS_URL);
  const services = createServices(config, redis, log);
  const queues = createQueues(redis, prefix);
  const workers = await startWorkers({ ...services, queues }, opts.queues ?? config.WORKER_QUEUES);
  const release = async () => {
    await workers.close();
    await queues.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  let bot: RunningBot | undefined;
  try {
    bot = opts.bot ? await startBot(services) : undefined;
  } catch (err) {
    // A bot that cannot start (e.g. a refused intent) must not leave workers and Redis keys behind.
    await release();
    throw err;
  }
  const stack: TestStack = {
    config,
    services,
    workers,
    bot,
    async restartBot() {
      await bot?.stop();
      bot = undefined;
      bot = await startBot(services);
      stack.bot = bot;
      return bot;
    },
    async stop() {
      await bot?.stop();
      await release();
    },
  };
  return stack;
}
