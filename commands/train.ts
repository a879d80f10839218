// /train: the one command a user needs. A dataset that does not exist yet is created (from a
// preset such as `bears`, or the classes given) and collected first, as one BullMQ flow; an
// existing one is retrained on its current labels. Progress shows in one channel message.
import { escapeMarkdown, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { UserError } from '../core/errors.js';
import { DATASET_NAME, type DatasetRef } from '../core/jobs.js';
import { BACKBONES } from '../core/ml/backbones/registry.js';
import { checkDatasetRoom, startRun } from '../core/quotas.js';
import { parseClassList } from '../core/store/classNames.js';
import type { DatasetMeta } from '../core/store/types.js';
import { enqueueTraining, PRESETS } from '../core/trainFlow.js';
import { initialProgress, startTracking } from '../bot/collectReports.js';
import { renderProgress } from '../bot/progressView.js';
import { requireChannelPermissions } from '../bot/permissions.js';
import type { BotContext } from '../bot/types.js';

export const DEFAULT_IMAGES_PER_CLASS = 60;

/** Changes state: registered with COMMAND_PERMISSION as the default member permission. */
export const mutates = true;

export const data = new SlashCommandBuilder()
  .setName('train')
  .setDescription('Train a classifier: collects images first if the dataset is new (try: /train bears)')
  .addStringOption((o) => o.setName('name').setDescription(`Dataset name; presets: ${Object.keys(PRESETS).join(', ')}`).setRequired(true).setMaxLength(32))
  .addStringOption((o) => o.setName('classes').setDescription('Comma-separated classes for a new dataset, e.g. "grizzly bear, black bear"').setMaxLength(1000))
  .addIntegerOption((o) => o.setName('images').setDescription(`Images per class to collect (default ${DEFAULT_IMAGES_PER_CLASS} for a new dataset)`).setMinValue(10).setMaxValue(300))
  .addIntegerOption((o) => o.setName('epochs').setDescription('Passes over the training images (default 20)').setMinValue(1).setMaxValue(200))
  .addNumberOption((o) => o.setName('lr').setDescription('Peak learning rate of the one-cycle schedule (default 0.003)').setMinValue(1e-6).setMaxValue(1))
  .addStringOption((o) =>
    o
      .setName('backbone')
      .setDescription('Feature extractor (default: ImageNet MobileNetV2-0.35)')
      .addChoices(...Object.keys(BACKBONES).map((id) => ({ name: id, value: id }))),
  );

export function requireGuild(interaction: ChatInputCommandInteraction): string {
  if (!interaction.guildId) throw new UserError('Kodiak works in servers, not in direct messages.');
  return interaction.guildId;
}

export function datasetRefFrom(interaction: ChatInputCommandInteraction, option = 'name'): DatasetRef {
  const name = interaction.options.getString(option, true).trim().toLowerCase();
  if (!DATASET_NAME.test(name)) throw new UserError('Dataset names are 1-32 lowercase letters, digits, - or _ (e.g. `bears`).');
  return { guildId: requireGuild(interaction), name };
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetRefFrom(interaction);
  // Before anything is created: a channel the bot cannot post in gets an answer naming what is missing.
  requireChannelPermissions(interaction);
  const classesOption = interaction.options.getString('classes');
  const images = interaction.options.getInteger('images') ?? undefined;

  // Everything that can refuse the request comes before the (public) deferred reply, so the
  // refusal is an ephemeral message only the member sees.
  const existing = await ctx.datasets.get(dataset);
  const classes = existing?.classes ?? (classesOption ? parseClassList(classesOption) : [...(PRESETS[dataset.name] ?? [])]);
  if (!existing && classes.length < 2) {
    throw new UserError(`There is no dataset called \`${dataset.name}\` yet. Give it at least two classes: \`/train ${dataset.name} classes: cat, dog\` (or use a preset: ${Object.keys(PRESETS).join(', ')}).`);
  }
  if (existing && classesOption) {
    throw new UserError(`\`${dataset.name}\` exists already with classes ${existing.classes.join(', ')}. Use /dataset to change it, or train without \`classes\`.`);
  }
  // A dataset with no images yet (created by /dataset create, or left empty) is collected first.
  const empty = !existing || (await ctx.datasets.imageCount(dataset)) === 0;
  const collectCount = empty ? (images ?? DEFAULT_IMAGES_PER_CLASS) : images;
  if (collectCount) checkDatasetRoom(ctx.config, 0, classes.length * collectCount, `${classes.length} classes x ${collectCount} images`);
  const run = { action: 'train' as const, guildId: dataset.guildId, userId: interaction.user.id, runId: interaction.id };
  await startRun(ctx, run, (lease) => start(interaction, ctx, { dataset, existing, classes, collectCount, empty, lease }));
}

interface Start {
  dataset: DatasetRef;
  existing?: DatasetMeta;
  classes: string[];
  collectCount?: number;
  /** The dataset has no images yet: it is collected first. */
  empty: boolean;
  lease: string;
}

async function start(interaction: ChatInputCommandInteraction, ctx: BotContext, { dataset, existing, classes, collectCount, empty, lease }: Start): Promise<void> {
  await interaction.deferReply();
  const created = !existing;
  const meta = existing ?? (await ctx.datasets.create(dataset, classes, interaction.user.id));

  const channel = await ctx.client.channels.fetch(interaction.channelId);
  if (!channel?.isSendable()) throw new UserError('I cannot post in this channel: give me Send Messages here, or use another channel.');
  const title = `Training ${escapeMarkdown(dataset.name)}`;
  const progressMessage = collectCount
    ? await channel.send({ ...initialProgress(dataset, meta.classes, collectCount), allowedMentions: { parse: [] } })
    : await channel.send({ ...renderProgress({ title, collect: new Map(), train: { stage: 'waiting', done: 0, total: 0 } }), allowedMentions: { parse: [] } });
  const target = { channelId: channel.id, progressMessageId: progressMessage.id, userId: interaction.user.id };
  if (collectCount) startTracking(target, dataset, meta.classes, collectCount);

  await enqueueTraining(ctx.redis, ctx.config.QUEUE_PREFIX, ctx.queues, {
    train: {
      dataset,
      epochs: interaction.options.getInteger('epochs') ?? undefined,
      lr: interaction.options.getNumber('lr') ?? undefined,
      backbone: interaction.options.getString('backbone') ?? undefined,
      target,
      lease,
    },
    collect: collectCount ? { classes: meta.classes, count: collectCount } : undefined,
    runId: interaction.id,
  });

  const what = created || empty
    ? `${created ? 'Created' : 'Filling'} **${escapeMarkdown(dataset.name)}** (${meta.classes.map((c) => escapeMarkdown(c)).join(', ')}); collecting ${collectCount} images per class, then training.`
    : collectCount
      ? `Topping **${escapeMarkdown(dataset.name)}** up to ${collectCount} images per class, then retraining.`
      : `Retraining **${escapeMarkdown(dataset.name)}** on its current labels.`;
  await interaction.editReply({ content: `${what} Progress: ${progressMessage.url}\n\`/cancel ${dataset.name}\` stops it.`, allowedMentions: { parse: [] } });
}
