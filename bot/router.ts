// Routes every Discord event Kodiak listens to: slash commands, buttons and select menus (by
// custom_id prefix), reactions and posted messages. Errors all end in reportInteractionError.
import { Events, type Client, type Interaction, type Message, type MessageReaction, type PartialMessageReaction, type PartialUser, type User } from 'discord.js';
import { reportInteractionError } from './errors.js';
import type { BotContext, ComponentHandler, MessageHandler, ReactionHandler } from './types.js';

export interface Routes {
  components: Map<string, ComponentHandler>;
  reactions: ReactionHandler[];
  messages: MessageHandler[];
}

export function collectRoutes(ctx: Pick<BotContext, 'commands'>): Routes {
  const components = new Map<string, ComponentHandler>();
  const reactions: ReactionHandler[] = [];
  const messages: MessageHandler[] = [];
  for (const command of ctx.commands.values()) {
    for (const handler of command.components ?? []) {
      if (components.has(handler.prefix)) throw new Error(`two handlers claim custom_id prefix '${handler.prefix}'`);
      components.set(handler.prefix, handler);
    }
    reactions.push(...(command.reactions ?? []));
    messages.push(...(command.messages ?? []));
  }
  return { components, reactions, messages };
}

export async function routeInteraction(interaction: Interaction, ctx: BotContext, routes: Routes): Promise<void> {
  // Another bot's clicks and commands decide nothing (app-to-app interactions exist).
  if (interaction.user.bot) return;
  try {
    if (interaction.isChatInputCommand()) {
      const command = ctx.commands.get(interaction.commandName);
      if (!command) throw new Error(`no handler for /${interaction.commandName}`);
      await command.execute(interaction, ctx);
    } else if (interaction.isAutocomplete()) {
      await ctx.commands.get(interaction.commandName)?.autocomplete?.(interaction, ctx);
    } else if (interaction.isButton() || interaction.isStringSelectMenu() || (interaction.isModalSubmit() && interaction.isFromMessage())) {
      const [prefix = '', ...args] = interaction.customId.split(':');
      const handler = routes.components.get(prefix);
      if (!handler) throw new Error(`no handler for custom_id '${interaction.customId}'`);
      await handler.handle(interaction, args, ctx);
    }
  } catch (err) {
    await reportInteractionError(interaction, err, ctx.log);
  }
}

/**
 * Reactions are decided from the event and Redis alone: handlers look the message id up in
 * their own map before any REST call, so reactions on anyone's messages (and on messages from
 * before a restart, which arrive as partials) cost no API request, and no 403 where the bot may
 * not read history. Bots' reactions (the bot's own included) decide nothing.
 */
async function routeReaction(reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser, ctx: BotContext, routes: Routes): Promise<void> {
  if (user.id === ctx.client.user?.id || user.bot) return;
  try {
    for (const handler of routes.reactions) if (await handler(reaction, user, ctx)) return;
  } catch (err) {
    ctx.log.error({ err, message: reaction.message.id, emoji: reaction.emoji.name, user: user.id }, 'reaction handler failed');
  }
}

async function routeMessage(message: Message, ctx: BotContext, routes: Routes): Promise<void> {
  if (message.author.bot || !message.inGuild()) return;
  try {
    for (const handler of routes.messages) if (await handler(message, ctx)) return;
  } catch (err) {
    ctx.log.error({ err, message: message.id, channel: message.channelId, user: message.author.id }, 'message handler failed');
  }
}

export function attachRouter(client: Client, ctx: BotContext): Routes {
  const routes = collectRoutes(ctx);
  client.on(Events.InteractionCreate, (i) => void routeInteraction(i, ctx, routes));
  client.on(Events.MessageReactionAdd, (r, u) => void routeReaction(r, u, ctx, routes));
  client.on(Events.MessageCreate, (m) => void routeMessage(m, ctx, routes));
  client.on(Events.Error, (err) => ctx.log.error({ err }, 'discord client error'));
  client.on(Events.Warn, (msg) => ctx.log.warn({ msg }, 'discord client warning'));
  return routes;
}
