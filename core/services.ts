// The core services one process needs, built once from config and shared by the bot, the
// workers and the command line. Each feature adds its store here.
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Redis } from './redis.js';

export interface Services {
  config: Config;
  redis: Redis;
  log: Logger;
}

export function createServices(config: Config, redis: Redis, log: Logger): Services {
  return { config, redis, log };
}
