// A fake Discord for tests: REST under /api/v10, the gateway WebSocket, and a loopback file
// server for attachments, all on one 127.0.0.1 port, plus a driver that acts as guild members.
//
//   const fake = await startFakeDiscord();
//   const client = new Client({ intents, ...discordClientOptions(fake) });
//   await client.login(fake.token);
//   const alice = fake.user('alice', { permissions: ['ManageGuild'] });
//   const reply = await (await alice.runCommand('help')).reply();
//   ...
//   await client.destroy(); await fake.close();   // client first, or it reconnects
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { ClientOptions } from 'discord.js';
import { Core, Intent, type FakeDiscordOptions } from './core.js';
import type { FakeEvent, WaitOptions } from './events.js';
import { Gateway } from './gateway.js';
import { createHttpServer } from './http.js';
import { InteractionHandle, type FakeMessage } from './interaction-handle.js';
import { Interactions } from './interactions.js';
import { contentTypeOf, fileBytes, type FakeFile } from './interaction-payload.js';
import { MessageFlag, type MessageRecord } from './messages.js';
import { channelJson, memberJson, permissionBits, permissionNames, roleJson, type ChannelRecord, type PermissionName } from './model.js';
import { isInvalidRequest, type RestRequest } from './core.js';
import type { RateLimitHit } from './ratelimits.js';
import { appRoutes } from './routes-app.js';
import { interactionRoutes, messageRoutes } from './routes-messages.js';
import { FakeUser, announceMember } from './driver-user.js';

export type { FakeDiscordOptions, RestRequest } from './core.js';
export type { FakeMessage } from './interaction-handle.js';
export type { FakeFile, OptionValue } from './interaction-payload.js';
export type { GuildSpec, PermissionName } from './model.js';
export type { RateLimitConfig, RateLimitHit } from './ratelimits.js';
export type { FakeEvent, WaitOptions } from './events.js';
export { InteractionHandle } from './interaction-handle.js';
export { FakeUser } from './driver-user.js';
export { DEFAULT_RATE_LIMITS } from './ratelimits.js';

/**
 * The ClientOptions that point discord.js at the fake. Only `rest.api` is needed: discord.js
 * asks REST for `GET /gateway/bot` and connects to the `url` it returns (adding
 * `?v=10&encoding=json`, and `&compress=zlib-stream` only when zlib-sync is installed, which
 * the fake also speaks). `cdn` keeps avatar/icon URLs on loopback too.
 */
export function discordClientOptions(fake: { url: string }): Pick<ClientOptions, 'rest'> {
  return { rest: { api: `${fake.url}/api`, cdn: `${fake.url}/cdn` } };
}

export interface FakeUserOptions {
  /** Permissions granted through a role named "<name>-permissions". */
  permissions?: PermissionName[];
  /** Role names (created when missing) or ids. */
  roles?: string[];
  /** Guild id or name; default the first guild. */
  guild?: string;
  /** The user's display name (global_name, 1-32 characters, any text); default the username. */
  displayName?: string;
  /** Another bot (its interactions and reactions should decide nothing). */
  bot?: boolean;
}

/** Who a permission overwrite applies to: 'bot', '@everyone', a role (name or id), or a user (name or id). */
export type OverwriteTarget = string;

export interface OverwriteSpec {
  allow?: PermissionName[];
  deny?: PermissionName[];
}

export interface ThreadOptions {
  /** A private thread (type 12): only its members and those with Manage Threads see it. */
  private?: boolean;
  archived?: boolean;
  locked?: boolean;
  /** Thread members besides its creator: 'bot' or user names. */
  members?: string[];
}

export interface MessageWaitOptions extends WaitOptions {
  /** Only look at what happened after this `fake.mark()`. */
  since?: number;
  /** Channel id or name. */
  channel?: string;
}

export class FakeDiscord {
  private readonly users = new Map<string, FakeUser>();

  constructor(
    /** The server's state; the playground's page and store read it, tests use the methods below. */
    readonly core: Core,
    private readonly interactions: Interactions,
    private readonly gateway: Gateway,
    private readonly server: Server,
    readonly url: string,
  ) {}

  get token(): string {
    return this.core.token;
  }

  get applicationId(): string {
    return this.core.applicationId;
  }

  get botUser(): { id: string; username: string } {
    return { id: this.core.bot.id, username: this.core.bot.username };
  }

  get guilds(): { id: string; name: string }[] {
    return [...this.core.model.guilds.values()].map((g) => ({ id: g.id, name: g.name }));
  }

  /** The first guild. */
  get guild(): { id: string; name: string } {
    return this.guilds[0]!;
  }

