// /dataset: create a dataset, fill it from image search or with your own images, look at it,
// export it, delete it. A dataset belongs to the server (guild) it was created in.
import {
  AttachmentBuilder,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  escapeMarkdown,
  type Attachment,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type SendableChannels,
} from 'discord.js';
import { collectTitle, initialProgress, startTracking } from '../bot/collectReports.js';
import { addPayloadFor, channelImageUrls, planAttachments, runAddJob, type AddPlan } from '../bot/datasetAttachments.js';
import {
  CONTACT_SHEET_NAME,
  DELETE_PREFIX,
  addSummaryText,
  createdText,
  datasetListText,
  datasetShowEmbed,
  deleteButtons,
  deletePromptText,
  exportTooLargeText,
  mergeAddSummaries,
} from '../bot/datasetViews.js';
import { progressBar } from '../bot/progress.js';
import { longReply } from '../bot/longReply.js';
import { requireChannelPermissions } from '../bot/permissions.js';
import type { BotContext, ComponentHandler } from '../bot/types.js';
import { renderContactSheet } from '../core/collect/contactSheet.js';
import { sweepFilesInBackground } from '../core/store/gc.js';
import { exportDataset } from '../core/collect/export.js';
import { loadCollectReport } from '../core/collect/providerReport.js';
import { addCollectFlow } from '../core/collectFlow.js';
import { SEARCH_PROVIDER_IDS } from '../core/config.js';
import { UserError } from '../core/errors.js';
import type { CollectPayload, CollectProgress, DatasetRef } from '../core/jobs.js';
import { admitRun, checkDatasetRoom, releaseRun, startRun } from '../core/quotas.js';
import { parseClassList } from '../core/store/classNames.js';
import type { DatasetMeta } from '../core/store/types.js';
import { deleteDataset } from '../core/services.js';

export const DEFAULT_PER_CLASS = 100;
const FILE_OPTIONS = ['file', 'file2', 'file3', 'file4'] as const;
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;
/** Zip overhead on top of the image bytes, for the size estimate before building the zip. */
const ZIP_OVERHEAD_PER_FILE = 200;
const NO_PINGS = { parse: [] } as const;

const nameOption = (o: import('discord.js').SlashCommandStringOption, what: string) =>
  o.setName('name').setDescription(what).setRequired(true).setMaxLength(32).setAutocomplete(true);

/** Changes state: registered with COMMAND_PERMISSION as the default member permission. */
export const mutates = true;

export const data = new SlashCommandBuilder()
  .setName('dataset')
  .setDescription('Build an image dataset: create it, collect images, add your own, show, export, delete')
  .addSubcommand((s) =>
    s
      .setName('create')
      .setDescription('Create a dataset with its classes')
      .addStringOption((o) => o.setName('name').setDescription('1-32 lowercase letters, digits, - or _ (e.g. bears)').setRequired(true).setMaxLength(32))
      .addStringOption((o) => o.setName('classes').setDescription('Class names separated by commas, e.g. grizzly bear, black bear, teddy bear').setRequired(true).setMaxLength(2000)),
  )
  .addSubcommand((s) =>
    s
      .setName('collect')
      .setDescription('Fill every class with images from image search')
      .addStringOption((o) => nameOption(o, 'The dataset to fill'))
      .addIntegerOption((o) => o.setName('images').setDescription(`Images wanted per class, counting those already there (default ${DEFAULT_PER_CLASS})`).setMinValue(1).setMaxValue(1000))
      .addStringOption((o) =>
        o
          .setName('source')
          .setDescription('Where to search (default: every configured provider in turn)')
          .addChoices({ name: 'search (all providers in turn)', value: 'search' }, ...SEARCH_PROVIDER_IDS.map((id) => ({ name: id, value: id }))),
      ),
  )
  .addSubcommand((s) => {
    s.setName('add')
      .setDescription('Add your own images: image files, a .csv/.txt list of image URLs, or a .zip')
      .addStringOption((o) => nameOption(o, 'The dataset to add to'))
      .addStringOption((o) => o.setName('class').setDescription('The class of these images (a .zip of class folders can leave it out)').setMaxLength(100).setAutocomplete(true))
      .addAttachmentOption((o) => o.setName('file').setDescription('Images, a URL list (.csv/.txt) or a .zip (of images, or of class folders)'));
    for (const name of FILE_OPTIONS.slice(1)) s.addAttachmentOption((o) => o.setName(name).setDescription('Another file'));
    return s.addIntegerOption((o) => o.setName('recent').setDescription('Also take the images posted in the last N messages of this channel').setMinValue(1).setMaxValue(100));
  })
  .addSubcommand((s) => s.setName('show').setDescription('Counts per class and split, rejections, sources, licences and sample images').addStringOption((o) => nameOption(o, 'The dataset to show')))
  .addSubcommand((s) => s.setName('list').setDescription("This server's datasets"))
  .addSubcommand((s) => s.setName('export').setDescription('Download the dataset as a zip: class folders, labels.csv, attribution.csv').addStringOption((o) => nameOption(o, 'The dataset to export')))
  .addSubcommand((s) => s.setName('delete').setDescription('Delete a dataset (asks to confirm)').addStringOption((o) => nameOption(o, 'The dataset to delete')));

