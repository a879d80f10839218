// What "you" can do from the page, each done through the same driver the tests use, so the bot
// receives exactly what Discord would send: messages with attachments, slash commands with typed
// options, button clicks, select picks, reactions, and switching name and role.
import { Intent } from '../server/core.js';
import { DiscordError } from '../server/errors.js';
import type { FakeDiscord, FakeFile, FakeUser, OptionValue } from '../server/index.js';
import { findCommand } from '../server/interaction-payload.js';
import { memberJson } from '../server/model.js';
import { OptionType } from '../server/validate-commands.js';
import { PageError, type PageFile } from './http.js';

type Json = Record<string, unknown>;

const NAME = /^[\p{L}\p{N}_.-][\p{L}\p{N}_. -]{0,31}$/u;

export function userName(value: unknown): string {
  const name = typeof value === 'string' ? value.trim() : '';
  if (!NAME.test(name)) throw new PageError(400, 'A user name is 1-32 letters, digits, spaces, dots, dashes or underscores.');
  return name;
}

const str = (value: unknown, what: string): string => {
  if (typeof value !== 'string' || value === '') throw new PageError(400, `Missing ${what}.`);
  return value;
};

/** Runs a driver action, turning its refusals (what Discord's client or API would refuse) into a message for the page. */
export async function act<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof PageError) throw err;
    if (err instanceof DiscordError) throw new PageError(err.status, `Discord refused: ${err.message} (${err.code})${err.errors ? ` ${JSON.stringify(err.errors)}` : ''}`);
    const message = (err as Error).message;
    if (message.startsWith('fake Discord: ')) throw new PageError(400, message.slice('fake Discord: '.length));
    throw err;
  }
}

export class PageActions {
  constructor(
    private readonly fake: FakeDiscord,
    private readonly moderatorRole: string,
  ) {}

  /** The page's user by name (created on first use), with or without the moderators' role. */
  me(name: string, moderator?: boolean): { user: FakeUser; moderator: boolean } {
    // A newcomer starts with Manage Messages, which Kodiak's commands that change things ask for
    // by default (COMMAND_PERMISSION): /train must work on the first try; the switch takes it away.
    const isNew = ![...this.fake.core.model.users.values()].some((u) => u.username === name && !u.bot);
    const user = this.fake.user(name);
    if (isNew && moderator === undefined) moderator = true;
    const core = this.fake.core;
    const guild = core.model.guild(this.fake.guild.id);
    const role = guild.roles.find((r) => r.name === this.moderatorRole) ?? this.fake.createRole(guild.id, this.moderatorRole, ['ManageMessages']);
    const member = core.model.member(guild.id, user.id);
    const has = member.roleIds.includes(role.id);
    if (moderator !== undefined && moderator !== has) {
      member.roleIds = moderator ? [...member.roleIds, role.id] : member.roleIds.filter((id) => id !== role.id);
      // The bot keeps members in its cache and checks permissions there, as it does on Discord.
      core.dispatch({ t: 'GUILD_MEMBER_UPDATE', d: { guild_id: guild.id, ...memberJson(core.model, member) }, intent: Intent.GuildMembers });
    }
    return { user, moderator: moderator ?? has };
  }

  async send(fields: Json, files: PageFile[]): Promise<Json> {
    const { user } = this.me(userName(fields.user));
    const content = typeof fields.content === 'string' && fields.content !== '' ? fields.content : undefined;
    if (content === undefined && files.length === 0) throw new PageError(400, 'Write something or drop a file.');
    const message = await act(() => user.send({ channel: str(fields.channel, 'channel'), ...(content !== undefined ? { content } : {}), attachments: files.map(fakeFile) }));
    return { id: message.id };
  }

  /** `/name sub` with options typed after the registered command; files fill attachment options by field name. */
  async command(fields: Json, files: PageFile[]): Promise<Json> {
    const { user } = this.me(userName(fields.user));
    const channel = str(fields.channel, 'channel');
    const path = str(fields.command, 'command').trim().replace(/^\//, '').split(/\s+/);
    const given = typeof fields.options === 'object' && fields.options !== null ? (fields.options as Json) : {};
    const definitions = this.optionDefinitions(channel, path);
    const options: Record<string, OptionValue> = {};
    for (const [name, raw] of Object.entries(given)) {
      if (raw === '' || raw === null || raw === undefined) continue;
      const definition = definitions.find((d) => d.name === name);
      options[name] = definition ? typed(definition, raw) : (raw as OptionValue);
    }
    for (const file of files) options[file.field] = fakeFile(file);
    const handle = await act(() => user.runCommand(path.join(' '), options, { channel }));
    return { interaction: handle.id };
  }

  async click(fields: Json): Promise<Json> {
    const { user } = this.me(userName(fields.user));
    const handle = await act(() => user.click(str(fields.message, 'message'), str(fields.customId, 'custom_id')));
    return { interaction: handle.id };
  }

  async select(fields: Json): Promise<Json> {
    const { user } = this.me(userName(fields.user));
    const values = Array.isArray(fields.values) ? fields.values.map(String) : [];
    const handle = await act(() => user.select(str(fields.message, 'message'), str(fields.customId, 'custom_id'), values));
    return { interaction: handle.id };
  }

  async react(fields: Json): Promise<Json> {
    const { user } = this.me(userName(fields.user));
    const message = str(fields.message, 'message');
    const emoji = str(fields.emoji, 'emoji');
    await act(() => (fields.on === false ? user.unreact(message, emoji) : user.react(message, emoji)));
    return {};
  }

  private optionDefinitions(channel: string, path: string[]): Json[] {
    const guildId = this.fake.channel(channel).guildId;
    let definitions: Json[] = [];
    try {
      definitions = (findCommand(this.fake.core, guildId, path[0]!).options ?? []) as Json[];
    } catch (err) {
      throw new PageError(400, (err as Error).message.replace(/^fake Discord: /, ''));
    }
    for (const part of path.slice(1)) definitions = (definitions.find((o) => o.name === part)?.options ?? []) as Json[];
    return definitions;
  }
}

/** The page sends what an input holds (text); Discord's client sends numbers and booleans typed. */
function typed(definition: Json, raw: unknown): OptionValue {
  const text = String(raw).trim();
  switch (definition.type) {
    case OptionType.Integer:
    case OptionType.Number: {
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) throw new PageError(400, `Option "${String(definition.name)}" needs a number.`);
      return value;
    }
    case OptionType.Boolean:
      return raw === true || text === 'true';
    default:
      return typeof raw === 'object' && raw !== null && 'id' in raw ? (raw as { id: string }) : text;
  }
}

function fakeFile(file: PageFile): FakeFile {
  return { name: file.name, data: file.data, contentType: file.contentType };
}
