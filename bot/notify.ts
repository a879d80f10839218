// The bot's consumer of the `notify` queue: workers never hold the Discord token, so they
// enqueue what should be posted and the bot posts it. BullMQ gives at-least-once delivery and
// retries; each handler makes its post idempotent (job ids are stable per result).
import { Worker, type Job } from 'bullmq';
import { blockingConnection } from '../core/redis.js';
import type { MessageCreateOptions } from 'discord.js';
import { notifyPayload, type NotifyPayload } from '../core/jobs.js';
import { postResult } from './resultPost.js';
import type { BotContext } from './types.js';

export type NotifyKind = NotifyPayload['kind'];
export type NotifyHandler<K extends NotifyKind> = (payload: Extract<NotifyPayload, { kind: K }>, ctx: BotContext, job: Job) => Promise<void>;
export type NotifyHandlers = { [K in NotifyKind]?: NotifyHandler<K> };

/**
 * Post a notification's message once: a retried notify job finds the id of what it already
 * posted and does not post again. (The window between posting and recording is milliseconds.)
 */
export async function postOnce(ctx: BotContext, job: Job, channelId: string, build: () => Promise<MessageCreateOptions>): Promise<string | undefined> {
  const key = `${ctx.config.QUEUE_PREFIX}:posted:${job.id}`;
  const existing = await ctx.redis.get(key);
  if (existing) return existing;
  // A refused post (e.g. a locked thread and its parent) is logged there and not retried.
  const message = await postResult(ctx, channelId, await build(), { jobId: job.id, kind: job.data?.kind });
  if (!message) return undefined;
  await ctx.redis.set(key, message.id, 'EX', 7 * 24 * 3600);
  return message.id;
}


const builtin: NotifyHandlers = {
  'job-failed': async (p, ctx, job) => {
    await postOnce(ctx, job, p.target.channelId, async () => ({
      content: `⚠️ <@${p.target.userId}>, your ${p.queue} job did not finish: ${p.message}`.slice(0, 2000),
      allowedMentions: { users: [p.target.userId] },
    }));
  },
};

export function startNotifyConsumer(ctx: BotContext, handlers: NotifyHandlers, concurrency: number): Worker {
  const all: NotifyHandlers = { ...builtin, ...handlers };
  const worker = new Worker(
    'notify',
    async (job: Job) => {
      const payload = notifyPayload.parse(job.data);
      const handler = all[payload.kind] as NotifyHandler<typeof payload.kind> | undefined;
      if (!handler) throw new Error(`no notify handler for '${payload.kind}'`);
      await handler(payload as never, ctx, job);
    },
    { connection: blockingConnection(ctx.redis), prefix: ctx.config.QUEUE_PREFIX, concurrency },
  );
  worker.on('failed', (job, err) => ctx.log.error({ err, jobId: job?.id, kind: job?.data?.kind, attempts: job?.attemptsMade }, 'could not post a notification'));
  worker.on('error', (err) => ctx.log.error({ err }, 'notify consumer error'));
  return worker;
}
