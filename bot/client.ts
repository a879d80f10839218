// The discord.js client with the intents and partials Kodiak needs.
import { Client, GatewayIntentBits, Partials, type ClientOptions } from 'discord.js';

/**
 * Message Content is privileged: without it (`messageContent: false`) the bot still gets slash
 * commands, buttons, reactions and messages that mention it, but not the photos people drop.
 */
export function createClient(apiUrl?: string, messageContent = true): Client {
  const options: ClientOptions = {
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.GuildMessageReactions,
      ...(messageContent ? [GatewayIntentBits.MessageContent] : []),
    ],
    // Reactions on messages posted before a restart arrive as partials: the cleaner needs them.
    partials: [Partials.Message, Partials.Channel, Partials.Reaction, Partials.User],
    allowedMentions: { parse: [], repliedUser: false },
  };
  // DISCORD_API_URL points the REST client (and through GET /gateway/bot, the gateway) elsewhere,
  // e.g. at the fake Discord the tests run.
  if (apiUrl) options.rest = { api: apiUrl.replace(/\/$/, '') };
  return new Client(options);
}
