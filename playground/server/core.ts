// The fake's shared state and the operations that both the HTTP routes and the test driver
// use, so a message posted either way is stored, logged and dispatched over the gateway alike.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { FakeClock, SnowflakeFactory } from './clock.js';
import { EventLog } from './events.js';
import { Model, permissionBits, DEFAULT_BOT_PERMISSIONS, memberJson, type GuildSpec, type PermissionName, type UserRecord } from './model.js';
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

  constructor(readonly options: FakeDiscordOptions = {}) {
    this.limiter = new RateLimiter(this.clock, options.rateLimits);
    this.bot = this.model.addUser(options.botName ?? 'Kodiak', true);
    this.applicationId = this.bot.id; // Discord bots created today share their application's id
    this.owner = this.model.addUser('guild-owner');
    this.token = options.token ?? `${Buffer.from(this.bot.id).toString('base64url')}.fake.${randomBytes(18).toString('base64url')}`;
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

  /** MESSAGE_CREATE / MESSAGE_UPDATE carry guild_id and the author's member object. */
  private messageEvent(message: MessageRecord): Json {
    const member = this.model.guild(message.guildId).members.get(message.authorId);
    return { ...this.messageJson(message), guild_id: message.guildId, ...(member && !message.webhookId ? { member: memberJson(this.model, member, false) } : {}) };
  }

  /** Stores a new message, records it and tells the gateway (ephemeral messages reach only the user). */
  async postMessage(init: Parameters<MessageStore['create']>[0]): Promise<MessageRecord> {
    const message = await this.messages.create(init);
    this.events.record('message.create', message.id, { channelId: message.channelId, authorId: message.authorId });
    if (!(message.flags & MessageFlag.Ephemeral)) {
      this.dispatch({ t: 'MESSAGE_CREATE', d: this.messageEvent(message), intent: Intent.GuildMessages, messageAuthorId: message.authorId });
    }
    return message;
  }

  async editMessage(message: MessageRecord, body: Json, files: UploadedFile[]): Promise<MessageRecord> {
    await this.messages.edit(message, body, files);
    this.events.record('message.update', message.id, { channelId: message.channelId });
    if (!(message.flags & MessageFlag.Ephemeral)) {
      this.dispatch({ t: 'MESSAGE_UPDATE', d: this.messageEvent(message), intent: Intent.GuildMessages, messageAuthorId: message.authorId });
    }
    return message;
  }

  deleteMessage(message: MessageRecord): void {
    message.deleted = true;
    this.events.record('message.delete', message.id, { channelId: message.channelId });
    if (!(message.flags & MessageFlag.Ephemeral)) {
      this.dispatch({ t: 'MESSAGE_DELETE', d: { id: message.id, channel_id: message.channelId, guild_id: message.guildId }, intent: Intent.GuildMessages });
    }
  }

  react(message: MessageRecord, emoji: { id: string | null; name: string }, userId: string): void {
    if (!this.messages.addReaction(message, emoji, userId)) return;
    this.events.record('reaction.add', message.id, { userId, emoji: emoji.name });
    const member = this.model.guild(message.guildId).members.get(userId);
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

  /** The bot needs these permissions in the channel's guild, or gets 50013. */
  requireBotPermissions(guildId: string, names: PermissionName[]): void {
    if (!this.model.hasPermissions(guildId, this.bot.id, names)) throw Errors.missingPermissions();
  }

  /** Finds a message by id in any channel (driver convenience). */
  findMessage(id: string): MessageRecord {
    const message = this.messages.messages.get(id);
    if (!message || message.deleted) throw new Error(`fake Discord: no message ${id}`);
    return message;
  }
}
