// Posting a cleaning report: the summary, then one message per suspect of the page, then a
// footer with "Show N more". Each message is recorded in Redis when sent, so a retried notify
// job or a double click does not post twice, and reactions find their suspect after a restart.
// discord.js queues the requests under each route's rate limit; messages go one at a time.
import type { StoredCleanReport } from '../../core/clean/runClean.js';
import { rememberMessage, currentDecisions } from './decisions.js';
import { DEFAULT_PAGE, pageFooter, suspectBody, suspectImage, summaryMessage } from './views.js';
import type { NotifyHandler } from '../notify.js';
import { postOnce } from '../notify.js';
import { postingChannel } from '../resultPost.js';
import type { BotContext } from '../types.js';

const POSTED_TTL_SECONDS = 7 * 24 * 3600;
const postedKey = (ctx: BotContext, reportId: string, what: string | number) => `${ctx.config.QUEUE_PREFIX}:clean:posted:${reportId}:${what}`;

/** The channel, or the parent of a locked thread, where the summary went too (see postResult). */
async function sendable(ctx: BotContext, channelId: string) {
  const where = await postingChannel(ctx, channelId);
  if (!where) throw new Error(`cannot post in channel ${channelId}`);
  return where.channel;
}

/** Posts suspects offset..offset+count-1 (those not posted yet), then the page footer. */
export async function postPage(ctx: BotContext, channelId: string, report: StoredCleanReport, offset: number, count: number): Promise<void> {
  const channel = await sendable(ctx, channelId);
  const end = Math.min(report.suspects.length, offset + count);
  for (let i = offset; i < end; i++) {
    const key = postedKey(ctx, report.id, i);
    if (await ctx.redis.exists(key)) continue;
    const suspect = report.suspects[i]!;
    const [image, decisions] = await Promise.all([suspectImage(ctx.blobs, suspect, i), currentDecisions(ctx, report, i)]);
    const message = await channel.send({ ...suspectBody(report, i, decisions), files: image ? [image] : [], allowedMentions: { parse: [] } });
    await ctx.redis.set(key, message.id, 'EX', POSTED_TTL_SECONDS);
    await rememberMessage(ctx, message.id, report.id, i);
  }
  const footerKey = postedKey(ctx, report.id, `footer-${end}`);
  // Only when there is more to show: the button is the point of the footer.
  if (end < report.suspects.length && !(await ctx.redis.exists(footerKey))) {
    const footer = await channel.send({ ...pageFooter(report, end, count), allowedMentions: { parse: [] } });
    await ctx.redis.set(footerKey, footer.id, 'EX', POSTED_TTL_SECONDS);
  }
}

/** Claims a page so two clicks on "Show more" post it once; false when it was claimed already. */
export async function claimPage(ctx: BotContext, reportId: string, offset: number): Promise<boolean> {
  return (await ctx.redis.set(postedKey(ctx, reportId, `page-${offset}`), '1', 'EX', POSTED_TTL_SECONDS, 'NX')) === 'OK';
}

export function cleanDoneHandler(): NotifyHandler<'clean-done'> {
  return async (payload, ctx, job) => {
    const report = (await ctx.decisions.loadReport(payload.reportId)) as StoredCleanReport | undefined;
    if (!report) throw new Error(`clean report ${payload.reportId} is gone (expired?)`);
    await postOnce(ctx, job, payload.target.channelId, async () => summaryMessage(report));
    const page = report.page ?? { offset: 0, count: DEFAULT_PAGE };
    await claimPage(ctx, report.id, page.offset);
    await postPage(ctx, payload.target.channelId, report, page.offset, page.count);
  };
}
