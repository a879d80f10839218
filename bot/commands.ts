// Loads every command file in commands/ (one slash command per file) and registers them.
import fs from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Client } from 'discord.js';
import type { Logger } from '../core/log.js';
import type { Command } from './types.js';

const COMMANDS_DIR = fileURLToPath(new URL('../commands/', import.meta.url));

function isCommand(mod: Partial<Command>): mod is Command {
  return typeof mod?.data?.name === 'string' && typeof mod.execute === 'function';
}

export async function loadCommands(dir = COMMANDS_DIR): Promise<Map<string, Command>> {
  const files = (await fs.readdir(dir)).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_')).sort();
  const commands = new Map<string, Command>();
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as Partial<Command>;
    if (!isCommand(mod)) throw new Error(`commands/${file} must export data (a SlashCommandBuilder) and execute`);
    if (commands.has(mod.data.name)) throw new Error(`two command files define /${mod.data.name}`);
    commands.set(mod.data.name, mod);
  }
  return commands;
}

/** Guild-scoped registration is instant (good for development); global takes up to an hour. */
export async function registerCommands(client: Client<true>, commands: ReadonlyMap<string, Command>, guildId: string | undefined, log: Logger): Promise<void> {
  const body = [...commands.values()].map((c) => c.data.toJSON()) as Parameters<typeof client.application.commands.set>[0];
  if (guildId) await client.application.commands.set(body, guildId);
  else await client.application.commands.set(body);
  log.info({ count: commands.size, scope: guildId ? `guild ${guildId}` : 'global' }, 'registered slash commands');
}
