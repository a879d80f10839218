// /cancel: stops a dataset's training, whether it still waits (its collection included) or runs.
import { Job } from 'bullmq';
import { escapeMarkdown, PermissionFlagsBits, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { markCancelled, requestCancel } from '../core/cancel.js';
import { UserError } from '../core/errors.js';
import { latestTrainingJob } from '../core/trainFlow.js';
import type { BotContext } from '../bot/types.js';
import { datasetRefFrom } from './train.js';

/** Changes state: registered with COMMAND_PERMISSION as the default member permission. */
export const mutates = true;

export const data = new SlashCommandBuilder()
  .setName('cancel')
  .setDescription('Stop the training (and collection) of a dataset')
  .addStringOption((o) => o.setName('name').setDescription('Dataset name').setRequired(true).setMaxLength(32));

const FINISHED = new Set(['completed', 'failed', 'unknown']);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetRefFrom(interaction);
  const id = await latestTrainingJob(ctx.redis, ctx.config.QUEUE_PREFIX, dataset);
  const job = id ? await Job.fromId(ctx.queues.train, id) : undefined;
  const state = job ? await job.getState() : 'unknown';
  if (!job || FINISHED.has(state)) throw new UserError(`Nothing is training \`${dataset.name}\` right now.`);
  const owner = (job.data as { target?: { userId?: string } }).target?.userId;
  if (owner !== interaction.user.id && !interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
    throw new UserError('Only the person who started this training, or someone with Manage Server, can cancel it.');
  }
  const by = interaction.user.username;
  const prefix = ctx.config.QUEUE_PREFIX;
  await markCancelled(ctx.redis, prefix, { queue: 'train', jobId: job.id!, by });
  if (state === 'active') {
    await requestCancel(ctx.redis, prefix, { queue: 'train', jobId: job.id!, by });
    await interaction.reply({ content: `Stopping the training of **${escapeMarkdown(dataset.name)}**…`, allowedMentions: { parse: [] } });
    return;
  }
  // Still waiting (for a worker, or for its collection): remove it with its collect children.
  // Children that are downloading right now cannot be removed: stop them, and the mark above
  // makes the training refuse to start when they finish.
  await job.remove({ removeChildren: true }).catch(async () => {
    const { unprocessed = [] } = await job.getDependencies();
    for (const key of unprocessed) await requestCancel(ctx.redis, prefix, { queue: 'collect', jobId: key.split(':').pop()!, by });
  });
  await interaction.reply({ content: `Cancelled the training of **${escapeMarkdown(dataset.name)}** before it started (${by}).`, allowedMentions: { parse: [] } });
}