function guildOf(interaction: { guildId: string | null }): string {
  if (!interaction.guildId) throw new UserError('Datasets belong to a server: use /dataset in a server channel, not in direct messages.');
  return interaction.guildId;
}

/** The dataset the `name` option names, in this server. Names are lowercase; typing `Bears` finds `bears`. */
function datasetOf(interaction: ChatInputCommandInteraction): DatasetRef {
  return { guildId: guildOf(interaction), name: interaction.options.getString('name', true).trim().toLowerCase() };
}

const bold = (s: string) => `**${escapeMarkdown(s)}**`;

async function create(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const ref = datasetOf(interaction);
  const asked = parseClassList(interaction.options.getString('classes', true));
  const meta = await ctx.datasets.create(ref, asked, interaction.user.id);
  await interaction.reply({ content: createdText(meta, asked), allowedMentions: NO_PINGS });
}

async function sendableChannel(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<SendableChannels> {
  const channel = interaction.channel ?? (await ctx.client.channels.fetch(interaction.channelId));
  if (!channel?.isSendable()) throw new UserError('I cannot use this channel; run /dataset in a channel where I can read and send messages.');
  return channel;
}

async function collect(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetOf(interaction);
  const count = interaction.options.getInteger('images') ?? DEFAULT_PER_CLASS;
  const source = (interaction.options.getString('source') ?? 'search') as CollectPayload['source'];
  requireChannelPermissions(interaction);
  const meta = await ctx.datasets.require(dataset);
  checkDatasetRoom(ctx.config, 0, meta.classes.length * count, `${meta.classes.length} classes x ${count} images`);
  const run = { action: 'collect' as const, guildId: dataset.guildId, userId: interaction.user.id, runId: interaction.id };
  await startRun(ctx, run, (lease) => startCollection(interaction, ctx, { dataset, meta, count, source, lease }));
}

interface CollectStart {
  dataset: DatasetRef;
  meta: DatasetMeta;
  count: number;
  source: CollectPayload['source'];
  lease: string;
}

async function startCollection(interaction: ChatInputCommandInteraction, ctx: BotContext, { dataset, meta, count, source, lease }: CollectStart): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const channel = await sendableChannel(interaction, ctx);
  const footer = `Asked by ${interaction.user.username} · ${count} per class · source: ${source}`;
  // A channel message, not the interaction reply: an interaction token dies after 15 minutes.
  const message = await channel.send({ embeds: initialProgress(dataset, meta.classes, count, footer).embeds ?? [], allowedMentions: NO_PINGS });
  const target = { channelId: message.channelId, progressMessageId: message.id, userId: interaction.user.id };
  startTracking(target, dataset, meta.classes, count, footer);
  try {
    await addCollectFlow(ctx.redis, ctx.config.QUEUE_PREFIX, { dataset, classes: meta.classes, count, source, target, runId: interaction.id, lease });
  } catch (err) {
    await message.edit({ content: `⚠️ ${collectTitle(dataset)}: could not be started.`, embeds: [] }).catch(() => undefined);
    throw err;
  }
  await interaction.editReply({
    content: `Collecting up to ${count} images per class for ${bold(dataset.name)} (${meta.classes.length} classes). Progress: ${message.url}`,
    allowedMentions: NO_PINGS,
  });
}

