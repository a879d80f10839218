// Users, guilds, roles, channels and members, and how they look in Discord's JSON.
import { PermissionFlagsBits } from 'discord.js';
import type { SnowflakeFactory } from './clock.js';
import { Errors } from './errors.js';

export type PermissionName = keyof typeof PermissionFlagsBits;

export const ALL_PERMISSIONS = Object.values(PermissionFlagsBits).reduce((all, bit) => all | bit, 0n);

/** What the bot's role grants unless a test says otherwise: what Kodiak's invite link asks for. */
export const DEFAULT_BOT_PERMISSIONS: PermissionName[] = [
  'ViewChannel', 'SendMessages', 'SendMessagesInThreads', 'EmbedLinks', 'AttachFiles',
  'AddReactions', 'ReadMessageHistory', 'ManageMessages', 'UseApplicationCommands', 'UseExternalEmojis',
];

/** What @everyone can do in a fresh guild (the subset that matters to a bot's tests). */
export const EVERYONE_PERMISSIONS: PermissionName[] = [
  'ViewChannel', 'SendMessages', 'EmbedLinks', 'AttachFiles', 'AddReactions', 'ReadMessageHistory',
  'UseApplicationCommands', 'UseExternalEmojis', 'CreateInstantInvite', 'ChangeNickname',
];

export function permissionBits(names: readonly PermissionName[]): bigint {
  return names.reduce((bits, name) => {
    const bit = PermissionFlagsBits[name];
    if (bit === undefined) throw new Error(`fake Discord: unknown permission ${name}`);
    return bits | bit;
  }, 0n);
}

/** The names of the permission bits set in `bits`. */
export function permissionNames(bits: bigint): PermissionName[] {
  return (Object.keys(PermissionFlagsBits) as PermissionName[]).filter((name) => (bits & PermissionFlagsBits[name]) !== 0n);
}

export interface UserRecord {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

export interface RoleRecord {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  managed: boolean;
}

/** Discord's channel types the fake models. */
export const ChannelType = { GuildText: 0, DM: 1, PublicThread: 11, PrivateThread: 12 } as const;

/** A permission overwrite on a channel: type 0 = role (the guild id is @everyone), 1 = member. */
export interface OverwriteRecord {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface ThreadState {
  archived: boolean;
  locked: boolean;
  ownerId: string;
  /** Thread members: who may see a private thread without Manage Threads. */
  members: Set<string>;
  archiveTimestamp: number;
}

export interface ChannelRecord {
  id: string;
  /** '' for a DM channel. */
  guildId: string;
  name: string;
  position: number;
  lastMessageId: string | null;
  type: number;
  /** The text channel a thread lives in. */
  parentId: string | null;
  overwrites: OverwriteRecord[];
  thread: ThreadState | null;
}

export interface MemberRecord {
  userId: string;
  roleIds: string[];
  joinedAt: string;
  nick: string | null;
}

export interface GuildRecord {
  id: string;
  name: string;
  ownerId: string;
  roles: RoleRecord[];
  channelIds: string[];
  members: Map<string, MemberRecord>;
}

export interface GuildSpec {
  name?: string;
  /** Text channel names; default ['general']. */
  channels?: string[];
  /** Roles to create up front; users can also name new roles later. */
  roles?: { name: string; permissions?: PermissionName[] }[];
}

export class Model {
  readonly users = new Map<string, UserRecord>();
  readonly guilds = new Map<string, GuildRecord>();
  readonly channels = new Map<string, ChannelRecord>();

  constructor(private readonly ids: SnowflakeFactory) {}

  addUser(username: string, bot = false, displayName?: string): UserRecord {
    const user: UserRecord = { id: this.ids.next(), username, globalName: bot ? null : (displayName ?? username), bot };
    this.users.set(user.id, user);
    return user;
  }

  addGuild(spec: GuildSpec, ownerId: string): GuildRecord {
    const id = this.ids.next();
    const everyone: RoleRecord = { id, name: '@everyone', permissions: permissionBits(EVERYONE_PERMISSIONS), position: 0, managed: false };
    const guild: GuildRecord = { id, name: spec.name ?? 'Kodiak Test Guild', ownerId, roles: [everyone], channelIds: [], members: new Map() };
    this.guilds.set(id, guild);
    for (const name of spec.channels ?? ['general']) this.addChannel(guild, name);
    for (const role of spec.roles ?? []) this.addRole(guild, role.name, permissionBits(role.permissions ?? []));
    this.addMember(guild, ownerId, []);
    return guild;
  }

  addChannel(guild: GuildRecord, name: string): ChannelRecord {
    const channel: ChannelRecord = {
      id: this.ids.next(), guildId: guild.id, name, position: guild.channelIds.length, lastMessageId: null,
      type: ChannelType.GuildText, parentId: null, overwrites: [], thread: null,
    };
    this.channels.set(channel.id, channel);
    guild.channelIds.push(channel.id);
    return channel;
  }