  /** Identified gateway sessions. */
  get connectedClients(): number {
    return this.gateway.connected;
  }

  /** The fake's event log (message.create, interaction.callback, ratelimit.hit, ...). */
  events(kind?: FakeEvent['kind'], since?: number): FakeEvent[] {
    return this.core.events.all(kind, since);
  }

  /** The current position in the event log, for `since`. */
  mark(): number {
    return this.core.events.mark();
  }

  /** A channel or thread by name or id (default: the first guild's first channel). */
  channel(nameOrId?: string): { id: string; name: string; guildId: string; type: number } {
    const channel = this.channelRecord(nameOrId);
    return { id: channel.id, name: channel.name, guildId: channel.guildId, type: channel.type };
  }

  private channelRecord(nameOrId?: string): ChannelRecord {
    const all = [...this.core.model.channels.values()].filter((c) => c.guildId !== '');
    const channel = nameOrId === undefined ? all[0] : all.find((c) => c.id === nameOrId || c.name === nameOrId);
    if (!channel) throw new Error(`fake Discord: no channel ${nameOrId} (have: ${all.map((c) => c.name).join(', ')})`);
    return channel;
  }

  /**
   * Sets the permission overwrite of `target` on a channel (a thread takes its parent's), as a
   * server admin would in the channel settings; clients get CHANNEL_UPDATE. `{}` removes it.
   */
  setPermissions(channel: string, target: OverwriteTarget, spec: OverwriteSpec): void {
    const record = this.channelRecord(channel);
    if (record.thread) throw new Error('fake Discord: threads take their permissions from their parent channel');
    const { id, type } = this.overwriteTarget(record.guildId, target);
    record.overwrites = record.overwrites.filter((o) => o.id !== id);
    const allow = permissionBits(spec.allow ?? []);
    const deny = permissionBits(spec.deny ?? []);
    if (allow || deny) record.overwrites.push({ id, type, allow, deny });
    this.core.dispatch({ t: 'CHANNEL_UPDATE', d: channelJson(record), intent: Intent.Guilds });
  }

  /** What the bot (or a user, by name) may do in a channel, overwrites and implicit denials applied. */
  permissionsIn(channel: string, who: string = 'bot'): PermissionName[] {
    const record = this.channelRecord(channel);
    const { id } = this.overwriteTarget(record.guildId, who);
    return permissionNames(this.core.model.permissionsIn(record.id, id));
  }

  /** Creates a thread under a text channel (THREAD_CREATE to clients that can see it). */
  createThread(parent: string, name: string, options: ThreadOptions = {}): { id: string; name: string; guildId: string; type: number } {
    const channel = this.channelRecord(parent);
    const members = (options.members ?? []).map((m) => this.overwriteTarget(channel.guildId, m).id);
    const thread = this.core.model.addThread(channel, name, this.core.owner.id, { ...options, members });
    this.core.dispatchChannel('THREAD_CREATE', thread);
    return this.channel(thread.id);
  }

  /** Archives, unarchives, locks or unlocks a thread, as a moderator would (THREAD_UPDATE). */
  updateThread(thread: string, change: { archived?: boolean; locked?: boolean }): void {
    const record = this.channelRecord(thread);
    if (!record.thread) throw new Error(`fake Discord: ${thread} is not a thread`);
    this.core.updateThread(record, change);
  }

  /** A thread's state: archived, locked. */
  thread(nameOrId: string): { archived: boolean; locked: boolean } {
    const record = this.channelRecord(nameOrId);
    if (!record.thread) throw new Error(`fake Discord: ${nameOrId} is not a thread`);
    return { archived: record.thread.archived, locked: record.thread.locked };
  }

  /** Every REST request the fake answered (after `since`, a `fake.mark()`), oldest first. */
  requests(since = 0): RestRequest[] {
    return this.core.requests.filter((r) => r.seq > since);
  }

  /**
   * The requests that count towards Discord's ban of 10,000 invalid requests in 10 minutes:
   * 401, 403, and 429 other than shared-scope ones. A bot in normal flows makes none.
   */
  invalidRequests(since = 0): RestRequest[] {
    return this.requests(since).filter(isInvalidRequest);
  }

  /** Makes a route ("GET /channels/:channel_id/messages") take `ms` longer to answer; 0 restores it. */
  delayRoute(route: string, ms: number): void {
    if (ms > 0) this.core.routeDelays.set(route, ms);
    else this.core.routeDelays.delete(route);
  }

  /** Network latency each way on REST and the gateway, in ms. */
  get latencyMs(): number {
    return this.core.latencyMs;
  }