async function add(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetOf(interaction);
  const className = interaction.options.getString('class')?.trim() || undefined;
  const files = FILE_OPTIONS.map((n) => interaction.options.getAttachment(n)).filter((a): a is Attachment => !!a);
  const recent = interaction.options.getInteger('recent');
  // Reading history needs Read Message History; a summary after the token died goes to the channel.
  requireChannelPermissions(interaction, recent ? ['ViewChannel', 'SendMessages', 'ReadMessageHistory'] : ['ViewChannel', 'SendMessages']);
  await ctx.datasets.require(dataset);
  // Without `recent` everything can be checked now, so a refusal (a wrong file, a quota) is private.
  const early = recent ? undefined : await admitAdd(interaction, ctx, dataset, className, planAttachments(files, className));
  // With `recent` the images are known only after reading history, but the run's quota is not
  // about them: it is checked now, privately too, and its place given back if the rest fails.
  const lease = recent ? await admitRun(ctx, addRunOf(interaction, dataset)) : undefined;
  // Acknowledge before the history request: a slow or rate-limited route must not cost the 3-second window.
  await interaction.deferReply();
  const reply = longReply(interaction, ctx.log, () => ctx.now());
  try {
    const payload = early ?? (await payloadFromHistory(interaction, ctx, dataset, className, files, recent!, lease!));
    const summaries = await runAddJob(ctx, payload, interaction.id, (p) => reply.progress(addProgressText(dataset.name, p)));
    await reply.finish(addSummaryText(dataset.name, mergeAddSummaries(summaries)));
  } catch (err) {
    // After a progress edit discord.js would send this as an ephemeral follow-up, leaving the
    // public reply on its last percentage: the error replaces the reply instead.
    await reply.fail(err);
  }
}

async function recentImages(interaction: ChatInputCommandInteraction, ctx: BotContext, recent: number): Promise<string[]> {
  const posted = channelImageUrls(await (await sendableChannel(interaction, ctx)).messages.fetch({ limit: recent }), ctx.client.user?.id);
  if (posted.length === 0) throw new UserError(`no images in the last ${recent} messages of this channel`);
  return posted;
}

const addRunOf = (interaction: ChatInputCommandInteraction, dataset: DatasetRef) => ({ action: 'add' as const, guildId: dataset.guildId, userId: interaction.user.id, runId: interaction.id });

async function checkAddRoom(ctx: BotContext, dataset: DatasetRef, plan: AddPlan): Promise<void> {
  const adding = plan.images.length + plan.channelImages.length;
  checkDatasetRoom(ctx.config, await ctx.datasets.imageCount(dataset), adding, `adding ${adding} images`);
}

/** Room in the dataset (from its counters) and a place among the server's runs; the lease goes with the job. */
async function admitAdd(interaction: ChatInputCommandInteraction, ctx: BotContext, dataset: DatasetRef, className: string | undefined, plan: AddPlan) {
  await checkAddRoom(ctx, dataset, plan);
  return startRun(ctx, addRunOf(interaction, dataset), async (lease) => addPayloadFor(plan, dataset, className, lease));
}

/** The images of the channel's last `recent` messages, for a run admitted already (`lease`, given back on failure). */
async function payloadFromHistory(interaction: ChatInputCommandInteraction, ctx: BotContext, dataset: DatasetRef, className: string | undefined, files: Attachment[], recent: number, lease: string) {
  try {
    const plan = planAttachments(files, className, await recentImages(interaction, ctx, recent));
    await checkAddRoom(ctx, dataset, plan);
    return addPayloadFor(plan, dataset, className, lease);
  } catch (err) {
    await releaseRun(ctx, dataset.guildId, lease);
    throw err;
  }
}

function addProgressText(name: string, p: CollectProgress): string {
  const failed = Object.values(p.failed).reduce((a, b) => a + b, 0);
  const done = p.kept + p.duplicates + failed;
  return `Adding to ${bold(name)}: \`${progressBar(done, p.wanted)}\` ${done}/${p.wanted} files looked at, ${p.kept} added`;
}

async function show(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetOf(interaction);
  // Checked before deferring, so a wrong name gets an error only the user sees.
  const meta = await ctx.datasets.require(dataset);
  await interaction.deferReply();
  const items = await ctx.datasets.items(dataset);
  const sheet = items.length ? await renderContactSheet(ctx, dataset) : undefined;
  const fits = sheet !== undefined && sheet.length <= (interaction.attachmentSizeLimit || DEFAULT_UPLOAD_LIMIT);
  await interaction.editReply({
    embeds: [datasetShowEmbed(meta, items, { image: fits, collection: await loadCollectReport(ctx.redis, ctx.config.QUEUE_PREFIX, meta) })],
    files: fits ? [new AttachmentBuilder(sheet, { name: CONTACT_SHEET_NAME, description: `Sample images of each class of ${meta.name}` })] : [],
    allowedMentions: NO_PINGS,
  });
}

async function list(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildOf(interaction);
  await interaction.deferReply();
  const metas = (await ctx.datasets.list(guildId)).slice(0, 50);
  // Counters, not a read of every item: 10 datasets of 30k images took 3 s that way.
  const entries = await Promise.all(metas.map(async (meta) => ({ meta, images: await ctx.datasets.imageCount(meta) })));
  await interaction.editReply({ content: datasetListText(entries), allowedMentions: NO_PINGS });
}