  /** A thread under a text channel; it takes its permissions from the parent, as on Discord. */
  addThread(parent: ChannelRecord, name: string, ownerId: string, options: { private?: boolean; archived?: boolean; locked?: boolean; members?: string[] } = {}): ChannelRecord {
    const thread: ChannelRecord = {
      id: this.ids.next(), guildId: parent.guildId, name, position: 0, lastMessageId: null,
      type: options.private ? ChannelType.PrivateThread : ChannelType.PublicThread, parentId: parent.id, overwrites: [],
      thread: { archived: options.archived ?? false, locked: options.locked ?? false, ownerId, members: new Set([ownerId, ...(options.members ?? [])]), archiveTimestamp: Date.now() },
    };
    this.channels.set(thread.id, thread);
    return thread;
  }

  /** The DM channel between the bot and a user (guildId ''). */
  dmChannel(userId: string): ChannelRecord {
    const existing = [...this.channels.values()].find((c) => c.type === ChannelType.DM && c.name === userId);
    if (existing) return existing;
    const channel: ChannelRecord = { id: this.ids.next(), guildId: '', name: userId, position: 0, lastMessageId: null, type: ChannelType.DM, parentId: null, overwrites: [], thread: null };
    this.channels.set(channel.id, channel);
    return channel;
  }

  addRole(guild: GuildRecord, name: string, permissions: bigint, managed = false): RoleRecord {
    const role: RoleRecord = { id: this.ids.next(), name, permissions, position: guild.roles.length, managed };
    guild.roles.push(role);
    return role;
  }

  addMember(guild: GuildRecord, userId: string, roleIds: string[]): MemberRecord {
    const member: MemberRecord = { userId, roleIds, joinedAt: new Date().toISOString(), nick: null };
    guild.members.set(userId, member);
    return member;
  }

  user(id: string): UserRecord {
    const user = this.users.get(id);
    if (!user) throw Errors.unknownUser();
    return user;
  }

  guild(id: string): GuildRecord {
    const guild = this.guilds.get(id);
    if (!guild) throw Errors.unknownGuild();
    return guild;
  }

  channel(id: string): ChannelRecord {
    const channel = this.channels.get(id);
    if (!channel) throw Errors.unknownChannel();
    return channel;
  }

  member(guildId: string, userId: string): MemberRecord {
    const member = this.guild(guildId).members.get(userId);
    if (!member) throw Errors.unknownMember();
    return member;
  }

  /** Base permissions of a member: @everyone plus every role; owners and administrators get everything. */
  permissionsOf(guildId: string, userId: string): bigint {
    const guild = this.guild(guildId);
    if (guild.ownerId === userId) return ALL_PERMISSIONS;
    const member = guild.members.get(userId);
    let bits = guild.roles[0]!.permissions;
    for (const role of guild.roles) if (member?.roleIds.includes(role.id)) bits |= role.permissions;
    return bits & PermissionFlagsBits.Administrator ? ALL_PERMISSIONS : bits;
  }

  hasPermissions(guildId: string, userId: string, names: PermissionName[]): boolean {
    const needed = permissionBits(names);
    return (this.permissionsOf(guildId, userId) & needed) === needed;
  }

  /**
   * A member's permissions in a channel, by Discord's documented algorithm: base permissions,
   * then the @everyone overwrite, then all role overwrites together (deny, then allow), then the
   * member's own. Threads take their parent's overwrites. Implicit denials: without View Channel
   * nothing is left; without Send Messages (Send Messages in Threads in a thread) no Embed Links,
   * Attach Files, Mention Everyone or TTS either.
   */
  permissionsIn(channelId: string, userId: string): bigint {
    const channel = this.channel(channelId);
    const source = channel.parentId ? this.channel(channel.parentId) : channel;
    const base = this.permissionsOf(channel.guildId, userId);
    if (base === ALL_PERMISSIONS) return ALL_PERMISSIONS;
    let bits = base;
    const everyone = source.overwrites.find((o) => o.type === 0 && o.id === channel.guildId);
    if (everyone) bits = (bits & ~everyone.deny) | everyone.allow;
    const roleIds = this.guild(channel.guildId).members.get(userId)?.roleIds ?? [];
    let allow = 0n;
    let deny = 0n;
    for (const o of source.overwrites) {
      if (o.type === 0 && roleIds.includes(o.id)) {
        allow |= o.allow;
        deny |= o.deny;
      }
    }
    bits = (bits & ~deny) | allow;
    const own = source.overwrites.find((o) => o.type === 1 && o.id === userId);
    if (own) bits = (bits & ~own.deny) | own.allow;
    if (!(bits & PermissionFlagsBits.ViewChannel)) return 0n;
    const send = channel.thread ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages;
    if (!(bits & send)) {
      bits &= ~(PermissionFlagsBits.EmbedLinks | PermissionFlagsBits.AttachFiles | PermissionFlagsBits.MentionEveryone | PermissionFlagsBits.SendTTSMessages);
    }
    return bits;
  }

