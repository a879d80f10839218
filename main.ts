// `npm start`: the whole product in one process: Redis (embedded when none answers), the
// workers named in WORKER_QUEUES, and the Discord bot. SIGINT/SIGTERM close everything cleanly.
import { ConfigError, loadConfig } from './core/config.js';
import { loadDotEnv } from './core/dotenv.js';
import { createLogger } from './core/log.js';
import { createQueues } from './core/queues.js';
import { createRedis, ensureRedis } from './core/redis.js';
import { createServices } from './core/services.js';
import { MISSING_TOKEN_MESSAGE, startBot } from './bot/main.js';
import { startWorkers } from './workers/index.js';

function fail(message: string): never {
  process.stderr.write(`kodiak: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (!config.DISCORD_TOKEN) fail(MISSING_TOKEN_MESSAGE);
  const log = createLogger(config.LOG_LEVEL);
  let embedded;
  try {
    embedded = await ensureRedis(config.REDIS_URL, config.DATA_DIR, log, config.START_REDIS);
  } catch (err) {
    fail((err as Error).message);
  }
  const redis = createRedis(config.REDIS_URL);
  const services = createServices(config, redis, log);
  const workers = await startWorkers({ ...services, queues: createQueues(redis, config.QUEUE_PREFIX) }, config.WORKER_QUEUES);
  const bot = await startBot(services);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    await bot.stop().catch((err) => log.error({ err }, 'bot did not stop cleanly'));
    await workers.close().catch((err) => log.error({ err }, 'workers did not stop cleanly'));
    redis.disconnect();
    await embedded.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`kodiak: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
