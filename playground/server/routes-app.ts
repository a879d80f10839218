// Routes about the bot itself: gateway discovery, users, the application, its commands,
// and read access to guilds, channels and members.
import type { Core } from './core.js';
import { Errors, FormErrors } from './errors.js';
import { ok, noContent, type Route, type RequestContext } from './http.js';
import { channelJson, guildJson, memberJson, roleJson, userJson } from './model.js';
import { validateCommand } from './validate-commands.js';

type Json = Record<string, unknown>;

export function appRoutes(core: Core): Route[] {
  const commands = new CommandRegistry(core);
  return [
    {
      method: 'GET', path: '/gateway/bot', auth: true, major: '',
      handle: () => ok({
        url: core.baseUrl.replace(/^http/, 'ws'),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      }),
    },
    { method: 'GET', path: '/gateway', auth: false, handle: () => ok({ url: core.baseUrl.replace(/^http/, 'ws') }) },
    { method: 'GET', path: '/users/@me', auth: true, major: '', handle: () => ok({ ...userJson(core.bot), verified: true, mfa_enabled: false, flags: 0 }) },
    { method: 'GET', path: '/users/:user_id', auth: true, major: '', handle: (ctx) => ok(userJson(core.model.user(ctx.params.user_id!))) },
    { method: 'GET', path: '/applications/@me', auth: true, major: '', handle: () => ok(applicationJson(core)) },
    { method: 'GET', path: '/oauth2/applications/@me', auth: true, major: '', handle: () => ok(applicationJson(core)) },
    // Commands, global and per guild.
    { method: 'GET', path: '/applications/:application_id/commands', auth: true, major: 'application_id', handle: (ctx) => ok(commands.list(ctx, null)) },
    { method: 'PUT', path: '/applications/:application_id/commands', auth: true, major: 'application_id', handle: (ctx) => ok(commands.overwrite(ctx, null)) },
    { method: 'POST', path: '/applications/:application_id/commands', auth: true, major: 'application_id', handle: (ctx) => commands.upsert(ctx, null) },
    { method: 'GET', path: '/applications/:application_id/commands/:command_id', auth: true, major: 'application_id', handle: (ctx) => ok(commands.one(ctx, null)) },
    { method: 'PATCH', path: '/applications/:application_id/commands/:command_id', auth: true, major: 'application_id', handle: (ctx) => ok(commands.patch(ctx, null)) },
    { method: 'DELETE', path: '/applications/:application_id/commands/:command_id', auth: true, major: 'application_id', handle: (ctx) => commands.remove(ctx, null) },
    { method: 'GET', path: '/applications/:application_id/guilds/:guild_id/commands', auth: true, major: 'application_id', handle: (ctx) => ok(commands.list(ctx, ctx.params.guild_id!)) },
    { method: 'PUT', path: '/applications/:application_id/guilds/:guild_id/commands', auth: true, major: 'application_id', handle: (ctx) => ok(commands.overwrite(ctx, ctx.params.guild_id!)) },
    { method: 'POST', path: '/applications/:application_id/guilds/:guild_id/commands', auth: true, major: 'application_id', handle: (ctx) => commands.upsert(ctx, ctx.params.guild_id!) },
    { method: 'GET', path: '/applications/:application_id/guilds/:guild_id/commands/:command_id', auth: true, major: 'application_id', handle: (ctx) => ok(commands.one(ctx, ctx.params.guild_id!)) },
    { method: 'PATCH', path: '/applications/:application_id/guilds/:guild_id/commands/:command_id', auth: true, major: 'application_id', handle: (ctx) => ok(commands.patch(ctx, ctx.params.guild_id!)) },
    { method: 'DELETE', path: '/applications/:application_id/guilds/:guild_id/commands/:command_id', auth: true, major: 'application_id', handle: (ctx) => commands.remove(ctx, ctx.params.guild_id!) },
    // Guilds, channels, members (read-only).
    { method: 'GET', path: '/guilds/:guild_id', auth: true, major: 'guild_id', handle: (ctx) => ok(guildJson(core.model, core.model.guild(ctx.params.guild_id!))) },
    { method: 'GET', path: '/guilds/:guild_id/roles', auth: true, major: 'guild_id', handle: (ctx) => ok(core.model.guild(ctx.params.guild_id!).roles.map(roleJson)) },
    {
      method: 'GET', path: '/guilds/:guild_id/channels', auth: true, major: 'guild_id',
      handle: (ctx) => ok(core.model.guild(ctx.params.guild_id!).channelIds.map((id) => channelJson(core.model.channel(id)))),
    },
    {
      method: 'GET', path: '/guilds/:guild_id/members/:user_id', auth: true, major: 'guild_id',
      handle: (ctx) => ok(memberJson(core.model, core.model.member(ctx.params.guild_id!, ctx.params.user_id!))),
    },
    {
      method: 'GET', path: '/channels/:channel_id', auth: true, major: 'channel_id',
      handle: (ctx) => {
        core.requireBotPermissions(core.model.channel(ctx.params.channel_id!).id, []);
        return ok(channelJson(core.model.channel(ctx.params.channel_id!)));
      },
    },
  ];
}

