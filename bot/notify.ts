// The bot's consumer of the `notify` queue: workers never hold the Discord token, so they
// enqueue what should be posted and the bot posts it. BullMQ gives at-least-once delivery and
// retries; each handler makes its post idempotent (job ids are stable per result).
import { Worker, type Job } from 'bullmq';
import { notifyPayload, type NotifyPayload } from '../core/jobs.js';
import type { BotContext } from './types.js';

export type NotifyKind = NotifyPayload['kind'];
export type NotifyHandler<K extends NotifyKind> = (payload: Extract<NotifyPayload, { kind: K }>, ctx: BotContext, job: Job) => Promise<void>;
export type NotifyHandlers = { [K in NotifyKind]?: NotifyHandler<K> };

async function sendToChannel(ctx: BotContext, channelId: string, content: string): Promise<void> {
  const channel = await ctx.client.channels.fetch(channelId);
  if (channel?.isSendable()) await channel.send({ content, allowedMentions: { parse: [] } });
}

const builtin: NotifyHandlers = {
  'job-failed': async (p, ctx) => {
    await sendToChannel(ctx, p.target.channelId, `⚠️ The ${p.queue} job for <@${p.target.userId}> failed: ${p.message}`);
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
    { connection: ctx.redis.duplicate(), prefix: ctx.config.QUEUE_PREFIX, concurrency },
  );
  worker.on('failed', (job, err) => ctx.log.error({ err, jobId: job?.id, kind: job?.data?.kind, attempts: job?.attemptsMade }, 'could not post a notification'));
  worker.on('error', (err) => ctx.log.error({ err }, 'notify consumer error'));
  return worker;
}
