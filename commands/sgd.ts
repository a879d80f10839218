// /sgd: the lesson's gradient descent written by hand, as an animation with a short lesson.
import { AttachmentBuilder, EmbedBuilder, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import pLimit from 'p-limit';
import type { BotContext } from '../bot/types.js';
import { SGD_LIMITS, renderSgdPictures, runSgdLesson, summaryMarkdown, verdictTitle, type SgdRun } from '../core/sgd/index.js';

const GIF_NAME = 'sgd.gif';
const LOSS_NAME = 'sgd-loss.png';

/**
 * One animation at a time per bot process: rendering fills libuv's thread pool, which the bot
 * also needs for files and DNS, and a burst of /sgd would otherwise slow everything at once.
 * The reply is deferred, so waiting here costs the user a few seconds, nothing more.
 */
const renderSlot = pLimit(1);

const VERDICT_COLORS = { converged: 0x2e7d32, diverged: 0xc62828, 'not-converged': 0xef6c00 } as const;

export const data = new SlashCommandBuilder()
  .setName('sgd')
  .setDescription('Watch gradient descent fit a line, step by step (fast.ai lesson 2, part 2)')
  .addNumberOption((o) =>
    o
      .setName('lr')
      .setDescription(`Learning rate: how far each step moves (default ${SGD_LIMITS.lr.default}; try 1.5 to see it diverge)`)
      .setMinValue(SGD_LIMITS.lr.min)
      .setMaxValue(SGD_LIMITS.lr.max),
  )
  .addIntegerOption((o) =>
    o
      .setName('steps')
      .setDescription(`Number of update steps (default ${SGD_LIMITS.steps.default})`)
      .setMinValue(SGD_LIMITS.steps.min)
      .setMaxValue(SGD_LIMITS.steps.max),
  )
  .addIntegerOption((o) =>
    o
      .setName('batch')
      .setDescription('Mini-batch size: points per step (0 or empty = full batch: all points)')
      .setMinValue(SGD_LIMITS.batch.min)
      .setMaxValue(SGD_LIMITS.batch.max),
  )
  .addIntegerOption((o) =>
    o
      .setName('points')
      .setDescription(`How many data points to fit (default ${SGD_LIMITS.points.default})`)
      .setMinValue(SGD_LIMITS.points.min)
      .setMaxValue(SGD_LIMITS.points.max),
  )
  .addIntegerOption((o) =>
    o
      .setName('seed')
      .setDescription(`Random seed for the data and the batches (default ${SGD_LIMITS.seed.default})`)
      .setMinValue(SGD_LIMITS.seed.min)
      .setMaxValue(SGD_LIMITS.seed.max),
  );

function optionsFrom(interaction: ChatInputCommandInteraction) {
  return {
    lr: interaction.options.getNumber('lr') ?? undefined,
    steps: interaction.options.getInteger('steps') ?? undefined,
    batch: interaction.options.getInteger('batch') ?? undefined,
    points: interaction.options.getInteger('points') ?? undefined,
    seed: interaction.options.getInteger('seed') ?? undefined,
  };
}

export function sgdEmbed(run: SgdRun): EmbedBuilder {
  const { options } = run;
  const batch = run.history.batchSize >= options.points ? 'full batch' : `batch ${run.history.batchSize}`;
  return new EmbedBuilder()
    .setTitle(`/sgd: ${verdictTitle(run)}`)
    .setDescription(summaryMarkdown(run).slice(0, 4096))
    .setColor(VERDICT_COLORS[run.verdict.kind])
    .setImage(`attachment://${GIF_NAME}`)
    .setFooter({ text: `lr ${options.lr} · ${options.steps} steps · ${batch} · ${options.points} points · seed ${options.seed}` });
}

export async function execute(interaction: ChatInputCommandInteraction, _ctx: BotContext): Promise<void> {
  // Drawing up to 100 frames can take a few seconds; Discord wants an answer within 3.
  await interaction.deferReply();
  const run = runSgdLesson(optionsFrom(interaction));
  const pictures = await renderSlot(() => renderSgdPictures(run));
  await interaction.editReply({
    embeds: [sgdEmbed(run)],
    files: [
      new AttachmentBuilder(pictures.gif, { name: GIF_NAME, description: 'The fitted line moving over the points, one frame per step' }),
      new AttachmentBuilder(pictures.lossPng, { name: LOSS_NAME, description: 'The loss after every step' }),
    ],
  });
}
