// The fake's shared state and the operations that both the HTTP routes and the test driver
// use, so a message posted either way is stored, logged and dispatched over the gateway alike.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeClock, SnowflakeFactory } from './clock.js';
import { EventLog } from './events.js';
import { Model, permissionBits, DEFAULT_BOT_PERMISSIONS, channelJson, memberJson, type ChannelRecord, type GuildSpec, type PermissionName, type UserRecord } from './model.js';
import { MessageStore, MessageFlag, type MessageRecord, type UploadedFile } from './messages.js';
import { RateLimiter, type RateLimitConfig } from './ratelimits.js';
import { Errors } from './errors.js';

type Json = Record<string, unknown>;

export interface FakeDiscordOptions {
  /** Guilds the bot is in; default one guild with a #general channel. */
  guilds?: GuildSpec[];
  /** The bot's username; default 'Kodiak'. */
  botName?: string;
  /** What the bot's managed role allows; default DEFAULT_BOT_PERMISSIONS. */
  botPermissions?: PermissionName[];
  /** The bot token the fake accepts; default a random one (read it from `fake.token`). */
  token?: string;
  /** Per-route limits merged over DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimitConfig;
  /** HELLO's heartbeat interval; default 41250 ms like Discord. */
  heartbeatIntervalMs?: number;
  /** Privileged intents enabled in the "developer portal"; default all three. */
  privilegedIntents?: ('GuildMembers' | 'GuildPresences' | 'MessageContent')[];
  /**
   * Network latency each way, in ms, on REST (request and answer) and on the gateway (both
   * directions); default 0. With 100-200 ms the 3-second interaction window means what it does on Discord.
   */
  latencyMs?: number;
  /** Where to listen; default 127.0.0.1 on a free port (the playground picks its own). */
  host?: string;
  port?: number;
  /**
   * Fills the model from saved state instead of creating a fresh bot, owner and guilds (the
   * playground's restart); returns who the bot and owner are and the token they had.
   */
  restore?: (core: Core) => { bot: UserRecord; owner: UserRecord; token: string };
}

/** One REST request as the fake answered it; 401, 403 and 429 count towards Discord's invalid-request ban. */
export interface RestRequest {
  /** Position in the fake's event log, so `since: fake.mark()` works on requests too. */
  seq: number;
  method: string;
  /** The path under /api/v10 and the route template it matched. */
  path: string;
  route: string;
  status: number;
  /** Discord's JSON error code, when the answer was an error. */
  code?: number;
  /** For 429: the X-RateLimit-Scope ('user', 'global' or 'shared'; 'shared' does not count as invalid). */
  scope?: string;
}

/** Discord bans an application for a while after 10,000 of these in 10 minutes. */
export function isInvalidRequest(r: RestRequest): boolean {
  return r.status === 401 || r.status === 403 || (r.status === 429 && r.scope !== 'shared');
}

/** Gateway intents the fake honours when dispatching. */
export const Intent = { Guilds: 1 << 0, GuildMembers: 1 << 1, GuildPresences: 1 << 8, GuildMessages: 1 << 9, GuildMessageReactions: 1 << 10, MessageContent: 1 << 15 } as const;

export interface Dispatch {
  t: string;
  d: Json;
  /** The intent a session needs to receive it; undefined = always sent. */
  intent?: number;
  /** For MESSAGE_CREATE/UPDATE: the author, to decide whether MESSAGE_CONTENT applies. */
  messageAuthorId?: string;
}

export class Core {
  readonly clock = new FakeClock();
  readonly ids = new SnowflakeFactory(this.clock);
  readonly events = new EventLog(() => this.clock.now());
  readonly model = new Model(this.ids);
  readonly messages = new MessageStore(this.ids, this.model, () => this.clock.now());
  readonly limiter: RateLimiter;
  readonly bot: UserRecord;
  readonly owner: UserRecord;
  readonly applicationId: string;
  readonly token: string;
  /** The gateway listens here: `dispatch` events carry a Dispatch. */
  readonly bus = new EventEmitter();
  /** Registered commands: key 'global' or a guild id. */
  readonly commands = new Map<string, Json[]>();
  baseUrl = '';
  /** Every REST request, in order (also the 401/403/429s the invalid-request counter reads). */
  readonly requests: RestRequest[] = [];
  latencyMs: number;
  /** Serves what is neither the API nor an attachment (the playground's page); 404 when unset. */
  web?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Extra time some routes take to answer ("METHOD /route/:template" -> ms). */
  readonly routeDelays = new Map<string, number>();

