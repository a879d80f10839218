// Starts the Discord side of Kodiak: client, commands, router, notify consumer, progress edits.
import { Events, type Client } from 'discord.js';
import type { Worker } from 'bullmq';
import { createQueues, type Queues } from '../core/queues.js';
import type { Services } from '../core/services.js';
import { VERSION } from '../core/version.js';
import { createClient } from './client.js';
import { loadCommands, registerCommands } from './commands.js';
import { startNotifyConsumer, type NotifyHandlers } from './notify.js';
import { attachRouter } from './router.js';
import { ProgressEditor } from './progress.js';
import { notifyHandlers } from './reports.js';
import { closePredictEvents } from './predictions.js';
import { watchProgress } from './watchProgress.js';
import type { BotContext } from './types.js';

export interface RunningBot {
  client: Client<true>;
  ctx: BotContext;
  stop(): Promise<void>;
}

export const MISSING_TOKEN_MESSAGE = [
  'DISCORD_TOKEN is not set, so the bot cannot log in.',
  'Create an application at https://discord.com/developers/applications, add a bot, copy its token',
  'into .env as DISCORD_TOKEN=..., and invite it as README.md ("Create the Discord application") explains.',
].join('\n');

export async function startBot(services: Services, extraNotify: NotifyHandlers = {}): Promise<RunningBot> {
  const { config, log } = services;
  if (!config.DISCORD_TOKEN) throw new Error(MISSING_TOKEN_MESSAGE);
  const client = createClient(config.DISCORD_API_URL);
  const commands = await loadCommands();
  const queues: Queues = createQueues(services.redis, config.QUEUE_PREFIX);
  const ctx: BotContext = { ...services, client, queues, commands, startedAt: Date.now(), version: VERSION };
  attachRouter(client, ctx);

  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(config.DISCORD_TOKEN);
  const readyClient = await ready;
  log.info({ user: readyClient.user.tag, guilds: readyClient.guilds.cache.size }, 'logged in to Discord');
  await registerCommands(readyClient, commands, config.DISCORD_GUILD_ID, log);

  const progress = new ProgressEditor(client, log);
  const stopWatching = watchProgress(ctx, progress);
  const notify: Worker = startNotifyConsumer(ctx, { ...notifyHandlers(progress), ...extraNotify }, config.NOTIFY_CONCURRENCY);

  return {
    client: readyClient,
    ctx,
    async stop() {
      await notify.close();
      await closePredictEvents(ctx);
      await stopWatching();
      progress.stop();
      await queues.close();
      await client.destroy();
    },
  };
}
