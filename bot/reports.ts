// What the bot posts for each kind of worker result, and how it shows each queue's progress.
// Each feature's renderer lives in its own module under bot/; this file only maps them.
import type { Job } from 'bullmq';
import type { MessageEditOptions } from 'discord.js';
import type { QueueName } from '../core/jobs.js';
import type { NotifyHandlers } from './notify.js';
import type { ProgressEditor } from './progress.js';
import type { BotContext } from './types.js';
import { collectDoneHandler, renderCollectProgress } from './collectReports.js';
import { renderTrainProgress, trainDoneHandler } from './trainReports.js';
import { cleanDoneHandler } from './clean/posting.js';
import { renderCleanProgress } from './clean/views.js';

export type ProgressRenderer = (job: Job, data: unknown, ctx: BotContext) => Promise<MessageEditOptions | undefined>;

export const progressRenderers: Partial<Record<QueueName, ProgressRenderer>> = {
  collect: renderCollectProgress,
  train: renderTrainProgress,
  clean: renderCleanProgress,
};

export function notifyHandlers(progress: ProgressEditor): NotifyHandlers {
  return {
    'collect-done': collectDoneHandler(progress),
    'train-done': trainDoneHandler(progress),
    'clean-done': cleanDoneHandler(),
  };
}
