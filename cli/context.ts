// What a command-line subcommand needs: config, logger, Redis and the core services.
import { loadConfig, type Config } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { createRedis, ensureRedis } from '../core/redis.js';
import { createServices, type Services } from '../core/services.js';
import { checkDeployment } from '../core/store/deployment.js';

/** The guild id the command line works in unless --guild says otherwise. */
export const LOCAL_GUILD = 'local';

export interface CliContext extends Services {
  close(): Promise<void>;
}

export async function openCliContext(env: NodeJS.ProcessEnv = process.env): Promise<CliContext> {
  const config: Config = loadConfig(env);
  // The command line prints results on stdout; logs go to stderr so --json stays clean.
  const log = createLogger(env.LOG_LEVEL ?? 'warn');
  const embedded = await ensureRedis(config.REDIS_URL, config.DATA_DIR, log, config.START_REDIS);
  const redis = createRedis(config.REDIS_URL, {}, log);
  const pairing = await checkDeployment(redis, config.DATA_DIR, { embeddedRedis: embedded.started || undefined });
  if (!pairing.ok) log.warn(`image files will not be swept: ${pairing.reason}`);
  const services = createServices(config, redis, log);
  return {
    ...services,
    async close() {
      redis.disconnect();
      await embedded.stop();
    },
  };
}
