// What a test holds after a user runs a command or clicks: the callbacks the bot made, the
// original response, follow-ups, and waits for them.
import type { APIMessage } from 'discord.js';
import type { Core } from './core.js';
import type { WaitOptions } from './events.js';
import { CallbackType, type CallbackRecord, type InteractionRecord } from './interactions.js';
import { MessageFlag } from './messages.js';

export type FakeMessage = APIMessage & { guild_id?: string };

export class InteractionHandle {
  constructor(
    private readonly core: Core,
    readonly record: InteractionRecord,
  ) {}

  get id(): string {
    return this.record.id;
  }

  get token(): string {
    return this.record.token;
  }

  /** The INTERACTION_CREATE payload that was dispatched. */
  get payload(): Record<string, unknown> {
    return this.record.payload;
  }

  /** 'pending' until the bot answers, 'expired' when it did not within 3 s. */
  get state(): InteractionRecord['state'] {
    return this.record.state;
  }

  /** Accepted callbacks (at most one) and refused attempts with their Discord code (10062, 40060). */
  get callbacks(): CallbackRecord[] {
    return this.record.callbacks;
  }

  get rejectedCallbacks(): InteractionRecord['rejectedCallbacks'] {
    return this.record.rejectedCallbacks;
  }

  /** The callback type the bot answered with (4 reply, 5 defer, 6 deferred update, 7 update, 8 autocomplete, 9 modal). */
  get callbackType(): number | undefined {
    return this.record.callbacks[0]?.type;
  }

  /** Whether the response is only visible to the user (flags 64). */
  get ephemeral(): boolean {
    const original = this.original();
    return original ? ((original.flags ?? 0) & MessageFlag.Ephemeral) !== 0 : false;
  }

  /** The current @original message, if there is one. */
  original(): FakeMessage | undefined {
    const id = this.record.originalMessageId;
    const message = id ? this.core.messages.messages.get(id) : undefined;
    return message && !message.deleted ? (this.core.messageJson(message) as unknown as FakeMessage) : undefined;
  }

  followUps(): FakeMessage[] {
    return this.record.followUpIds
      .map((id) => this.core.messages.messages.get(id))
      .filter((m) => m && !m.deleted)
      .map((m) => this.core.messageJson(m!) as unknown as FakeMessage);
  }

  /** Waits for the first accepted callback; fails if the interaction expired first. */
  acknowledged(options?: WaitOptions): Promise<CallbackRecord> {
    return this.core.events.waitFor(() => {
      this.failIfExpired();
      return this.record.callbacks[0];
    }, `interaction ${this.describe()} to be acknowledged`, options);
  }

  /** Waits until 3 s passed without an answer (push the clock with `fake.advanceTime`). */
  expired(options?: WaitOptions): Promise<true> {
    return this.core.events.waitFor(() => this.record.state === 'expired' || undefined, `interaction ${this.describe()} to expire`, options);
  }

  /**
   * Waits for what the user finally sees: a reply (type 4), a deferred reply once edited or
   * filled by a follow-up (type 5), the updated message (type 7), or the message edited after a
   * deferred update (type 6).
   */
  reply(options?: WaitOptions): Promise<FakeMessage> {
    let ackSeq = 0;
    return this.core.events.waitFor(() => {
      this.failIfExpired();
      const callback = this.record.callbacks[0];
      if (!callback) return undefined;
      const id = this.record.originalMessageId;
      const message = id ? this.core.messages.messages.get(id) : undefined;
      if (!message) return undefined;
      switch (callback.type) {
        case CallbackType.ChannelMessage:
        case CallbackType.UpdateMessage:
          return this.original();
        case CallbackType.DeferredChannelMessage:
          return message.flags & MessageFlag.Loading ? undefined : this.original();
        case CallbackType.DeferredUpdate: {
          ackSeq ||= this.core.events.all('interaction.callback').find((e) => e.subject === this.id && !e.detail?.rejected)?.seq ?? 0;
          const edited = this.core.events.all('message.update', ackSeq).some((e) => e.subject === message.id);
          return edited ? this.original() : undefined;
        }
        default:
          throw new Error(`fake Discord: interaction ${this.describe()} was answered with callback type ${callback.type}, which shows no message`);
      }
    }, `a reply to interaction ${this.describe()}`, options);
  }

  /** Waits for a follow-up matching the predicate (any follow-up when omitted). */
  waitForFollowUp(predicate: (m: FakeMessage) => boolean = () => true, options?: WaitOptions): Promise<FakeMessage> {
    return this.core.events.waitFor(() => this.followUps().find(predicate), `a follow-up to interaction ${this.describe()}`, options);
  }

  /** For autocomplete interactions: the choices the bot offered. */
  async choices(options?: WaitOptions): Promise<{ name: string; value: string | number }[]> {
    const callback = await this.acknowledged(options);
    if (callback.type !== CallbackType.AutocompleteResult) throw new Error(`fake Discord: expected an autocomplete result, got callback type ${callback.type}`);
    return (callback.data?.choices ?? []) as { name: string; value: string | number }[];
  }

  private failIfExpired(): void {
    if (this.record.state === 'expired') {
      throw new Error(`fake Discord: interaction ${this.describe()} was not answered within 3 s (10062 Unknown interaction)`);
    }
  }

  private describe(): string {
    return this.record.commandName ? `/${this.record.commandName} (${this.id})` : this.id;
  }
}
