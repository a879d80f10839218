// /model: the versions trained for each dataset, which one classifies photos in this channel,
// what a version is, and its export (a zip that loads on its own; see README "Using an exported model").
import { AttachmentBuilder, EmbedBuilder, escapeMarkdown, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { UserError } from '../core/errors.js';
import { exportZip } from '../core/ml/exportZip.js';
import type { ModelMeta } from '../core/ml/models.js';
import { beforeAfter } from '../core/ml/previous.js';
import type { BotContext } from '../bot/types.js';
import { perClassTable } from '../bot/trainReports.js';
import { datasetRefFrom, requireGuild } from './train.js';
import { viewsText } from '../core/ml/views.js';

const UPLOAD_LIMIT = 10 * 1024 * 1024;

/** Changes state: registered with COMMAND_PERMISSION as the default member permission. */
export const mutates = true;

export const data = new SlashCommandBuilder()
  .setName('model')
  .setDescription('Trained models: list, choose the one for this channel, inspect, export')
  .addSubcommand((s) =>
    s
      .setName('list')
      .setDescription('Model versions of a dataset, or the latest of every dataset')
      .addStringOption((o) => o.setName('name').setDescription('Dataset name').setMaxLength(32)),
  )
  .addSubcommand((s) =>
    s
      .setName('use')
      .setDescription('Classify photos posted in this channel with this model')
      .addStringOption((o) => o.setName('name').setDescription('Dataset name').setRequired(true).setMaxLength(32))
      .addIntegerOption((o) => o.setName('version').setDescription('A version to pin (default: always the latest)').setMinValue(1)),
  )
  .addSubcommand((s) =>
    s
      .setName('info')
      .setDescription("A model's classes, backbone and metrics (default: this channel's model)")
      .addStringOption((o) => o.setName('name').setDescription('Dataset name').setMaxLength(32))
      .addIntegerOption((o) => o.setName('version').setDescription('Version (default: latest)').setMinValue(1)),
  )
  .addSubcommand((s) =>
    s
      .setName('export')
      .setDescription('Download a model as a zip that loads with a few lines of tfjs')
      .addStringOption((o) => o.setName('name').setDescription('Dataset name').setRequired(true).setMaxLength(32))
      .addIntegerOption((o) => o.setName('version').setDescription('Version (default: latest)').setMinValue(1)),
  );

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function modelLine(m: ModelMeta): string {
  return `**${escapeMarkdown(m.dataset.name)} v${m.version}**: error rate ${pct(m.metrics.errorRate)}, ${m.classes.length} classes, ${m.metrics.nTrain + m.metrics.nValid} images, ${m.backbone}, <t:${Math.floor(m.createdAt / 1000)}:R>`;
}

async function list(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = requireGuild(interaction);
  const name = interaction.options.getString('name');
  const lines = name
    ? (await ctx.models.list(datasetRefFrom(interaction))).reverse().map(modelLine)
    : (await Promise.all((await ctx.datasets.list(guildId)).map((d) => ctx.models.get({ guildId, name: d.name })))).flatMap((m) => (m ? [modelLine(m)] : []));
  const active = await ctx.models.getActive(guildId, interaction.channelId);
  const footer = active ? `This channel uses ${active.dataset.name}${active.version ? ` v${active.version}` : ' (latest)'}.` : 'No model classifies photos in this channel yet: /model use <name>.';
  const embed = new EmbedBuilder()
    .setTitle(name ? `Models of ${escapeMarkdown(name)}` : 'Models in this server')
    .setDescription((lines.join('\n') || 'None trained yet: try /train bears.').slice(0, 4096))
    .setFooter({ text: footer });
  await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral });
}

async function use(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetRefFrom(interaction);
  const version = interaction.options.getInteger('version') ?? undefined;
  const meta = await ctx.models.get(dataset, version);
  if (!meta) throw new UserError(version ? `\`${dataset.name}\` has no version ${version}: see /model list ${dataset.name}.` : `\`${dataset.name}\` has no trained model yet: /train ${dataset.name}.`);
  await ctx.models.setActive(dataset.guildId, interaction.channelId, { dataset, version, setBy: interaction.user.id });
  await interaction.reply({
    content: `Photos posted in this channel are now classified by **${escapeMarkdown(dataset.name)}** ${version ? `v${version}` : `(latest, now v${meta.version})`}: ${meta.classes.map((c) => escapeMarkdown(c)).join(', ')}.`,
    allowedMentions: { parse: [] },
  });
}

async function info(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = requireGuild(interaction);
  const active = interaction.options.getString('name') ? undefined : await ctx.models.getActive(guildId, interaction.channelId);
  if (!interaction.options.getString('name') && !active) throw new UserError('No model is in use in this channel: name one (`/model info bears`) or pick one with /model use.');
  const dataset = active?.dataset ?? datasetRefFrom(interaction);
  const meta = await ctx.models.require(dataset, interaction.options.getInteger('version') ?? active?.version);
  const embed = new EmbedBuilder()
    .setTitle(`${escapeMarkdown(dataset.name)} v${meta.version}`)
    .setDescription(
      [
        `Error rate **${pct(meta.metrics.errorRate)}** on ${meta.metrics.nValid} validation images (${meta.metrics.nTrain} for training).`,
        meta.previous ? `${beforeAfter(meta.previous, { modelVersion: meta.version, ...meta.metrics })}.` : '',
        perClassTable({ classes: meta.classes, perClass: meta.metrics.perClass }),
        `Backbone \`${meta.backbone}\` (${meta.preprocessing.inputSize} px, features ${meta.preprocessing.featureSize}) trained on ${meta.backend}; ${viewsText(meta.preprocessing.views)}; ${meta.epochs} epochs, lr ${meta.lr}, seed ${meta.seed}; dataset revision ${meta.datasetRevision}.`,
        meta.backboneNote ? `⚠️ ${meta.backboneNote}` : '',
        meta.fineTune ? `Fine-tuning: ${meta.fineTune}` : '',
      ]
        .filter(Boolean)
        .join('\n')
        .slice(0, 4096),
    );
  await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

async function exportModel(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetRefFrom(interaction);
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const { fileName, zip, meta } = await exportZip(ctx.models, dataset, interaction.options.getInteger('version') ?? undefined, { mirrorUrl: ctx.config.MODEL_MIRROR_URL, sha256: ctx.config.BACKBONE_SHA256 });
  if (zip.byteLength > UPLOAD_LIMIT) {
    throw new UserError(`The export is ${(zip.byteLength / 1048576).toFixed(1)} MiB, over Discord's 10 MiB upload limit (it carries its backbone's weights). Export it from the command line: \`kodiak model export ${dataset.name}\`.`);
  }
  await interaction.editReply({
    content: `**${escapeMarkdown(dataset.name)} v${meta.version}**: model.json + weights.bin (the head), backbone/ (its weights: no download needed), classes.json, preprocessing.json and a README with the few lines that load it.`,
    files: [new AttachmentBuilder(Buffer.from(zip), { name: fileName })],
  });
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand();
  if (sub === 'list') return list(interaction, ctx);
  if (sub === 'use') return use(interaction, ctx);
  if (sub === 'info') return info(interaction, ctx);
  return exportModel(interaction, ctx);
}
