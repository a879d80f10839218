// Starts the Discord side of Kodiak: client, commands, router, notify consumer, progress edits.
import { Events, type Client } from 'discord.js';
import type { Worker } from 'bullmq';
import { createQueues, type Queues } from '../core/queues.js';
import { interactiveConnection } from '../core/redis.js';
import { createServices, type Services } from '../core/services.js';
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

export const DISALLOWED_INTENT_MESSAGE = [
  'Discord refused the Message Content intent (gateway close code 4014, "Disallowed intent(s)").',
  'Either switch it on: https://discord.com/developers/applications -> your application -> Bot ->',
  'Privileged Gateway Intents -> "Message Content Intent", then start again;',
  'or set DISCORD_MESSAGE_CONTENT=false: everything but classifying dropped photos works without it.',
].join('\n');

/** Resolves on READY; rejects when the gateway refuses the connection for good (e.g. 4014). */
function readyOrRefused(client: Client): Promise<Client<true>> {
  return new Promise<Client<true>>((resolve, reject) => {
    client.once(Events.ClientReady, resolve);
    client.on(Events.ShardError, (err) => {
      if (/disallowed intents/i.test(err.message)) reject(new Error(DISALLOWED_INTENT_MESSAGE));
    });
  });
}

export async function startBot(services: Services, extraNotify: NotifyHandlers = {}): Promise<RunningBot> {
  const { config, log } = services;
  if (!config.DISCORD_TOKEN) throw new Error(MISSING_TOKEN_MESSAGE);
  const client = createClient(config.DISCORD_API_URL, config.DISCORD_MESSAGE_CONTENT);
  const commands = await loadCommands();
  // Interactions use a connection with a command timeout, so a Redis outage is answered
  // ("storage is unavailable") instead of leaving every interaction to time out.
  const redis = interactiveConnection(services.redis, log);
  const queues: Queues = createQueues(redis, config.QUEUE_PREFIX);
  const ctx: BotContext = { ...services, ...createServices(config, redis, log), client, queues, commands, startedAt: Date.now(), version: VERSION, now: () => Date.now() };
  attachRouter(client, ctx);

  const ready = readyOrRefused(client);
  let readyClient: Client<true>;
  try {
    // Together: a refused login may leave login() pending, and the refusal must still surface.
    [, readyClient] = await Promise.all([client.login(config.DISCORD_TOKEN), ready]);
  } catch (err) {
    await client.destroy();
    await queues.close();
    throw err;
  }
  log.info({ user: readyClient.user.tag, guilds: readyClient.guilds.cache.size }, 'logged in to Discord');
  if (!config.DISCORD_MESSAGE_CONTENT) {
    log.warn('DISCORD_MESSAGE_CONTENT=false: photos dropped in channels are not classified (Discord sends their attachments only with the Message Content intent); commands, buttons and reactions work');
  }
  await registerCommands(readyClient, commands, config.DISCORD_GUILD_ID, log, config.COMMAND_PERMISSION);

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
      redis.disconnect();
    },
  };
}
