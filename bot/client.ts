// The discord.js client with the intents and partials Kodiak needs.
import { Client, GatewayIntentBits, Partials, type ClientOptions } from 'discord.js';

export function createClient(apiUrl?: string): Client {
  const options: ClientOptions = {
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.GuildMessageReactions,
      GatewayIntentBits.MessageContent,
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
