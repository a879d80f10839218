// Messages, their attachments and reactions, and how they look in Discord's JSON.
import sharp from 'sharp';
import type { SnowflakeFactory } from './clock.js';
import { Errors, FormErrors } from './errors.js';
import { LIMITS } from './validate-message.js';
import { userJson, type Model } from './model.js';

type Json = Record<string, unknown>;

export const MessageFlag = { SuppressEmbeds: 4, Ephemeral: 64, Loading: 128, SuppressNotifications: 4096, ComponentsV2: 32768 } as const;

export interface AttachmentRecord {
  id: string;
  channelId: string;
  filename: string;
  contentType: string;
  data: Buffer;
  description: string | null;
  width: number | null;
  height: number | null;
  ephemeral: boolean;
}

export interface UploadedFile {
  /** n of the `files[n]` form field. */
  index: number;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ReactionRecord {
  emoji: { id: string | null; name: string };
  users: Set<string>;
}

export interface MessageRecord {
  id: string;
  channelId: string;
  guildId: string;
  authorId: string;
  content: string;
  embeds: Json[];
  components: Json[];
  attachments: AttachmentRecord[];
  flags: number;
  type: number;
  createdAt: number;
  editedAt: number | null;
  webhookId: string | null;
  applicationId: string | null;
  interaction: { id: string; type: number; userId: string; name?: string } | null;
  messageReference: Json | null;
  reactions: ReactionRecord[];
  deleted: boolean;
  edits: number;
}

/**
 * What Discord accepts as a unicode reaction: the whole string is one emoji (an RGI emoji
 * sequence such as a keycap, flag or ZWJ sequence, or a pictograph without its FE0F); "✅x" or
 * two emoji are refused with 10014.
 */
// The `v` flag (for \p{RGI_Emoji}) is newer than the project's ES2022 target; Node 20 has it.
const UNICODE_EMOJI = new RegExp('^(?:\\p{RGI_Emoji}|\\p{Extended_Pictographic}\\uFE0F?|[#*0-9]\\uFE0F?\\u20E3)$', 'v');

export function parseEmoji(raw: string): { id: string | null; name: string } {
  const decoded = decodeURIComponent(raw);
  const custom = /^(?:a:)?([\w-]{1,32}):(\d{17,20})$/.exec(decoded);
  if (custom) return { id: custom[2]!, name: custom[1]! };
  if (!UNICODE_EMOJI.test(decoded)) throw Errors.unknownEmoji();
  return { id: null, name: decoded };
}

export class MessageStore {
  readonly messages = new Map<string, MessageRecord>();
  readonly files = new Map<string, AttachmentRecord>();
  baseUrl = '';

  constructor(
    private readonly ids: SnowflakeFactory,
    private readonly model: Model,
    private readonly now: () => number,
  ) {}

  attachmentUrl(file: AttachmentRecord): string {
    return `${this.baseUrl}/attachments/${file.channelId}/${file.id}/${encodeURIComponent(file.filename)}`;
  }

  /** Stores bytes as an attachment served by the fake; images get their width and height. */
  async storeFile(channelId: string, file: { filename: string; contentType: string; data: Buffer; description?: string | null }, ephemeral = false): Promise<AttachmentRecord> {
    let width: number | null = null;
    let height: number | null = null;
    if (file.contentType.startsWith('image/')) {
      try {
        const meta = await sharp(file.data).metadata();
        width = meta.width ?? null;
        height = meta.height ?? null;
      } catch {
        // Not decodable: Discord keeps the file but reports no dimensions.
      }
    }
    const record: AttachmentRecord = {
      id: this.ids.next(), channelId, filename: file.filename, contentType: file.contentType, data: file.data,
      description: file.description ?? null, width, height, ephemeral,
    };
    this.files.set(record.id, record);
    return record;
  }

  get(channelId: string, messageId: string): MessageRecord {
    const message = this.messages.get(messageId);
    if (!message || message.deleted || message.channelId !== channelId || message.flags & MessageFlag.Ephemeral) {
      throw Errors.unknownMessage();
    }
    return message;
  }

  /** Visible messages of a channel, newest first, as GET /channels/{id}/messages lists them. */
  list(channelId: string): MessageRecord[] {
    return [...this.messages.values()]
      .filter((m) => m.channelId === channelId && !m.deleted && !(m.flags & MessageFlag.Ephemeral))
      .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
  }

  async create(init: { channelId: string; authorId: string; body: Json; files: UploadedFile[]; type?: number; webhookId?: string | null; interaction?: MessageRecord['interaction']; flags?: number }): Promise<MessageRecord> {
    const channel = this.model.channel(init.channelId);
    const flags = (init.flags ?? 0) | (typeof init.body.flags === 'number' ? init.body.flags : 0);
    const ephemeral = (flags & MessageFlag.Ephemeral) !== 0;
    const message: MessageRecord = {
      id: this.ids.next(), channelId: channel.id, guildId: channel.guildId, authorId: init.authorId,
      content: '', embeds: [], components: [], attachments: [], flags, type: init.type ?? 0,
      createdAt: this.now(), editedAt: null, webhookId: init.webhookId ?? null,
      applicationId: init.webhookId ?? null, interaction: init.interaction ?? null,
      messageReference: null, reactions: [], deleted: false, edits: 0,
    };
    if (init.body.message_reference && typeof init.body.message_reference === 'object') {
      const ref = init.body.message_reference as Json;
      this.get(String(ref.channel_id ?? channel.id), String(ref.message_id));
      message.messageReference = { type: 0, message_id: ref.message_id, channel_id: channel.id, guild_id: channel.guildId };
      message.type = 19;
    }
    await this.applyBody(message, init.body, init.files, ephemeral);
    this.messages.set(message.id, message);
    if (!ephemeral) channel.lastMessageId = message.id;
    return message;
  }

