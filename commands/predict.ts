// /predict, and the same for every photo dropped in a channel that has a model in use
// (/model use): the top classes with probabilities, or "not sure" when the model hesitates.
import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction, type Message } from 'discord.js';
import { UserError } from '../core/errors.js';
import { checkRate, classify, imagesOf, predictionText, resolveModel } from '../bot/predictions.js';
import type { BotContext, MessageHandler } from '../bot/types.js';
import { requireGuild } from './train.js';

export const data = new SlashCommandBuilder()
  .setName('predict')
  .setDescription("Classify an image with this channel's model (or the one you name)")
  .addAttachmentOption((o) => o.setName('image').setDescription('A photo (JPEG, PNG, WebP or GIF)').setRequired(true))
  .addStringOption((o) => o.setName('model').setDescription('Dataset whose latest model to use (default: this channel’s)').setMaxLength(32));

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = requireGuild(interaction);
  const attachment = interaction.options.getAttachment('image', true);
  const { images, refused } = imagesOf([attachment], '', ctx.config.PREDICT_MAX_BYTES);
  if (!images.length) throw new UserError(refused[0] ?? 'That is not an image I can read.');
  const model = await resolveModel(ctx, guildId, interaction.channelId, interaction.options.getString('model') ?? undefined);
  await checkRate(ctx, interaction.user.id, images.length);
  await interaction.deferReply();
  const result = await classify(ctx, model, images);
  await interaction.editReply({ content: predictionText(result), allowedMentions: { parse: [] } });
}

/** Photos dropped in a channel with an active model. Other messages pass through untouched. */
export const onDroppedPhotos: MessageHandler = async (message: Message, ctx: BotContext) => {
  if (!message.inGuild() || (message.attachments.size === 0 && !/https?:\/\//.test(message.content))) return false;
  const active = await ctx.models.getActive(message.guildId, message.channelId);
  if (!active) return false;
  const { images, refused } = imagesOf(message.attachments.values(), message.content, ctx.config.PREDICT_MAX_BYTES);
  if (!images.length && !refused.length) return false;
  const reply = (content: string) => message.reply({ content, allowedMentions: { parse: [], repliedUser: false } });
  if (!images.length) {
    await reply(refused.join('\n').slice(0, 2000));
    return true;
  }
  try {
    await checkRate(ctx, message.author.id, images.length);
    const result = await classify(ctx, { dataset: active.dataset, version: active.version }, images);
    await reply(predictionText(result, refused));
  } catch (err) {
    if (err instanceof UserError) await reply(`⚠️ ${err.message}`);
    else {
      ctx.log.error({ err, message: message.id, channel: message.channelId }, 'could not classify a dropped photo');
      await reply('💥 I could not classify that right now; it has been logged.');
    }
  }
  return true;
};

export const messages = [onDroppedPhotos];