  /** The permission names among `names` a member lacks in a channel. */
  missingIn(channelId: string, userId: string, names: PermissionName[]): PermissionName[] {
    const bits = this.permissionsIn(channelId, userId);
    return names.filter((name) => !(bits & PermissionFlagsBits[name]));
  }

  /** Whether a member can see a channel at all (View Channel; a private thread also needs membership or Manage Threads). */
  canView(channelId: string, userId: string): boolean {
    const channel = this.channel(channelId);
    if (channel.type === ChannelType.DM) return true;
    const bits = this.permissionsIn(channelId, userId);
    if (!(bits & PermissionFlagsBits.ViewChannel)) return false;
    if (channel.type === ChannelType.PrivateThread && !channel.thread!.members.has(userId)) return (bits & PermissionFlagsBits.ManageThreads) !== 0n;
    return true;
  }
}

// ---- Discord JSON ----

export function userJson(user: UserRecord): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    discriminator: '0',
    global_name: user.globalName,
    avatar: null,
    public_flags: 0,
    ...(user.bot ? { bot: true } : {}),
  };
}

export function roleJson(role: RoleRecord): Record<string, unknown> {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.managed,
    mentionable: false,
    flags: 0,
  };
}

export function overwriteJson(o: OverwriteRecord): Record<string, unknown> {
  return { id: o.id, type: o.type, allow: o.allow.toString(), deny: o.deny.toString() };
}

export function channelJson(channel: ChannelRecord, withGuildId = true): Record<string, unknown> {
  if (channel.type === ChannelType.DM) return { id: channel.id, type: ChannelType.DM, last_message_id: channel.lastMessageId, flags: 0, recipients: [] };
  if (channel.thread) return threadJson(channel, withGuildId);
  return {
    id: channel.id,
    type: channel.type,
    ...(withGuildId ? { guild_id: channel.guildId } : {}),
    name: channel.name,
    position: channel.position,
    permission_overwrites: channel.overwrites.map(overwriteJson),
    parent_id: null,
    topic: null,
    nsfw: false,
    last_message_id: channel.lastMessageId,
    rate_limit_per_user: 0,
    flags: 0,
  };
}

function threadJson(channel: ChannelRecord, withGuildId: boolean): Record<string, unknown> {
  const t = channel.thread!;
  return {
    id: channel.id,
    type: channel.type,
    ...(withGuildId ? { guild_id: channel.guildId } : {}),
    name: channel.name,
    parent_id: channel.parentId,
    owner_id: t.ownerId,
    last_message_id: channel.lastMessageId,
    rate_limit_per_user: 0,
    message_count: 0,
    member_count: t.members.size,
    total_message_sent: 0,
    flags: 0,
    thread_metadata: {
      archived: t.archived,
      auto_archive_duration: 1440,
      archive_timestamp: new Date(t.archiveTimestamp).toISOString(),
      locked: t.locked,
      ...(channel.type === ChannelType.PrivateThread ? { invitable: true } : {}),
      create_timestamp: new Date(t.archiveTimestamp).toISOString(),
    },
  };
}

/** A member as it appears inside other objects; `withUser` adds the nested user object. */
export function memberJson(model: Model, member: MemberRecord, withUser = true): Record<string, unknown> {
  return {
    ...(withUser ? { user: userJson(model.user(member.userId)) } : {}),
    nick: member.nick,
    avatar: null,
    banner: null,
    roles: member.roleIds,
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
}

export function guildJson(model: Model, guild: GuildRecord): Record<string, unknown> {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    system_channel_id: guild.channelIds[0] ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    vanity_url_code: null,
    features: [],
    roles: guild.roles.map(roleJson),
    emojis: [],
    stickers: [],
    max_members: 500000,
    premium_progress_bar_enabled: false,
  };
}

/**
 * The GUILD_CREATE payload: the guild plus channels, active threads, members and the extra
 * gateway-only fields. Without the presences intent Discord sends only the bot's own member
 * (and members in voice, which the fake has none of).
 */
export function guildCreateJson(model: Model, guild: GuildRecord, botId: string, withPresences: boolean): Record<string, unknown> {
  const members = [...guild.members.values()].filter((m) => withPresences || m.userId === botId);
  const threads = [...model.channels.values()].filter((c) => c.guildId === guild.id && c.thread && !c.thread.archived && model.canView(c.id, botId));
  return {
    ...guildJson(model, guild),
    joined_at: new Date().toISOString(),
    large: false,
    unavailable: false,
    member_count: guild.members.size,
    voice_states: [],
    members: members.map((m) => memberJson(model, m)),
    channels: guild.channelIds.map((id) => channelJson(model.channel(id), false)),
    threads: threads.map((t) => channelJson(t)),
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
