// /clean: let the model point at what looks wrong in a dataset (label errors, duplicates,
// outliers, poor images). A clean job runs on the workers; its progress shows in one channel
// message and the bot posts the suspects with buttons and reactions (bot/clean/posting.ts).
import { escapeMarkdown, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { UserError } from '../core/errors.js';
import { cleanKind, jobId, type CleanPayload } from '../core/jobs.js';
import { cleanComponents, cleanReactions } from '../bot/clean/handlers.js';
import { CLEAN_COMMAND_JOB, cleanProgressBody, DEFAULT_PAGE } from '../bot/clean/views.js';
import { requireChannelPermissions } from '../bot/permissions.js';
import type { BotContext } from '../bot/types.js';
import { datasetRefFrom } from './train.js';

const KIND_NAMES: Record<CleanPayload['kind'], string> = {
  all: 'everything',
  labels: 'label errors',
  // Leaks are near-duplicates too: the same check finds both.
  duplicates: 'duplicates (also across training and validation)',
  outliers: 'outliers',
  quality: 'image quality',
};

/** Changes state: registered with COMMAND_PERMISSION as the default member permission. */
export const mutates = true;

export const data = new SlashCommandBuilder()
  .setName('clean')
  .setDescription('Find mislabelled, duplicate and odd images in a dataset; fix them with a click')
  .addStringOption((o) => o.setName('name').setDescription('Dataset name').setRequired(true).setMaxLength(32))
  .addStringOption((o) =>
    o
      .setName('kind')
      .setDescription('What to look for (default: everything)')
      .addChoices(...cleanKind.options.map((k) => ({ name: KIND_NAMES[k], value: k }))),
  )
  .addIntegerOption((o) => o.setName('count').setDescription(`Suspects per page (default ${DEFAULT_PAGE})`).setMinValue(1).setMaxValue(25));

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetRefFrom(interaction);
  // The suspects are posted here with their images: refuse before anything is queued.
  requireChannelPermissions(interaction);
  const meta = await ctx.datasets.get(dataset);
  if (!meta) throw new UserError(`There is no dataset called \`${dataset.name}\`: /train ${dataset.name} creates one.`);
  const kind = (interaction.options.getString('kind') ?? 'all') as CleanPayload['kind'];
  const count = interaction.options.getInteger('count') ?? DEFAULT_PAGE;
  await interaction.deferReply();
  const channel = await ctx.client.channels.fetch(interaction.channelId);
  if (!channel?.isSendable()) throw new UserError('I cannot post in this channel: give me Send Messages here, or use another channel.');
  const progress = await channel.send({ ...cleanProgressBody(dataset.name), allowedMentions: { parse: [] } });
  const payload: CleanPayload = { dataset, kind, count, offset: 0, target: { channelId: channel.id, progressMessageId: progress.id, userId: interaction.user.id } };
  await ctx.queues.clean.add(CLEAN_COMMAND_JOB, payload, { jobId: jobId('clean', dataset.guildId, dataset.name, interaction.id) });
  await interaction.editReply({
    content: `Looking for ${KIND_NAMES[kind]} in **${escapeMarkdown(dataset.name)}** (${meta.classes.length} classes). Progress: ${progress.url}\nThe suspects will be posted here, ${count} at a time.`,
    allowedMentions: { parse: [] },
  });
}

export const components = [cleanComponents];
export const reactions = [cleanReactions];
