// The core services one process needs, built once from config and shared by the bot, the
// workers and the command line. Each feature adds its store here.
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Redis } from './redis.js';
import path from 'node:path';
import { FileBlobStore } from './store/blobs.js';
import { RedisDatasetStore } from './store/datasets.js';
import type { BlobStore, DatasetRef, DatasetStore } from './store/types.js';
import { ModelStore } from './ml/models.js';
import { DecisionLog } from './clean/decisions.js';

export interface Services {
  config: Config;
  redis: Redis;
  log: Logger;
  blobs: BlobStore;
  datasets: DatasetStore;
  models: ModelStore;
  /** The cleaner's decisions (keep / relabel / delete), their audit log and stored reports. */
  decisions: DecisionLog;
}

export function createServices(config: Config, redis: Redis, log: Logger): Services {
  const blobs = new FileBlobStore(path.join(config.DATA_DIR, 'blobs'));
  const datasets = new RedisDatasetStore(redis, config.QUEUE_PREFIX, { seed: config.SEED, validPct: config.VALID_PCT });
  const models = new ModelStore(config.DATA_DIR);
  const decisions = new DecisionLog(redis, datasets, config.QUEUE_PREFIX);
  return { config, redis, log, blobs, datasets, models, decisions };
}

/**
 * Deletes a dataset and what the cleaner knows about it, the cleaner's state first: a dataset
 * made again under this name must inherit no kept marks, decisions or reports (old buttons are
 * refused by the report's stamp anyway). Its files go with a later sweep (store/gc.ts).
 */
export async function deleteDataset(services: Pick<Services, 'datasets' | 'decisions'>, ref: DatasetRef): Promise<void> {
  await services.decisions.forgetDataset(ref);
  await services.datasets.delete(ref);
}
