// The playground: Kodiak's default when there is no Discord token. It starts the project's
// Discord-compatible server on loopback with one guild and two channels, restores what it
// saved under DATA_DIR/playground, serves the web page that shows the channel, and returns
// what the bot needs to log in (token, API URL, guild id) as it would on Discord.
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { startFakeDiscord, type FakeDiscord } from './server/index.js';
import { PlaygroundStore } from './store.js';
import { attachPage } from './page/index.js';
import { probeSearch, type SearchStatus } from './search-status.js';

export const PLAYGROUND_GUILD = 'Playground';
export const PLAYGROUND_CHANNELS = ['general', 'training'];
/** The role the page's "Manage Messages" switch gives "you". */
export const MODERATOR_ROLE = 'Moderators';

export interface Playground {
  fake: FakeDiscord;
  /** The page's address, as printed. */
  url: string;
  /** What the bot logs in with: DISCORD_TOKEN, DISCORD_API_URL, DISCORD_GUILD_ID. */
  env: { DISCORD_TOKEN: string; DISCORD_API_URL: string; DISCORD_GUILD_ID: string };
  /** Saves the state and stops the server (stop the bot first, or it reconnects). */
  close(): Promise<void>;
}

export function playgroundLine(url: string): string {
  return `kodiak: no DISCORD_TOKEN: the playground is at ${url} — set DISCORD_TOKEN to run on Discord`;
}

/** Refuses to listen off loopback without a password: the page acts as any member of the guild. */
export function checkPlaygroundExposure(config: Pick<Config, 'PLAYGROUND_HOST' | 'PLAYGROUND_PASSWORD'>): void {
  const host = config.PLAYGROUND_HOST;
  const loopback = host === 'localhost' || (net.isIP(host) !== 0 && (host.startsWith('127.') || host === '::1'));
  if (!loopback && !config.PLAYGROUND_PASSWORD) {
    throw new Error(`PLAYGROUND_HOST=${host} exposes the playground beyond this machine: set PLAYGROUND_PASSWORD too (or keep PLAYGROUND_HOST=127.0.0.1)`);
  }
}

export interface PlaygroundOptions {
  /** Image search as the page reports it; default: probe the configured providers. */
  search?: () => Promise<SearchStatus>;
}

export async function startPlayground(config: Config, log: Logger, options: PlaygroundOptions = {}): Promise<Playground> {
  checkPlaygroundExposure(config);
  const store = new PlaygroundStore(path.join(config.DATA_DIR, 'playground'));
  const restore = store.restore();
  const fake = await startFakeDiscord({
    guilds: [{ name: PLAYGROUND_GUILD, channels: PLAYGROUND_CHANNELS, roles: [{ name: MODERATOR_ROLE, permissions: ['ManageMessages'] }] }],
    host: config.PLAYGROUND_HOST,
    port: config.PLAYGROUND_PORT,
    ...(restore ? { restore } : {}),
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new Error(`the playground's port ${config.PLAYGROUND_PORT} is in use: set PLAYGROUND_PORT to a free one`);
    throw err;
  });
  store.watch(fake);
  if (!restore) await store.save(fake);
  const search = (options.search ?? (() => probeSearch(config)))();
  attachPage(fake, { password: config.PLAYGROUND_PASSWORD, search, moderatorRole: MODERATOR_ROLE, log });
  log.info({ url: fake.url, guild: fake.guild.id, restored: Boolean(restore) }, 'playground started');
  return {
    fake,
    url: fake.url,
    env: { DISCORD_TOKEN: fake.token, DISCORD_API_URL: `${fake.url}/api`, DISCORD_GUILD_ID: fake.guild.id },
    async close() {
      await store.close(fake);
      await fake.close();
    },
  };
}
