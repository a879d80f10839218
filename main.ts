// `npm start`: the whole product in one process: Redis (embedded when none answers), the
// workers named in WORKER_QUEUES, and the Discord bot. SIGINT/SIGTERM close everything cleanly.
//
// Signal handlers go in first and every part registers how to stop it as soon as it exists, so a
// signal or a failure at any point of start-up stops what was started (above all the embedded
// redis-server, which would otherwise outlive us and hold the port).
import { ConfigError, loadConfig } from './core/config.js';
import { loadDotEnv } from './core/dotenv.js';
import { createLogger } from './core/log.js';
import { createQueues } from './core/queues.js';
import { createRedis, ensureRedis } from './core/redis.js';
import { createServices } from './core/services.js';
import { checkDeployment } from './core/store/deployment.js';
import { MISSING_TOKEN_MESSAGE, startBot } from './bot/main.js';
import { startWorkers } from './workers/index.js';

function fail(message: string): never {
  process.stderr.write(`kodiak: ${message}\n`);
  process.exit(1);
}

/** What to stop, newest first. */
const stoppers: { what: string; stop: () => Promise<void> | void }[] = [];
let closing = false;

async function stopAll(onError: (what: string, err: unknown) => void): Promise<void> {
  while (stoppers.length) {
    const { what, stop } = stoppers.pop()!;
    try {
      await stop();
    } catch (err) {
      onError(what, err);
    }
  }
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
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    await stopAll((what, err) => log.error({ err }, `${what} did not stop cleanly`));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await ensureRedis(config.REDIS_URL, config.DATA_DIR, log, {
      mode: config.START_REDIS,
      onSpawn: (stop) => stoppers.push({ what: 'embedded redis-server', stop }),
    });
    const redis = createRedis(config.REDIS_URL);
    stoppers.push({ what: 'redis', stop: () => redis.disconnect() });
    const embedded = stoppers.some((s) => s.what === 'embedded redis-server');
    const pairing = await checkDeployment(redis, config.DATA_DIR, { embeddedRedis: embedded || undefined });
    if (!pairing.ok) log.warn(`image files will not be swept: ${pairing.reason}`);
    const services = createServices(config, redis, log);
    const workers = await startWorkers({ ...services, queues: createQueues(redis, config.QUEUE_PREFIX) }, config.WORKER_QUEUES);
    stoppers.push({ what: 'workers', stop: () => workers.close() });
    const bot = await startBot(services);
    stoppers.push({ what: 'bot', stop: () => bot.stop() });
  } catch (err) {
    if (closing) return;
    closing = true;
    process.stderr.write(`kodiak: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll((what, e) => process.stderr.write(`kodiak: ${what} did not stop: ${String(e)}\n`));
    process.exit(1);
  }
}

main().catch((err) => {
  process.stderr.write(`kodiak: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
