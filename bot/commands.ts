// Loads every command file in commands/ (one slash command per file) and registers them.
import fs from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { ApplicationIntegrationType, InteractionContextType, PermissionFlagsBits, type Client } from 'discord.js';
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

/**
 * What Discord is told about each command: guild-only (contexts: guild; installed to guilds),
 * so /status and the others never appear in DMs; commands that change things get a default
 * member permission (COMMAND_PERMISSION) that server admins can adjust under Integrations.
 */
export function commandJson(command: Command, permission: string): Record<string, unknown> {
  const json = command.data.toJSON() as Record<string, unknown>;
  const bits = permission === 'everyone' ? undefined : PermissionFlagsBits[permission as keyof typeof PermissionFlagsBits];
  if (permission !== 'everyone' && bits === undefined) throw new Error(`COMMAND_PERMISSION: unknown permission ${permission}`);
  return {
    ...json,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    ...(command.mutates && bits !== undefined ? { default_member_permissions: bits.toString() } : {}),
  };
}

/** Guild-scoped registration is instant (good for development); global takes up to an hour. */
export async function registerCommands(client: Client<true>, commands: ReadonlyMap<string, Command>, guildId: string | undefined, log: Logger, permission = 'everyone'): Promise<void> {
  const body = [...commands.values()].map((c) => commandJson(c, permission)) as unknown as Parameters<typeof client.application.commands.set>[0];
  if (guildId) await client.application.commands.set(body, guildId);
  else await client.application.commands.set(body);
  log.info({ count: commands.size, scope: guildId ? `guild ${guildId}` : 'global' }, 'registered slash commands');
}
