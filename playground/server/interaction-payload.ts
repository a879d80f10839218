// Builds INTERACTION_CREATE payloads the way Discord does from what a user typed or clicked:
// options typed from the registered command, resolved attachments/users/roles/channels, the
// member with its computed permissions, app_permissions, locale, and the clicked message.
import type { Core } from './core.js';
import { OptionType } from './validate-commands.js';
import { ChannelType, channelJson, memberJson, permissionBits, roleJson, userJson, type UserRecord } from './model.js';
import type { MessageRecord } from './messages.js';

type Json = Record<string, unknown>;

/** A file a fake user attaches (to a command option or a message). */
export interface FakeFile {
  name: string;
  data: Buffer | Uint8Array | string;
  /** Default: guessed from the file extension. */
  contentType?: string;
  description?: string;
}

/** An option value as a test writes it: plain values, a user, a role/channel id or name, or a file. */
export type OptionValue = string | number | boolean | FakeFile | { id: string };

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', bmp: 'image/bmp',
  txt: 'text/plain; charset=utf-8', json: 'application/json', csv: 'text/csv; charset=utf-8', zip: 'application/zip', pdf: 'application/pdf',
};

export function contentTypeOf(file: FakeFile): string {
  if (file.contentType) return file.contentType;
  const ext = file.name.split('.').pop()?.toLowerCase() ?? '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

export function fileBytes(file: FakeFile): Buffer {
  return typeof file.data === 'string' ? Buffer.from(file.data) : Buffer.from(file.data);
}

const isFile = (v: unknown): v is FakeFile => typeof v === 'object' && v !== null && 'name' in v && 'data' in v;

/** What an app may do in a DM, as Discord reports it in `app_permissions` there. */
const DM_APP_PERMISSIONS = permissionBits(['AddReactions', 'ViewChannel', 'SendMessages', 'EmbedLinks', 'AttachFiles', 'ReadMessageHistory', 'UseExternalEmojis']);

/**
 * Fields every interaction carries. In a guild channel: the member with their permissions in
 * this channel (overwrites applied) and `app_permissions`, the bot's there. In a DM (context 1):
 * `user` instead of `member`, and no guild.
 */
export function basePayload(core: Core, user: UserRecord, channelId: string, type: number, locale: string): Json {
  const channel = core.model.channel(channelId);
  if (channel.type === ChannelType.DM) {
    return {
      id: core.ids.next(), application_id: core.applicationId, type, version: 1,
      channel_id: channel.id, channel: { ...channelJson(channel), recipients: [userJson(user)] },
      user: userJson(user), app_permissions: DM_APP_PERMISSIONS.toString(), locale, entitlements: [],
      authorizing_integration_owners: { '0': user.id }, context: 1, attachment_size_limit: 10 * 1024 * 1024,
    };
  }
  const member = core.model.member(channel.guildId, user.id);
  const permissions = core.model.permissionsIn(channel.id, user.id).toString();
  return {
    id: core.ids.next(),
    application_id: core.applicationId,
    type,
    version: 1,
    guild_id: channel.guildId,
    guild: { id: channel.guildId, locale: 'en-US', features: [] },
    channel_id: channel.id,
    channel: { ...channelJson(channel), permissions },
    member: { ...memberJson(core.model, member), permissions },
    app_permissions: core.model.permissionsIn(channel.id, core.bot.id).toString(),
    locale,
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': channel.guildId },
    context: 0,
    attachment_size_limit: 10 * 1024 * 1024,
  };
}

/**
 * Finds the registered command a user can run here (guild commands win over global ones). In a
 * DM (guildId '') only global commands whose `contexts` include BOT_DM (1) are offered; no
 * `contexts` means the default, every context for a guild-installed app.
 */
export function findCommand(core: Core, guildId: string, name: string): Json {
  if (guildId === '') {
    const global = (core.commands.get('global') ?? []).find((c) => c.name === name && c.type === 1);
    const contexts = global?.contexts as number[] | null | undefined;
    if (!global || (contexts ? !contexts.includes(1) : global.dm_permission === false)) {
      throw new Error(`fake Discord: /${name} is not offered in DMs (a guild command, or its contexts leave out BOT_DM)`);
    }
    return global;
  }
  const command = [...(core.commands.get(guildId) ?? []), ...(core.commands.get('global') ?? [])].find((c) => c.name === name && c.type === 1);
  if (!command) {
    const known = [...(core.commands.get(guildId) ?? []), ...(core.commands.get('global') ?? [])].map((c) => c.name);
    throw new Error(`fake Discord: /${name} is not registered (registered: ${known.join(', ') || 'none'})`);
  }
  return command;
}

interface Resolved {
  attachments?: Record<string, Json>;
  users?: Record<string, Json>;
  members?: Record<string, Json>;
  roles?: Record<string, Json>;
  channels?: Record<string, Json>;
}

/**
 * Turns `{ name: 'bears', image: file }` into Discord's typed options for the command path
 * (e.g. ['dataset', 'list']), checking what Discord's client would refuse to send.
 */
export async function buildCommandData(
  core: Core,
  channelId: string,
  path: string[],
  values: Record<string, OptionValue>,
  focused?: string,
): Promise<Json> {
  const guildId = core.model.channel(channelId).guildId;
  const command = findCommand(core, guildId, path[0]!);
  const resolved: Resolved = {};
  let definitions = (command.options ?? []) as Json[];
  const chain: Json[] = [];
  for (const part of path.slice(1)) {
    const sub = definitions.find((o) => o.name === part && (o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup));
    if (!sub) throw new Error(`fake Discord: /${path.join(' ')}: no subcommand "${part}"`);
    chain.push(sub);
    definitions = (sub.options ?? []) as Json[];
  }
  if (definitions.some((o) => o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup)) {
    throw new Error(`fake Discord: /${path.join(' ')} needs a subcommand (${definitions.map((o) => o.name).join(', ')})`);
  }
  for (const name of Object.keys(values)) {
    if (!definitions.some((o) => o.name === name)) throw new Error(`fake Discord: /${path.join(' ')} has no option "${name}"`);
  }
  const options: Json[] = [];
  for (const definition of definitions) {
    const name = String(definition.name);
    const value = values[name];
    if (value === undefined) {
      if (definition.required === true && focused === undefined) throw new Error(`fake Discord: /${path.join(' ')} requires option "${name}"`);
      continue;
    }
    const isFocused = focused === name;
    if (isFocused && definition.autocomplete !== true) throw new Error(`fake Discord: option "${name}" has no autocomplete`);
    options.push({ name, type: definition.type, value: await optionValue(core, channelId, definition, value, resolved, isFocused), ...(isFocused ? { focused: true } : {}) });
  }
  // Wrap the leaf options in their subcommand (group) like Discord nests them.
  let nested = options;
  for (const sub of chain.reverse()) nested = [{ name: sub.name, type: sub.type, options: nested }];
  return {
    id: command.id,
    name: command.name,
    type: 1,
    ...(command.guild_id ? { guild_id: command.guild_id } : {}),
    ...(nested.length ? { options: nested } : {}),
    ...(Object.keys(resolved).length ? { resolved } : {}),
  };
}

async function optionValue(core: Core, channelId: string, definition: Json, value: OptionValue, resolved: Resolved, focused: boolean): Promise<unknown> {
  const name = String(definition.name);
  const fail = (why: string): never => {
    throw new Error(`fake Discord: option "${name}": ${why}`);
  };
  const guildId = core.model.channel(channelId).guildId;
  switch (definition.type) {
    case OptionType.String: {
      if (typeof value !== 'string') return fail('expects a string');
      if (focused) return value;
      if (typeof definition.min_length === 'number' && value.length < definition.min_length) fail(`shorter than ${definition.min_length}`);
      if (typeof definition.max_length === 'number' && value.length > definition.max_length) fail(`longer than ${definition.max_length}`);
      checkChoice(definition, value, fail);
      return value;
    }
    case OptionType.Integer:
    case OptionType.Number: {
      if (typeof value !== 'number' || (definition.type === OptionType.Integer && !Number.isInteger(value))) return fail('expects a number');
      if (typeof definition.min_value === 'number' && value < definition.min_value) fail(`below ${definition.min_value}`);
      if (typeof definition.max_value === 'number' && value > definition.max_value) fail(`above ${definition.max_value}`);
      checkChoice(definition, value, fail);
      return value;
    }
    case OptionType.Boolean:
      return typeof value === 'boolean' ? value : fail('expects a boolean');
    case OptionType.Attachment: {
      if (!isFile(value)) return fail('expects a file { name, data, contentType? }');
      const stored = await core.messages.storeFile(channelId, { filename: value.name, contentType: contentTypeOf(value), data: fileBytes(value), description: value.description ?? null }, true);
      (resolved.attachments ??= {})[stored.id] = core.messages.attachmentJson(stored);
      return stored.id;
    }
    case OptionType.User:
    case OptionType.Mentionable: {
      const id = typeof value === 'object' && 'id' in value ? value.id : String(value);
      const role = core.model.guild(guildId).roles.find((r) => r.id === id || r.name === id);
      if (definition.type === OptionType.Mentionable && role) {
        (resolved.roles ??= {})[role.id] = roleJson(role);
        return role.id;
      }
      const user = core.model.users.get(id) ?? fail(`no user ${id}`);
      (resolved.users ??= {})[user.id] = userJson(user);
      const member = core.model.guild(guildId).members.get(user.id);
      if (member) (resolved.members ??= {})[user.id] = { ...memberJson(core.model, member, false), permissions: core.model.permissionsIn(channelId, user.id).toString() };
      return user.id;
    }
    case OptionType.Role: {
      const key = typeof value === 'object' && 'id' in value ? value.id : String(value);
      const role = core.model.guild(guildId).roles.find((r) => r.id === key || r.name === key) ?? fail(`no role ${key}`);
      (resolved.roles ??= {})[role.id] = roleJson(role);
      return role.id;
    }
    case OptionType.Channel: {
      const key = typeof value === 'object' && 'id' in value ? value.id : String(value);
      const channel = [...core.model.channels.values()].find((c) => c.guildId === guildId && (c.id === key || c.name === key)) ?? fail(`no channel ${key}`);
      (resolved.channels ??= {})[channel.id] = { id: channel.id, name: channel.name, type: channel.type, permissions: core.model.permissionsIn(channel.id, core.bot.id).toString() };
      return channel.id;
    }
    default:
      return fail(`unsupported option type ${String(definition.type)}`);
  }
}

function checkChoice(definition: Json, value: string | number, fail: (why: string) => never): void {
  const choices = definition.choices as { value: unknown }[] | undefined;
  if (choices?.length && !choices.some((c) => c.value === value)) fail(`${JSON.stringify(value)} is not one of the choices`);
}

/** Finds a component on a message by custom_id (or button label) the way a user would see it. */
export function findComponent(message: MessageRecord, idOrLabel: string, type: 'button' | 'select'): Json {
  const all = message.components.flatMap((row) => ((row as Json).components as Json[] | undefined) ?? []);
  const wanted = all.filter((c) => (type === 'button' ? c.type === 2 : c.type !== 2));
  const found = wanted.find((c) => c.custom_id === idOrLabel) ?? wanted.find((c) => c.label === idOrLabel);
  if (!found) {
    const seen = wanted.map((c) => String(c.custom_id ?? c.label)).join(', ') || 'none';
    throw new Error(`fake Discord: message ${message.id} has no ${type} "${idOrLabel}" (has: ${seen})`);
  }
  if (found.disabled === true) throw new Error(`fake Discord: ${type} "${idOrLabel}" is disabled`);
  if (found.type === 2 && (found.style === 5 || found.style === 6)) throw new Error(`fake Discord: link/premium buttons do not send interactions`);
  return found;
}
