// `npm start`: the whole product in one process: Redis (embedded when none answers), the
// workers named in WORKER_QUEUES, and the Discord bot. Without DISCORD_TOKEN (or with
// --playground) the bot runs against the playground, a local Discord with a web page.
// SIGINT/SIGTERM close everything cleanly.
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
import { startBot } from './bot/main.js';
import { checkPlaygroundExposure, playgroundLine, startPlayground, type Playground } from './playground/start.js';
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
  // No token (or --playground): run against the embedded Discord-compatible server, so the
  // product can be tried in a browser before creating a Discord application.
  const playgroundMode = !config.DISCORD_TOKEN || process.argv.includes('--playground');
  if (playgroundMode) {
    try {
      checkPlaygroundExposure(config);
    } catch (err) {
      fail((err as Error).message);
    }
  }
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
    const redis = createRedis(config.REDIS_URL, {}, log);
    stoppers.push({ what: 'redis', stop: () => redis.disconnect() });
    const embedded = stoppers.some((s) => s.what === 'embedded redis-server');
    const pairing = await checkDeployment(redis, config.DATA_DIR, { embeddedRedis: embedded || undefined });
    if (!pairing.ok) log.warn(`image files will not be swept: ${pairing.reason}`);
    let playground: Playground | undefined;
    if (playgroundMode) {
      playground = await startPlayground(config, log);
      stoppers.push({ what: 'playground', stop: () => playground!.close() });
      // The bot logs in there as on Discord; downloads may reach the playground's files, and only them.
      config = { ...config, ...playground.env, DOWNLOAD_TRUSTED_ORIGINS: [...config.DOWNLOAD_TRUSTED_ORIGINS, new URL(playground.url).origin] };
    }
    const services = createServices(config, redis, log);
    const workers = await startWorkers({ ...services, queues: createQueues(redis, config.QUEUE_PREFIX) }, config.WORKER_QUEUES);
    stoppers.push({ what: 'workers', stop: () => workers.close() });
    const bot = await startBot(services);
    stoppers.push({ what: 'bot', stop: () => bot.stop() });
    if (playground) process.stdout.write(`${playgroundLine(playground.url)}\n`);
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