  async edit(message: MessageRecord, body: Json, files: UploadedFile[]): Promise<MessageRecord> {
    await this.applyBody(message, body, files, (message.flags & MessageFlag.Ephemeral) !== 0);
    if (typeof body.flags === 'number') {
      // Only SUPPRESS_EMBEDS can be toggled on edit; LOADING goes away once the deferred reply is edited.
      message.flags = (message.flags & ~MessageFlag.SuppressEmbeds) | (body.flags & MessageFlag.SuppressEmbeds);
    }
    message.flags &= ~MessageFlag.Loading;
    message.editedAt = this.now();
    message.edits++;
    return message;
  }

  /** Applies content, embeds, components and the attachments rule (the `attachments` array lists what stays). */
  private async applyBody(message: MessageRecord, body: Json, files: UploadedFile[], ephemeral: boolean): Promise<void> {
    if ('content' in body) message.content = typeof body.content === 'string' ? body.content : '';
    if ('embeds' in body) message.embeds = Array.isArray(body.embeds) ? body.embeds.map((e) => ({ type: 'rich', ...(e as Json) })) : [];
    if ('components' in body) message.components = Array.isArray(body.components) ? (body.components as Json[]) : [];
    const listed = Array.isArray(body.attachments) ? (body.attachments as Json[]) : undefined;
    for (const file of files) {
      if (file.data.length > LIMITS.uploadBytes) throw Errors.tooLarge();
    }
    const kept = listed === undefined
      ? message.attachments
      : message.attachments.filter((a) => listed.some((l) => String(l.id) === a.id));
    const added: AttachmentRecord[] = [];
    for (const file of files) {
      const meta = listed?.find((l) => String(l.id) === String(file.index));
      const filename = typeof meta?.filename === 'string' ? meta.filename : file.filename;
      const description = typeof meta?.description === 'string' ? meta.description : null;
      added.push(await this.storeFile(message.channelId, { ...file, filename, description }, ephemeral));
    }
    const attachments = [...kept, ...added];
    if (attachments.length > LIMITS.attachments) {
      const errors = new FormErrors();
      errors.add(['attachments'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.attachments} or fewer in length.`);
      errors.throwIfAny();
    }
    message.attachments = attachments;
  }

  /** Adds a reaction; returns false when that user already reacted with that emoji (Discord answers 204 either way). */
  addReaction(message: MessageRecord, emoji: { id: string | null; name: string }, userId: string): boolean {
    let reaction = message.reactions.find((r) => sameEmoji(r.emoji, emoji));
    if (!reaction) {
      if (message.reactions.length >= 20) throw Errors.maxReactions();
      reaction = { emoji, users: new Set() };
      message.reactions.push(reaction);
    }
    if (reaction.users.has(userId)) return false;
    reaction.users.add(userId);
    return true;
  }

  removeReaction(message: MessageRecord, emoji: { id: string | null; name: string }, userId: string): boolean {
    const reaction = message.reactions.find((r) => sameEmoji(r.emoji, emoji));
    if (!reaction || !reaction.users.delete(userId)) return false;
    if (reaction.users.size === 0) message.reactions = message.reactions.filter((r) => r !== reaction);
    return true;
  }

  attachmentJson(file: AttachmentRecord): Json {
    const url = this.attachmentUrl(file);
    return {
      id: file.id,
      filename: file.filename,
      size: file.data.length,
      url,
      proxy_url: url,
      content_type: file.contentType,
      ...(file.description ? { description: file.description } : {}),
      ...(file.width !== null ? { width: file.width, height: file.height } : {}),
      ...(file.ephemeral ? { ephemeral: true } : {}),
    };
  }

  /** The message as the API returns it; `viewerId` decides reactions' `me`. */
  toJson(message: MessageRecord, viewerId: string): Json {
    const mentionIds = [...message.content.matchAll(/<@!?(\d{17,20})>/g)].map((m) => m[1]!);
    return {
      id: message.id,
      type: message.type,
      channel_id: message.channelId,
      author: userJson(this.model.user(message.authorId)),
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: false,
      mentions: mentionIds.filter((id) => this.model.users.has(id)).map((id) => userJson(this.model.user(id))),
      mention_roles: [],
      attachments: message.attachments.map((a) => this.attachmentJson(a)),
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      flags: message.flags,
      ...(message.reactions.length ? { reactions: message.reactions.map((r) => reactionJson(r, viewerId)) } : {}),
      ...(message.webhookId ? { webhook_id: message.webhookId, application_id: message.applicationId } : {}),
      ...(message.messageReference ? { message_reference: message.messageReference } : {}),
      ...(message.interaction
        ? {
            interaction_metadata: {
              id: message.interaction.id,
              type: message.interaction.type,
              user: userJson(this.model.user(message.interaction.userId)),
              authorizing_integration_owners: { '0': message.guildId },
            },
          }
        : {}),
    };
  }
}

function sameEmoji(a: { id: string | null; name: string }, b: { id: string | null; name: string }): boolean {
  return a.id !== null || b.id !== null ? a.id === b.id : a.name === b.name;
}

function reactionJson(reaction: ReactionRecord, viewerId: string): Json {
  return {
    emoji: reaction.emoji,
    count: reaction.users.size,
    count_details: { burst: 0, normal: reaction.users.size },
    me: reaction.users.has(viewerId),
    me_burst: false,
    burst_colors: [],
  };
}