  set latencyMs(ms: number) {
    this.core.latencyMs = ms;
  }

  private overwriteTarget(guildId: string, target: OverwriteTarget): { id: string; type: 0 | 1 } {
    if (target === 'bot') return { id: this.core.bot.id, type: 1 };
    if (target === '@everyone') return { id: guildId, type: 0 };
    const guild = this.core.model.guild(guildId);
    const role = guild.roles.find((r) => r.id === target || r.name === target);
    if (role) return { id: role.id, type: 0 };
    const user = this.users.get(target)?.record ?? this.core.model.users.get(target);
    if (!user) throw new Error(`fake Discord: no role or user ${target}`);
    return { id: user.id, type: 1 };
  }

  /** A guild member the test acts as; created on first use, then the same user by name. */
  user(name: string, options: FakeUserOptions = {}): FakeUser {
    const existing = this.users.get(name);
    if (existing) return existing;
    const core = this.core;
    // A member restored from saved state (the playground after a restart) is the same person again.
    const saved = this.restoredUser(name);
    if (saved) return saved;
    const guild = [...core.model.guilds.values()].find((g) => g.id === options.guild || g.name === options.guild) ?? [...core.model.guilds.values()][0]!;
    if (options.displayName !== undefined && (options.displayName.length < 1 || options.displayName.length > 32)) {
      throw new Error('fake Discord: a display name has 1-32 characters');
    }
    const record = core.model.addUser(name, options.bot ?? false, options.displayName);
    const roleIds = (options.roles ?? []).map((r) => {
      const known = guild.roles.find((role) => role.id === r || role.name === r);
      return (known ?? this.createRole(guild.id, r, 0n)).id;
    });
    if (options.permissions?.length) roleIds.push(this.createRole(guild.id, `${name}-permissions`, permissionBits(options.permissions)).id);
    const member = core.model.addMember(guild, record.id, roleIds);
    announceMember(core, guild.id, memberJson(core.model, member));
    const user = new FakeUser(core, this.interactions, record, (channel) => this.channel(channel).id);
    this.users.set(name, user);
    return user;
  }

  private restoredUser(name: string): FakeUser | undefined {
    if (!this.core.options.restore) return undefined;
    const record = [...this.core.model.users.values()].find((u) => u.username === name && !u.bot && u.id !== this.core.owner.id);
    if (!record) return undefined;
    const user = new FakeUser(this.core, this.interactions, record, (channel) => this.channel(channel).id);
    this.users.set(name, user);
    return user;
  }

  /** Creates a role and tells connected clients (GUILD_ROLE_CREATE), as Discord does. */
  createRole(guildId: string, name: string, permissions: bigint | PermissionName[]): { id: string; name: string } {
    const guild = this.core.model.guild(guildId);
    const role = this.core.model.addRole(guild, name, Array.isArray(permissions) ? permissionBits(permissions) : permissions);
    this.core.dispatch({ t: 'GUILD_ROLE_CREATE', d: { guild_id: guild.id, role: roleJson(role) }, intent: Intent.Guilds });
    return { id: role.id, name: role.name };
  }

  /**
   * Drops every gateway connection with `code` (default 4000: discord.js resumes and gets the
   * events it missed). `invalidateSessions` makes the RESUME fail with INVALID_SESSION, so the
   * client identifies again (after discord.js's 5 s identify spacing).
   */
  disconnectGateway(code = 4000, options: { invalidateSessions?: boolean } = {}): void {
    this.gateway.disconnect(code, options.invalidateSessions ?? false);
  }

  /** Registered commands: of a guild (id), 'global', or by default the first guild's plus global. */
  commands(scope?: string): Record<string, unknown>[] {
    if (scope) return this.core.commands.get(scope) ?? [];
    return [...(this.core.commands.get(this.guild.id) ?? []), ...(this.core.commands.get('global') ?? [])];
  }

  /** Waits until every name is registered (guild or global). */
  waitForCommands(names: string[], options?: WaitOptions): Promise<Record<string, unknown>[]> {
    return this.core.events.waitFor(() => {
      const commands = this.commands();
      return names.every((n) => commands.some((c) => c.name === n)) ? commands : undefined;
    }, `commands ${names.join(', ')}`, options);
  }

  /** Waits until a client identified on the gateway (READY and GUILD_CREATE sent). */
  waitForLogin(options?: WaitOptions): Promise<FakeEvent> {
    return this.core.events.waitFor(() => this.core.events.all('gateway.ready')[0], 'a gateway login', options);
  }