  constructor(readonly options: FakeDiscordOptions = {}) {
    this.limiter = new RateLimiter(this.clock, options.rateLimits);
    this.latencyMs = options.latencyMs ?? 0;
    const restored = options.restore?.(this);
    this.bot = restored?.bot ?? this.model.addUser(options.botName ?? 'Kodiak', true);
    this.applicationId = this.bot.id; // Discord bots created today share their application's id
    this.owner = restored?.owner ?? this.model.addUser('guild-owner');
    this.token = restored?.token ?? options.token ?? `${Buffer.from(this.bot.id).toString('base64url')}.fake.${randomBytes(18).toString('base64url')}`;
    if (restored) return;
    for (const spec of options.guilds ?? [{}]) {
      const guild = this.model.addGuild(spec, this.owner.id);
      const botRole = this.model.addRole(guild, options.botName ?? 'Kodiak', permissionBits(options.botPermissions ?? DEFAULT_BOT_PERMISSIONS), true);
      this.model.addMember(guild, this.bot.id, [botRole.id]);
    }
  }

  dispatch(dispatch: Dispatch): void {
    this.bus.emit('dispatch', dispatch);
  }

  messageJson(message: MessageRecord): Json {
    return this.messages.toJson(message, this.bot.id);
  }

  /** Discord sends a channel's events only to those who can see it (DMs need an intent the bot does not ask for). */
  private botSees(message: MessageRecord): boolean {
    return message.guildId !== '' && this.model.canView(message.channelId, this.bot.id);
  }

  /** Whether the application was granted the Message Content intent in the "developer portal". */
  get messageContentGranted(): boolean {
    return (this.options.privilegedIntents ?? ['MessageContent']).includes('MessageContent');
  }

  /**
   * A message as a REST answer shows it to the bot: without the Message Content intent Discord
   * blanks content, embeds, attachments and components of other users' guild messages that do
   * not mention the app, in REST answers as on the gateway.
   */
  restMessageJson(message: MessageRecord): Json {
    const json = this.messageJson(message);
    return this.messageContentGranted ? json : withoutContent(json, message, this.bot.id);
  }

  /** MESSAGE_CREATE / MESSAGE_UPDATE carry guild_id and the author's member object. */
  private messageEvent(message: MessageRecord): Json {
    const member = this.model.guilds.get(message.guildId)?.members.get(message.authorId);
    return { ...this.messageJson(message), ...(message.guildId ? { guild_id: message.guildId } : {}), ...(member && !message.webhookId ? { member: memberJson(this.model, member, false) } : {}) };
  }

  /** Stores a new message, records it and tells the gateway (ephemeral messages reach only the user). */
  async postMessage(init: Parameters<MessageStore['create']>[0]): Promise<MessageRecord> {
    const message = await this.messages.create(init);
    this.events.record('message.create', message.id, { channelId: message.channelId, authorId: message.authorId });
    if (!(message.flags & MessageFlag.Ephemeral) && this.botSees(message)) {
      this.dispatch({ t: 'MESSAGE_CREATE', d: this.messageEvent(message), intent: Intent.GuildMessages, messageAuthorId: message.authorId });
    }
    return message;
  }

  async editMessage(message: MessageRecord, body: Json, files: UploadedFile[]): Promise<MessageRecord> {
    await this.messages.edit(message, body, files);
    this.events.record('message.update', message.id, { channelId: message.channelId });
    if (!(message.flags & MessageFlag.Ephemeral) && this.botSees(message)) {
      this.dispatch({ t: 'MESSAGE_UPDATE', d: this.messageEvent(message), intent: Intent.GuildMessages, messageAuthorId: message.authorId });
    }
    return message;
  }

  deleteMessage(message: MessageRecord): void {
    message.deleted = true;
    this.events.record('message.delete', message.id, { channelId: message.channelId });
    if (!(message.flags & MessageFlag.Ephemeral) && this.botSees(message)) {
      this.dispatch({ t: 'MESSAGE_DELETE', d: { id: message.id, channel_id: message.channelId, guild_id: message.guildId }, intent: Intent.GuildMessages });
    }
  }

  react(message: MessageRecord, emoji: { id: string | null; name: string }, userId: string): void {
    if (!this.messages.addReaction(message, emoji, userId)) return;
    this.events.record('reaction.add', message.id, { userId, emoji: emoji.name });
    if (!this.botSees(message)) return;
    const member = this.model.guilds.get(message.guildId)?.members.get(userId);
    this.dispatch({
      t: 'MESSAGE_REACTION_ADD',
      intent: Intent.GuildMessageReactions,
      d: {
        user_id: userId, channel_id: message.channelId, message_id: message.id, guild_id: message.guildId,
        ...(member ? { member: memberJson(this.model, member) } : {}),
        emoji, message_author_id: message.authorId, burst: false, burst_colors: [], type: 0,
      },
    });
  }

