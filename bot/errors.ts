// The one place where a thrown error becomes what the user sees and what we log.
import { randomUUID } from 'node:crypto';
import { MessageFlags, type Interaction } from 'discord.js';
import { isStorageError, isUserError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { isStorageUnavailable, STORAGE_UNAVAILABLE } from '../core/redis.js';

/** What the user is told: their own mistake in plain words, or ours with a reference to the log line. */
export function errorReplyText(err: unknown, ref: string): string {
  if (isUserError(err)) return `⚠️ ${err.message}`;
  if (isStorageUnavailable(err)) return `⏳ ${STORAGE_UNAVAILABLE}`;
  if (isStorageError(err)) return `💾 ${err.userMessage} (ref \`${ref}\`).`;
  return `💥 Something went wrong on our side. It has been logged (ref \`${ref}\`); please try again later.`;
}

export function describeInteraction(interaction: Interaction): Record<string, unknown> {
  const base = { interactionId: interaction.id, user: interaction.user.id, guild: interaction.guildId, channel: interaction.channelId };
  if (interaction.isChatInputCommand()) {
    return { ...base, command: interaction.commandName, subcommand: interaction.options.getSubcommand(false), options: interaction.options.data };
  }
  if (interaction.isMessageComponent()) return { ...base, customId: interaction.customId };
  return base;
}

/** Reply ephemerally with the error, whatever state the interaction is in; never throws. */
export async function reportInteractionError(interaction: Interaction, err: unknown, log: Logger): Promise<void> {
  const ref = randomUUID().slice(0, 8);
  if (isStorageUnavailable(err)) log.warn({ err, ref, ...describeInteraction(interaction) }, 'interaction failed: Redis unavailable');
  else if (!isUserError(err)) log.error({ err, ref, ...describeInteraction(interaction) }, 'interaction failed');
  if (!interaction.isRepliable()) return;
  const content = errorReplyText(err, ref);
  try {
    if (interaction.deferred && !interaction.replied) {
      // A deferred reply's visibility was fixed when it was deferred; the error replaces it.
      await interaction.editReply({ content, embeds: [], components: [], files: [] });
    } else if (interaction.replied) {
      await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    } else {
      await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    }
  } catch (replyErr) {
    log.warn({ err: replyErr, ref }, 'could not tell the user about an error');
  }
}