  /** Visible messages in a channel, oldest first (ephemeral ones are left out, as in the client). */
  messages(channel?: string): FakeMessage[] {
    return this.core.messages.list(this.channel(channel).id).reverse().map((m) => this.json(m));
  }

  /** Everything the bot sent (channel messages, replies, follow-ups, ephemeral too), oldest first, current state. */
  sent(): FakeMessage[] {
    return this.botMessages().map((m) => this.json(m));
  }

  /** A message's current state (also deleted or ephemeral ones). */
  message(id: string): FakeMessage {
    const record = this.core.messages.messages.get(id);
    if (!record) throw new Error(`fake Discord: no message ${id}`);
    return this.json(record);
  }

  /** Waits for a message from the bot matching the predicate (already sent ones count, unless `since`). */
  waitForMessage(predicate: (m: FakeMessage) => boolean = () => true, options: MessageWaitOptions = {}): Promise<FakeMessage> {
    const channelId = options.channel ? this.channel(options.channel).id : undefined;
    return this.core.events.waitFor(() => {
      const created = new Set(this.core.events.all('message.create', options.since).map((e) => e.subject));
      return this.botMessages()
        .filter((m) => created.has(m.id) && (!channelId || m.channelId === channelId))
        .map((m) => this.json(m))
        .find(predicate);
    }, 'a message from the bot', options);
  }

  /** Waits for a bot message that was edited and now matches the predicate. */
  waitForEdit(predicate: (m: FakeMessage) => boolean = () => true, options: MessageWaitOptions = {}): Promise<FakeMessage> {
    const channelId = options.channel ? this.channel(options.channel).id : undefined;
    return this.core.events.waitFor(() => {
      const edited = new Set(this.core.events.all('message.update', options.since).map((e) => e.subject));
      return this.botMessages()
        .filter((m) => edited.has(m.id) && (!channelId || m.channelId === channelId))
        .map((m) => this.json(m))
        .find(predicate);
    }, 'an edit by the bot', options);
  }

  /** Waits until `check` returns something truthy, re-checked on every event. */
  waitFor<T>(check: () => T | undefined | null | false, what = 'a condition', options?: WaitOptions): Promise<T> {
    return this.core.events.waitFor(check, what, options);
  }

  /** A handle on an interaction by id (e.g. one found in `events('interaction.create')`). */
  interaction(id: string): InteractionHandle {
    const record = this.interactions.all.get(id);
    if (!record) throw new Error(`fake Discord: no interaction ${id}`);
    return new InteractionHandle(this.core, record);
  }

  /** 429s the fake answered, and `drain` to spend a bucket as another process would. */
  get rateLimits(): { hits: RateLimitHit[]; drain(route: string, majorId: string): void } {
    const limiter = this.core.limiter;
    return { hits: limiter.hits, drain: (route, majorId) => limiter.drain(route, majorId) };
  }

  /** Moves the fake's clock (interaction 3 s window, 15 min tokens); discord.js keeps real time. */
  advanceTime(ms: number): void {
    this.core.clock.advance(ms);
    this.interactions.sweep();
    this.core.events.poke();
  }

  /** Serves arbitrary bytes at an attachment URL on the fake; returns the URL. */
  async serveFile(file: FakeFile, channel?: string): Promise<string> {
    const stored = await this.core.messages.storeFile(this.channel(channel).id, { filename: file.name, contentType: contentTypeOf(file), data: fileBytes(file) });
    return this.core.messages.attachmentUrl(stored);
  }

  /** Stops the gateway and HTTP server. Destroy discord.js clients first, or they try to reconnect. */
  async close(): Promise<void> {
    this.interactions.close();
    this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private botMessages(): MessageRecord[] {
    return [...this.core.messages.messages.values()].filter((m) => m.authorId === this.core.bot.id && !m.deleted);
  }

  private json(message: MessageRecord): FakeMessage {
    return { ...this.core.messageJson(message), guild_id: message.guildId } as unknown as FakeMessage;
  }
}

export function isEphemeral(message: { flags?: number }): boolean {
  return ((message.flags ?? 0) & MessageFlag.Ephemeral) !== 0;
}

/** The address the bot (on this machine) uses when the server listens on every interface. */
function reachableHost(host = '127.0.0.1'): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const core = new Core(options);
  const interactions = new Interactions(core);
  const server = createHttpServer(core, [...appRoutes(core), ...messageRoutes(core), ...interactionRoutes(core, interactions)]);
  const gateway = new Gateway(core, server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const url = `http://${reachableHost(options.host)}:${(server.address() as AddressInfo).port}`;
  core.baseUrl = url;
  core.messages.baseUrl = url;
  return new FakeDiscord(core, interactions, gateway, server, url);
}
