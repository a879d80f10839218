// Posting a job's result where the user asked for it, also when that is a thread Discord no
// longer takes messages in. An archived thread is unarchived by a new message, so that just
// works; a locked one refuses it (160005, or 50083 when also archived) unless the bot has
// Manage Threads. Then the result goes to the thread's parent with a link to the thread: a
// result posted nowhere is a job the user waited for in vain.
import { DiscordAPIError, PermissionFlagsBits, type Message, type MessageCreateOptions, type SendableChannels, type ThreadChannel } from 'discord.js';
import type { BotContext } from './types.js';

/** Discord's code for an edit, deletion or reaction in an archived thread. */
export const THREAD_ARCHIVED = 50083;
/** Discord's code for a message in a locked thread from someone without Manage Threads. */
export const THREAD_LOCKED = 160005;
/** Refusals that the parent channel may not give: the thread's state, or access to it lost. */
const THREAD_REFUSALS = new Set([THREAD_ARCHIVED, THREAD_LOCKED, 50001, 50013]);

/** Discord's JSON error code of a refused request; undefined for network and server errors. */
export function discordCode(err: unknown): number | undefined {
  return err instanceof DiscordAPIError && typeof err.code === 'number' ? err.code : undefined;
}

interface Where {
  channel: SendableChannels;
  /** The thread the result was meant for, when it goes to the parent instead. */
  insteadOf?: string;
}

/** A locked thread takes no messages from the bot unless it has Manage Threads (else 160005). */
export function refusesMessages(channel: ThreadChannel): boolean {
  return channel.locked === true && !channel.permissionsFor(channel.client.user)?.has(PermissionFlagsBits.ManageThreads);
}

/**
 * Where to post in `channelId`: the channel itself, or the parent of a thread the bot knows it
 * may not post in (locked, and no Manage Threads), which saves a request Discord would refuse.
 */
export async function postingChannel(ctx: BotContext, channelId: string): Promise<Where | undefined> {
  const channel = await ctx.client.channels.fetch(channelId);
  if (!channel?.isSendable()) return undefined;
  if (channel.isThread() && refusesMessages(channel)) {
    const parent = channel.parent;
    if (parent?.isSendable()) return { channel: parent, insteadOf: channel.id };
  }
  return { channel };
}

/** The body with a first line saying why it is here and not in the thread. */
function moved(body: MessageCreateOptions, threadId: string): MessageCreateOptions {
  const note = `📌 <#${threadId}> is locked, so this is posted here.`;
  return { ...body, content: (body.content ? `${note}\n${body.content}` : note).slice(0, 2000) };
}

/**
 * Sends a result to `channelId`, or to the parent of a thread that refuses it. Returns undefined
 * when Discord refused it everywhere: that is logged once with `context` and not thrown, since
 * a retry would be refused the same way. Network and server errors are thrown (worth a retry).
 */
export async function postResult(ctx: BotContext, channelId: string, body: MessageCreateOptions, context: Record<string, unknown>): Promise<Message | undefined> {
  const where = await postingChannel(ctx, channelId);
  if (!where) {
    ctx.log.warn({ channelId, ...context }, 'cannot post a result: the channel is gone or takes no messages');
    return undefined;
  }
  const target = where.insteadOf ?? where.channel.id;
  try {
    return await where.channel.send(where.insteadOf ? moved(body, where.insteadOf) : body);
  } catch (err) {
    const code = discordCode(err);
    if (code === undefined) throw err;
    const thread = where.channel;
    const parent = thread.isThread() ? thread.parent : null;
    // The cache did not know yet that the thread is locked (or access to it was lost).
    if (!where.insteadOf && THREAD_REFUSALS.has(code) && parent?.isSendable()) {
      try {
        return await parent.send(moved(body, thread.id));
      } catch (parentErr) {
        if (discordCode(parentErr) === undefined) throw parentErr;
        ctx.log.warn({ err: parentErr, threadErr: err, channelId: target, parentId: parent.id, ...context }, 'Discord refused a result in the thread and in its parent');
        return undefined;
      }
    }
    ctx.log.warn({ err, channelId: target, code, ...context }, 'Discord refused a result message');
    return undefined;
  }
}
