// The reply of a command whose work can outlast its interaction token (15 minutes on Discord),
// such as /dataset add on a big list: progress edits at most every 2 s while the token has a
// margin left, then none (an edit after the token died is a 401 that Discord counts towards its
// invalid-request ban); the outcome, or an error, goes to the original reply while the token
// lives, and otherwise to a channel message that mentions the user.
import { randomUUID } from 'node:crypto';
import type { ChatInputCommandInteraction } from 'discord.js';
import { isUserError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { describeInteraction, errorReplyText } from './errors.js';

export const TOKEN_LIFETIME_MS = 15 * 60_000;
/** Stop using the token this long before it dies: an edit in flight must still land. */
export const TOKEN_MARGIN_MS = 60_000;
const EDIT_EVERY_MS = 2_000;
const NO_PINGS = { parse: [] } as const;

/** Whether the interaction's token is still safe to use at `now` (its age comes from its snowflake). */
export function tokenUsable(createdTimestamp: number, now: number): boolean {
  return now - createdTimestamp < TOKEN_LIFETIME_MS - TOKEN_MARGIN_MS;
}

export interface LongReply {
  /** Shows progress in the reply (throttled; nothing once the token is near its end). */
  progress(content: string): void;
  /** The outcome: the original reply, or a channel message once the token is spent. */
  finish(content: string): Promise<void>;
  /** An error during the work, where the user looks: the original reply, or the channel. */
  fail(err: unknown): Promise<void>;
}

export function longReply(interaction: ChatInputCommandInteraction, log: Logger, now: () => number = Date.now): LongReply {
  let last = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  const usable = () => tokenUsable(interaction.createdTimestamp, now());
  const deliver = async (content: string) => {
    // The final word must not be overtaken by a progress edit still on its way.
    await inFlight;
    if (usable()) {
      await interaction.editReply({ content, embeds: [], components: [], files: [], allowedMentions: NO_PINGS });
      return;
    }
    const channel = interaction.channel;
    if (!channel?.isSendable()) throw new Error(`cannot post the outcome of ${interaction.id} in channel ${interaction.channelId}`);
    await channel.send({ content: `<@${interaction.user.id}> ${content}`.slice(0, 2000), allowedMentions: { parse: [], users: [interaction.user.id] } });
  };
  return {
    progress(content) {
      if (now() - last < EDIT_EVERY_MS || !usable()) return;
      last = now();
      inFlight = interaction.editReply({ content, allowedMentions: NO_PINGS }).catch((err: unknown) => log.debug({ err }, 'a progress edit failed'));
    },
    finish: deliver,
    async fail(err) {
      const ref = randomUUID().slice(0, 8);
      if (!isUserError(err)) log.error({ err, ref, ...describeInteraction(interaction) }, 'interaction failed');
      await deliver(errorReplyText(err, ref)).catch((replyErr: unknown) => log.warn({ err: replyErr, ref }, 'could not tell the user about an error'));
    },
  };
}
