// Interaction lifecycle as Discord enforces it: one callback within 3 seconds, then a
// webhook token that works for 15 minutes for @original edits and follow-ups.
import { randomBytes } from 'node:crypto';
import type { Core } from './core.js';
import { DiscordError, Errors, FormErrors } from './errors.js';
import { MessageFlag, type MessageRecord, type UploadedFile } from './messages.js';
import { assertNotEmpty, validateMessageBody } from './validate-message.js';

type Json = Record<string, unknown>;

export const ACK_WINDOW_MS = 3_000;
export const TOKEN_LIFETIME_MS = 15 * 60_000;

export const InteractionType = { Ping: 1, ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4, ModalSubmit: 5 } as const;
export const CallbackType = { Pong: 1, ChannelMessage: 4, DeferredChannelMessage: 5, DeferredUpdate: 6, UpdateMessage: 7, AutocompleteResult: 8, Modal: 9 } as const;

export interface CallbackRecord {
  type: number;
  data: Json | undefined;
  at: number;
}

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  userId: string;
  guildId: string;
  channelId: string;
  commandName?: string;
  createdAt: number;
  payload: Json;
  callbacks: CallbackRecord[];
  /** pending until the first callback; expired when 3 s passed without one. */
  state: 'pending' | 'acknowledged' | 'expired';
  /** The message @original refers to: the reply, or for components the message clicked. */
  originalMessageId: string | null;
  /** For components: the message that carries the component. */
  componentMessageId: string | null;
  followUpIds: string[];
  /** A failed callback attempt, e.g. too late (10062) or a second one (40060). */
  rejectedCallbacks: { type: number; code: number; at: number }[];
}

