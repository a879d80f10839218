import { EmbedBuilder, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Command } from '../bot/types.js';

export const data = new SlashCommandBuilder().setName('help').setDescription('What Kodiak can do: every command in one line each');

type CommandJson = { name: string; description: string; options?: { type: number; name: string; description: string }[] };
const SUBCOMMAND = 1;

/** One line per command, or per subcommand where a command has them; generated, never hand-kept. */
export function helpLines(commands: Iterable<Command>): string[] {
  const lines: string[] = [];
  for (const command of commands) {
    const json = command.data.toJSON() as CommandJson;
    const subs = (json.options ?? []).filter((o) => o.type === SUBCOMMAND);
    if (subs.length === 0) lines.push(`**/${json.name}**: ${json.description}`);
    for (const sub of subs) lines.push(`**/${json.name} ${sub.name}**: ${sub.description}`);
  }
  return lines.sort();
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const embed = new EmbedBuilder()
    .setTitle('Kodiak: build, clean and use your own image classifier')
    .setDescription(helpLines(ctx.commands.values()).join('\n').slice(0, 4096))
    .setFooter({ text: `Kodiak ${ctx.version}. Start with /train bears.` });
  await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral });
}
