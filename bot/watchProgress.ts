// Listens to BullMQ progress events of the long-running queues and turns each into an edit of
// the job's progress message (through the throttled ProgressEditor).
import { Job, type QueueEvents } from 'bullmq';
import { createQueueEvents } from '../core/queues.js';
import type { QueueName } from '../core/jobs.js';
import type { ProgressEditor } from './progress.js';
import { progressRenderers } from './reports.js';
import type { BotContext } from './types.js';

export function watchProgress(ctx: BotContext, editor: ProgressEditor): () => Promise<void> {
  const watchers: QueueEvents[] = [];
  for (const [queue, render] of Object.entries(progressRenderers) as [QueueName, NonNullable<(typeof progressRenderers)[QueueName]>][]) {
    const events = createQueueEvents(queue, ctx.redis, ctx.config.QUEUE_PREFIX);
    events.on('progress', ({ jobId, data }) => {
      void (async () => {
        const job = await Job.fromId(ctx.queues[queue], jobId);
        const target = job?.data?.target as { channelId: string; progressMessageId?: string } | undefined;
        if (!job || !target?.progressMessageId) return;
        const body = await render(job, data, ctx);
        if (body) await editor.update(target.channelId, target.progressMessageId, () => body);
      })().catch((err) => ctx.log.warn({ err, queue, jobId }, 'could not render progress'));
    });
    events.on('error', (err) => ctx.log.warn({ err, queue }, 'queue events error'));
    watchers.push(events);
  }
  return async () => {
    await Promise.all(watchers.map((w) => w.close()));
  };
}