  unreact(message: MessageRecord, emoji: { id: string | null; name: string }, userId: string): void {
    if (!this.messages.removeReaction(message, emoji, userId)) return;
    this.events.record('reaction.remove', message.id, { userId, emoji: emoji.name });
    if (!this.botSees(message)) return;
    this.dispatch({
      t: 'MESSAGE_REACTION_REMOVE',
      intent: Intent.GuildMessageReactions,
      d: { user_id: userId, channel_id: message.channelId, message_id: message.id, guild_id: message.guildId, emoji, burst: false, type: 0 },
    });
  }

  /** Removes all reactions, or all of one emoji (MESSAGE_REACTION_REMOVE_ALL / _EMOJI). */
  clearReactions(message: MessageRecord, emoji?: { id: string | null; name: string }): void {
    const ids = { channel_id: message.channelId, message_id: message.id, guild_id: message.guildId };
    if (emoji) {
      message.reactions = message.reactions.filter((r) => !(r.emoji.name === emoji.name && r.emoji.id === emoji.id));
      this.events.record('reaction.remove', message.id, { emoji: emoji.name, all: true });
      this.dispatch({ t: 'MESSAGE_REACTION_REMOVE_EMOJI', d: { ...ids, emoji }, intent: Intent.GuildMessageReactions });
    } else {
      message.reactions = [];
      this.events.record('reaction.remove', message.id, { all: true });
      this.dispatch({ t: 'MESSAGE_REACTION_REMOVE_ALL', d: ids, intent: Intent.GuildMessageReactions });
    }
  }

  /**
   * The bot needs to see the channel (50001 Missing Access otherwise, also for a private thread
   * it is not in) and to hold these permissions there (50013 Missing Permissions).
   */
  requireBotPermissions(channelId: string, names: PermissionName[]): void {
    if (!this.model.canView(channelId, this.bot.id)) throw Errors.missingAccess();
    if (this.model.channel(channelId).type === 1) return; // a DM has no permissions to check
    if (this.model.missingIn(channelId, this.bot.id, names).length) throw Errors.missingPermissions();
  }

  /** Edits, deletions and reactions in an archived thread are refused with 50083. */
  requireNotArchived(channelId: string): void {
    if (this.model.channel(channelId).thread?.archived) throw Errors.threadArchived();
  }

  /**
   * Sending in a thread: a locked thread takes messages only from those with Manage Threads
   * (160005, or 50083 when it is also archived); an archived one is unarchived by the message.
   */
  prepareThreadForMessage(channelId: string): void {
    const channel = this.model.channel(channelId);
    const thread = channel.thread;
    if (!thread) return;
    const manager = this.model.missingIn(channelId, this.bot.id, ['ManageThreads']).length === 0;
    if (thread.locked && !manager) throw thread.archived ? Errors.threadArchived() : Errors.threadLocked();
    if (thread.archived) this.updateThread(channel, { archived: false });
  }

  /** Changes a thread's state and tells clients that may see it (THREAD_UPDATE). */
  updateThread(thread: ChannelRecord, change: { archived?: boolean; locked?: boolean }): void {
    const state = thread.thread!;
    if (change.archived !== undefined && change.archived !== state.archived) {
      state.archived = change.archived;
      state.archiveTimestamp = this.clock.now();
    }
    if (change.locked !== undefined) state.locked = change.locked;
    this.dispatchChannel('THREAD_UPDATE', thread);
  }

  /** CHANNEL_CREATE/UPDATE or THREAD_CREATE/UPDATE, sent only when the bot can see the channel. */
  dispatchChannel(t: string, channel: ChannelRecord): void {
    if (!this.model.canView(channel.id, this.bot.id)) return;
    this.dispatch({ t, d: channelJson(channel), intent: Intent.Guilds });
  }

  /** Finds a message by id in any channel (driver convenience). */
  findMessage(id: string): MessageRecord {
    const message = this.messages.messages.get(id);
    if (!message || message.deleted) throw new Error(`fake Discord: no message ${id}`);
    return message;
  }
}

/** The Message Content rule: what a message looks like to an app without the intent. */
export function withoutContent(json: Json, message: MessageRecord, botId: string): Json {
  if (message.authorId === botId || !message.guildId) return json;
  if ((json.mentions as { id: string }[] | undefined)?.some((u) => u.id === botId)) return json;
  return { ...json, content: '', embeds: [], attachments: [], components: [] };
}