async function exportZip(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetOf(interaction);
  await ctx.datasets.require(dataset);
  const items = await ctx.datasets.items(dataset);
  if (items.length === 0) throw new UserError(`\`${dataset.name}\` has no images yet; /dataset collect or /dataset add fills it`);
  await interaction.deferReply();
  const limit = interaction.attachmentSizeLimit || DEFAULT_UPLOAD_LIMIT;
  // Estimate first, so a dataset far over the limit is not zipped in memory for nothing.
  const estimate = items.reduce((n, i) => n + i.bytes + ZIP_OVERHEAD_PER_FILE, 0);
  if (estimate > limit) {
    await interaction.editReply({ content: exportTooLargeText(dataset.name, dataset.guildId, estimate, limit), allowedMentions: NO_PINGS });
    return;
  }
  const zip = Buffer.from(await exportDataset(ctx, dataset));
  if (zip.length > limit) {
    await interaction.editReply({ content: exportTooLargeText(dataset.name, dataset.guildId, zip.length, limit), allowedMentions: NO_PINGS });
    return;
  }
  await interaction.editReply({
    content: `${bold(dataset.name)}: ${items.length} images in class folders, with labels.csv (label and split) and attribution.csv (source, creator, licence).`,
    files: [new AttachmentBuilder(zip, { name: `${dataset.name}.zip` })],
    allowedMentions: NO_PINGS,
  });
}

function mayManage(interaction: { user: { id: string }; memberPermissions: { has(p: bigint): boolean } | null }, ownerId: string): boolean {
  return interaction.user.id === ownerId || (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false);
}

async function remove(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const dataset = datasetOf(interaction);
  const meta = await ctx.datasets.require(dataset);
  if (!mayManage(interaction, meta.createdBy)) throw new UserError(`only the person who created ${bold(meta.name)} or someone with Manage Server can delete it`);
  const items = await ctx.datasets.items(dataset);
  await interaction.reply({ content: deletePromptText(meta.name, items.length), components: [deleteButtons(dataset.guildId, dataset.name, interaction.user.id)], allowedMentions: NO_PINGS });
}

/** The Delete / Cancel buttons: `dsdel:<yes|no>:<guild>:<name>:<requester>`. */
const deleteHandler: ComponentHandler = {
  prefix: DELETE_PREFIX,
  async handle(interaction, [action, guildId, name, requesterId], ctx) {
    if (!interaction.isButton() || !guildId || !name || !requesterId) throw new Error(`malformed custom_id ${interaction.customId}`);
    if (interaction.guildId !== guildId) throw new UserError('this button belongs to another server');
    if (!mayManage(interaction, requesterId)) throw new UserError('only the person who asked for this or someone with Manage Server can answer it');
    if (action === 'no') {
      await interaction.update({ content: `Kept ${bold(name)}: nothing was deleted.`, components: [], allowedMentions: NO_PINGS });
      return;
    }
    const dataset = { guildId, name };
    const meta = await ctx.datasets.get(dataset);
    if (!meta) {
      await interaction.update({ content: `${bold(name)} was already deleted.`, components: [], allowedMentions: NO_PINGS });
      return;
    }
    await deleteDataset(ctx, dataset);
    sweepFilesInBackground(ctx, `deleted ${guildId}/${name}`);
    await interaction.update({ content: `🗑️ Deleted dataset ${bold(name)}, confirmed by <@${interaction.user.id}>.`, components: [], allowedMentions: NO_PINGS });
  },
};

export const components: ComponentHandler[] = [deleteHandler];

const SUBCOMMANDS: Record<string, (i: ChatInputCommandInteraction, ctx: BotContext) => Promise<void>> = {
  create,
  collect,
  add,
  show,
  list,
  export: exportZip,
  delete: remove,
};

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const run = SUBCOMMANDS[interaction.options.getSubcommand(true)];
  if (!run) throw new Error(`unknown /dataset subcommand ${interaction.options.getSubcommand(true)}`);
  await run(interaction, ctx);
}

/** Dataset names of this server, and the classes of the named dataset for `class`. */
export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.guildId) return interaction.respond([]);
  const focused = interaction.options.getFocused(true);
  const typed = String(focused.value).trim().toLowerCase();
  let names: string[] = [];
  if (focused.name === 'name') {
    names = (await ctx.datasets.list(interaction.guildId)).map((m) => m.name);
  } else if (focused.name === 'class') {
    const name = interaction.options.getString('name')?.trim().toLowerCase();
    const meta = name ? await ctx.datasets.get({ guildId: interaction.guildId, name }).catch(() => undefined) : undefined;
    names = meta?.classes ?? [];
  }
  const matches = names.filter((n) => n.toLowerCase().includes(typed)).slice(0, 25);
  await interaction.respond(matches.map((n) => ({ name: n.slice(0, 100), value: n.slice(0, 100) })));
}