function applicationJson(core: Core): Json {
  return {
    id: core.applicationId,
    name: core.bot.username,
    icon: null,
    description: 'Kodiak (fake Discord)',
    summary: '',
    type: null,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: (1 << 19) | (1 << 15), // GATEWAY_MESSAGE_CONTENT_LIMITED + GATEWAY_GUILD_MEMBERS_LIMITED
    owner: userJson(core.owner),
    team: null,
    bot: userJson(core.bot),
    approximate_guild_count: core.model.guilds.size,
    install_params: { scopes: ['bot', 'applications.commands'], permissions: '0' },
    integration_types_config: { '0': {} },
  };
}

class CommandRegistry {
  constructor(private readonly core: Core) {}

  private scope(ctx: RequestContext, guildId: string | null): Json[] {
    if (ctx.params.application_id !== this.core.applicationId) throw Errors.unknownApplication();
    if (guildId !== null) {
      this.core.model.guild(guildId);
      if (!this.core.model.guild(guildId).members.has(this.core.bot.id)) throw Errors.missingAccess();
    }
    const key = guildId ?? 'global';
    if (!this.commands(key)) this.core.commands.set(key, []);
    return this.commands(key)!;
  }

  private commands(key: string): Json[] | undefined {
    return this.core.commands.get(key);
  }

  list(ctx: RequestContext, guildId: string | null): Json[] {
    return this.scope(ctx, guildId);
  }

  one(ctx: RequestContext, guildId: string | null): Json {
    const command = this.scope(ctx, guildId).find((c) => c.id === ctx.params.command_id);
    if (!command) throw Errors.unknownCommand();
    return command;
  }

  /** PUT: replaces the whole set; commands keep their id when their name and type survive. */
  overwrite(ctx: RequestContext, guildId: string | null): Json[] {
    const existing = this.scope(ctx, guildId);
    if (!Array.isArray(ctx.json)) throw Errors.invalidFormBody();
    const errors = new FormErrors();
    ctx.json.forEach((command, i) => validateCommand(command, errors, [i]));
    const seen = new Set<string>();
    (ctx.json as Json[]).forEach((command, i) => {
      const key = `${command.type ?? 1}:${String(command.name)}`;
      if (seen.has(key)) errors.add([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
      seen.add(key);
    });
    if (ctx.json.filter((c) => (c as Json).type === undefined || (c as Json).type === 1).length > 100) {
      errors.add([], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    }
    errors.throwIfAny();
    const next = (ctx.json as Json[]).map((command) => {
      const previous = existing.find((c) => c.name === command.name && c.type === (command.type ?? 1));
      return this.record(command, guildId, previous?.id as string | undefined);
    });
    this.core.commands.set(guildId ?? 'global', next);
    this.core.events.record('commands.update', guildId ?? 'global', { names: next.map((c) => c.name) });
    return next;
  }

  /** POST: creates, or updates the command with the same name (201 when new). */
  upsert(ctx: RequestContext, guildId: string | null) {
    const list = this.scope(ctx, guildId);
    const errors = new FormErrors();
    validateCommand(ctx.body, errors);
    errors.throwIfAny();
    const index = list.findIndex((c) => c.name === ctx.body.name && c.type === (ctx.body.type ?? 1));
    const command = this.record(ctx.body, guildId, index >= 0 ? (list[index]!.id as string) : undefined);
    if (index >= 0) list[index] = command;
    else list.push(command);
    this.core.events.record('commands.update', guildId ?? 'global', { names: list.map((c) => c.name) });
    return { status: index >= 0 ? 200 : 201, body: command };
  }

  patch(ctx: RequestContext, guildId: string | null): Json {
    const list = this.scope(ctx, guildId);
    const current = this.one(ctx, guildId);
    const merged = { ...current, ...ctx.body };
    const errors = new FormErrors();
    validateCommand(merged, errors);
    errors.throwIfAny();
    const command = this.record(merged, guildId, current.id as string);
    list[list.indexOf(current)] = command;
    this.core.events.record('commands.update', guildId ?? 'global', { names: list.map((c) => c.name) });
    return command;
  }

  remove(ctx: RequestContext, guildId: string | null) {
    const list = this.scope(ctx, guildId);
    const current = this.one(ctx, guildId);
    list.splice(list.indexOf(current), 1);
    this.core.events.record('commands.update', guildId ?? 'global', { names: list.map((c) => c.name) });
    return noContent();
  }

  private record(command: Json, guildId: string | null, id: string | undefined): Json {
    return {
      id: id ?? this.core.ids.next(),
      application_id: this.core.applicationId,
      version: this.core.ids.next(),
      type: command.type ?? 1,
      name: command.name,
      name_localizations: command.name_localizations ?? null,
      description: command.description ?? '',
      description_localizations: command.description_localizations ?? null,
      options: command.options ?? [],
      default_member_permissions: command.default_member_permissions ?? null,
      nsfw: command.nsfw ?? false,
      contexts: command.contexts ?? null,
      integration_types: command.integration_types ?? [0],
      ...(guildId ? { guild_id: guildId } : { dm_permission: command.dm_permission ?? true }),
    };
  }
}