export class Interactions {
  readonly all = new Map<string, InteractionRecord>();
  private readonly byToken = new Map<string, InteractionRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly core: Core) {}

  /** Registers a new interaction (the driver then dispatches INTERACTION_CREATE) and arms its 3 s window. */
  create(init: Omit<InteractionRecord, 'token' | 'createdAt' | 'callbacks' | 'state' | 'originalMessageId' | 'followUpIds' | 'rejectedCallbacks'>): InteractionRecord {
    const record: InteractionRecord = {
      ...init,
      token: `aW50ZXJhY3Rpb246${init.id}:${randomBytes(32).toString('base64url')}`,
      createdAt: this.core.clock.now(),
      callbacks: [],
      state: 'pending',
      originalMessageId: init.componentMessageId,
      followUpIds: [],
      rejectedCallbacks: [],
    };
    record.payload.token = record.token;
    this.all.set(record.id, record);
    this.byToken.set(record.token, record);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.expireIfLate(record);
    }, ACK_WINDOW_MS + 10);
    timer.unref();
    this.timers.add(timer);
    this.core.events.record('interaction.create', record.id, { type: record.type, userId: record.userId });
    return record;
  }

  /** Marks every interaction whose window has passed (after a clock jump or its timer). */
  sweep(): void {
    for (const record of this.all.values()) this.expireIfLate(record);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private expireIfLate(record: InteractionRecord): void {
    if (record.state === 'pending' && this.core.clock.now() - record.createdAt > ACK_WINDOW_MS) {
      record.state = 'expired';
      this.core.events.record('interaction.expired', record.id);
    }
  }

  /** POST /interactions/{id}/{token}/callback */
  async callback(id: string, token: string, body: Json, files: UploadedFile[], withResponse: boolean): Promise<Json | undefined> {
    const record = this.all.get(id);
    if (!record || record.token !== token) throw Errors.unknownInteraction();
    const type = typeof body.type === 'number' ? body.type : -1;
    this.expireIfLate(record);
    const reject = (error: unknown): never => {
      if (!(error instanceof DiscordError)) throw error;
      record.rejectedCallbacks.push({ type, code: error.code, at: this.core.clock.now() });
      this.core.events.record('interaction.callback', record.id, { type, rejected: error.code });
      throw error;
    };
    if (record.state === 'expired') reject(Errors.unknownInteraction());
    if (record.state === 'acknowledged') reject(Errors.alreadyAcknowledged());
    const data = (body.data ?? undefined) as Json | undefined;
    const message = await this.apply(record, type, data ?? {}, files).catch(reject);
    record.state = 'acknowledged';
    record.callbacks.push({ type, data, at: this.core.clock.now() });
    this.core.events.record('interaction.callback', record.id, { type });
    if (!withResponse) return undefined;
    const original = record.originalMessageId ? this.core.messages.messages.get(record.originalMessageId) : undefined;
    return {
      interaction: {
        id: record.id, type: record.type, activity_instance_id: null,
        response_message_id: original?.id ?? null,
        response_message_loading: original ? (original.flags & MessageFlag.Loading) !== 0 : false,
        response_message_ephemeral: original ? (original.flags & MessageFlag.Ephemeral) !== 0 : false,
      },
      resource: { type, ...(message ? { message: this.core.messageJson(message) } : {}) },
    };
  }

  private async apply(record: InteractionRecord, type: number, data: Json, files: UploadedFile[]): Promise<MessageRecord | undefined> {
    const isComponent = record.type === InteractionType.MessageComponent || record.type === InteractionType.ModalSubmit;
    switch (type) {
      case CallbackType.ChannelMessage:
      case CallbackType.DeferredChannelMessage: {
        if (record.type === InteractionType.Autocomplete) throw invalidCallbackType(type);
        const deferred = type === CallbackType.DeferredChannelMessage;
        const body = deferred ? { flags: data.flags } : data;
        if (!deferred) {
          validateMessageBody(data);
          assertNotEmpty(data, files.length);
        }
        const message = await this.core.postMessage({
          channelId: record.channelId, authorId: this.core.bot.id, body, files: deferred ? [] : files,
          type: record.type === InteractionType.ApplicationCommand ? 20 : 19,
          webhookId: this.core.applicationId,
          interaction: { id: record.id, type: record.type, userId: record.userId, name: record.commandName },
          flags: (typeof data.flags === 'number' ? data.flags & MessageFlag.Ephemeral : 0) | (deferred ? MessageFlag.Loading : 0),
        });
        record.originalMessageId = message.id;
        return message;
      }
      case CallbackType.DeferredUpdate:
      case CallbackType.UpdateMessage: {
        if (!isComponent || !record.componentMessageId) throw invalidCallbackType(type);
        const message = this.core.messages.messages.get(record.componentMessageId);
        if (!message || message.deleted) throw Errors.unknownMessage();
        if (type === CallbackType.UpdateMessage) {
          validateMessageBody(data);
          await this.core.editMessage(message, data, files);
        }
        return message;
      }
      case CallbackType.AutocompleteResult: {
        if (record.type !== InteractionType.Autocomplete) throw invalidCallbackType(type);
        const errors = new FormErrors();
        const choices = Array.isArray(data.choices) ? data.choices : [];
        if (choices.length > 25) errors.add(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
        choices.forEach((c: Json, i: number) => {
          if (typeof c?.name !== 'string' || c.name.length < 1 || c.name.length > 100) {
            errors.add(['data', 'choices', i, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
          }
        });
        errors.throwIfAny();
        return undefined;
      }
      case CallbackType.Modal: {
        if (record.type === InteractionType.Autocomplete || record.type === InteractionType.ModalSubmit) throw invalidCallbackType(type);
        const errors = new FormErrors();
        if (typeof data.custom_id !== 'string' || data.custom_id.length > 100) errors.add(['data', 'custom_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
        if (typeof data.title !== 'string' || data.title.length > 45) errors.add(['data', 'title'], 'BASE_TYPE_MAX_LENGTH', 'Must be 45 or fewer in length.');
        errors.throwIfAny();
        return undefined;
      }
      default:
        throw invalidCallbackType(type);
    }
  }

  /** The interaction behind a webhook token, if the token is still alive. */
  byWebhook(applicationId: string, token: string): InteractionRecord {
    const record = this.byToken.get(token);
    if (!record || applicationId !== this.core.applicationId) throw Errors.unknownWebhook();
    if (this.core.clock.now() - record.createdAt > TOKEN_LIFETIME_MS) throw Errors.invalidWebhookToken();
    return record;
  }

  /** A message reachable through the token: '@original' or one of its follow-ups. */
  webhookMessage(record: InteractionRecord, messageId: string): MessageRecord {
    const id = messageId === '@original' ? record.originalMessageId : messageId;
    if (id === null || record.state !== 'acknowledged') throw Errors.unknownWebhook();
    if (id !== record.originalMessageId && !record.followUpIds.includes(id)) throw Errors.unknownMessage();
    const message = this.core.messages.messages.get(id);
    if (!message || message.deleted) throw Errors.unknownMessage();
    return message;
  }

  /** POST /webhooks/{app}/{token}: after a defer, the first follow-up fills the loading message, as on Discord. */
  async followUp(record: InteractionRecord, body: Json, files: UploadedFile[]): Promise<MessageRecord> {
    if (record.state !== 'acknowledged') throw Errors.unknownWebhook();
    validateMessageBody(body);
    assertNotEmpty(body, files.length);
    const original = record.originalMessageId ? this.core.messages.messages.get(record.originalMessageId) : undefined;
    if (original && !original.deleted && original.flags & MessageFlag.Loading) {
      return this.core.editMessage(original, body, files);
    }
    const message = await this.core.postMessage({
      channelId: record.channelId, authorId: this.core.bot.id, body, files, type: 0,
      webhookId: this.core.applicationId,
      interaction: { id: record.id, type: record.type, userId: record.userId, name: record.commandName },
      flags: typeof body.flags === 'number' ? body.flags & (MessageFlag.Ephemeral | MessageFlag.SuppressEmbeds | MessageFlag.SuppressNotifications) : 0,
    });
    record.followUpIds.push(message.id);
    return message;
  }
}

function invalidCallbackType(type: number): DiscordError {
  return new DiscordError(400, 50035, 'Invalid Form Body', { type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: `Interaction response type ${type} is not valid for this interaction` }] } });
}
