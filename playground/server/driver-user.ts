// A fake guild member a test acts through: runs slash commands, clicks buttons, picks
// select options, reacts, and posts messages with attachments.
import { PermissionFlagsBits } from 'discord.js';
import type { Core } from './core.js';
import { Intent } from './core.js';
import { InteractionHandle, type FakeMessage } from './interaction-handle.js';
import { InteractionType, type Interactions } from './interactions.js';
import { basePayload, buildCommandData, contentTypeOf, fileBytes, findCommand, findComponent, type FakeFile, type OptionValue } from './interaction-payload.js';
import { parseEmoji, type MessageRecord } from './messages.js';
import type { UserRecord } from './model.js';
import { assertNotEmpty, validateMessageBody } from './validate-message.js';

export interface ActOptions {
  /** Channel id or name; default the guild's first channel (for clicks: the message's channel). */
  channel?: string;
  /** The user's client locale; default 'en-US'. */
  locale?: string;
}

export interface RunCommandOptions extends ActOptions {
  /** Files for the command's attachment options that `options` did not fill, in declaration order. */
  attachments?: FakeFile[];
  /** Run it in the user's DM with the bot (only global commands whose contexts include BOT_DM). */
  dm?: boolean;
}

export interface SendOptions {
  content?: string;
  attachments?: FakeFile[];
  channel?: string;
  /** Makes the message a reply to this message. */
  replyTo?: string | { id: string };
}

type MessageRef = string | { id: string };

export class FakeUser {
  constructor(
    private readonly core: Core,
    private readonly interactions: Interactions,
    readonly record: UserRecord,
    private readonly resolveChannel: (nameOrId?: string) => string,
  ) {}

  get id(): string {
    return this.record.id;
  }

  get name(): string {
    return this.record.username;
  }

  /**
   * Runs `/name` (or `/group sub`, written with spaces) with options typed after the
   * registered command; returns at once with a handle on the interaction.
   */
  async runCommand(name: string, options: Record<string, OptionValue> = {}, extra: RunCommandOptions = {}): Promise<InteractionHandle> {
    const channelId = extra.dm ? this.core.model.dmChannel(this.id).id : this.resolveChannel(extra.channel);
    const path = name.replace(/^\//, '').split(/\s+/);
    this.requireCommandPermission(channelId, path[0]!);
    const values = { ...options, ...(this.fillAttachmentOptions(channelId, path, options, extra.attachments ?? [])) };
    const data = await buildCommandData(this.core, channelId, path, values);
    return this.dispatch(channelId, InteractionType.ApplicationCommand, data, extra.locale, path.join(' '));
  }

  /** Types into an autocomplete option: the bot answers with choices (`handle.choices()`). */
  async autocomplete(name: string, focused: string, options: Record<string, OptionValue>, extra: ActOptions = {}): Promise<InteractionHandle> {
    const channelId = this.resolveChannel(extra.channel);
    const path = name.replace(/^\//, '').split(/\s+/);
    const data = await buildCommandData(this.core, channelId, path, options, focused);
    return this.dispatch(channelId, InteractionType.Autocomplete, data, extra.locale, path.join(' '));
  }

  /** Clicks a button on a message, found by custom_id or by its label. */
  async click(message: MessageRef, customIdOrLabel: string, extra: Omit<ActOptions, 'channel'> = {}): Promise<InteractionHandle> {
    const record = this.core.findMessage(idOf(message));
    const button = findComponent(record, customIdOrLabel, 'button');
    return this.dispatchComponent(record, { custom_id: button.custom_id, component_type: 2 }, extra.locale);
  }

  /** Picks option values (by value or label) in a select menu found by custom_id or placeholder. */
  async select(message: MessageRef, customId: string, values: string[], extra: Omit<ActOptions, 'channel'> = {}): Promise<InteractionHandle> {
    const record = this.core.findMessage(idOf(message));
    const select = findComponent(record, customId, 'select');
    const options = (select.options ?? []) as { label: string; value: string }[];
    const picked = select.type === 3
      ? values.map((v) => {
          const option = options.find((o) => o.value === v) ?? options.find((o) => o.label === v);
          if (!option) throw new Error(`fake Discord: select "${customId}" has no option "${v}" (has: ${options.map((o) => o.value).join(', ')})`);
          return option.value;
        })
      : values;
    const min = typeof select.min_values === 'number' ? select.min_values : 1;
    const max = typeof select.max_values === 'number' ? select.max_values : 1;
    if (picked.length < min || picked.length > max) throw new Error(`fake Discord: select "${customId}" takes ${min}..${max} values, got ${picked.length}`);
    return this.dispatchComponent(record, { custom_id: select.custom_id, component_type: select.type, values: picked }, extra.locale);
  }

  /**
   * Fills in and submits the modal the bot opened on `handle` (callback type 9); `values` maps
   * each text input's custom_id to what the user typed. Required inputs must be filled.
   */
  async submitModal(handle: InteractionHandle, values: Record<string, string>, extra: Omit<ActOptions, 'channel'> = {}): Promise<InteractionHandle> {
    const modal = handle.callbacks.find((c) => c.type === 9)?.data;
    if (!modal) throw new Error(`fake Discord: interaction ${handle.id} did not open a modal`);
    const answer = (input: Record<string, unknown>): Record<string, unknown> => {
      const id = String(input.custom_id);
      const value = values[id] ?? '';
      if (input.required !== false && value === '') throw new Error(`fake Discord: modal input "${id}" is required`);
      if (typeof input.max_length === 'number' && value.length > input.max_length) throw new Error(`fake Discord: modal input "${id}" is longer than ${input.max_length}`);
      return { type: 4, custom_id: id, value };
    };
    const components = ((modal.components ?? []) as Record<string, unknown>[]).map((row) =>
      row.type === 18
        ? { type: 18, component: answer(row.component as Record<string, unknown>) }
        : { type: 1, components: ((row.components ?? []) as Record<string, unknown>[]).map(answer) });
    const source = handle.record;
    const message = source.componentMessageId ? this.core.messages.messages.get(source.componentMessageId) : undefined;
    const payload = {
      ...basePayload(this.core, this.record, source.channelId, InteractionType.ModalSubmit, extra.locale ?? 'en-US'),
      data: { custom_id: modal.custom_id, components },
      ...(message ? { message: this.core.messageJson(message) } : {}),
    };
    return this.emit(payload, { type: InteractionType.ModalSubmit, channelId: source.channelId, componentMessageId: message?.id ?? null });
  }

  /** Adds a reaction (unicode emoji or "name:id"); the bot gets MESSAGE_REACTION_ADD. */
  async react(message: MessageRef, emoji: string): Promise<void> {
    this.core.react(this.core.findMessage(idOf(message)), parseEmoji(encodeURIComponent(emoji)), this.id);
  }

  async unreact(message: MessageRef, emoji: string): Promise<void> {
    this.core.unreact(this.core.findMessage(idOf(message)), parseEmoji(encodeURIComponent(emoji)), this.id);
  }

  /** Posts a message (content and/or files); the bot gets MESSAGE_CREATE with attachment URLs on the fake. */
  async send(input: string | SendOptions): Promise<FakeMessage> {
    const options = typeof input === 'string' ? { content: input } : input;
    const channelId = this.resolveChannel(options.channel);
    const body: Record<string, unknown> = options.content === undefined ? {} : { content: options.content };
    if (options.replyTo) body.message_reference = { message_id: idOf(options.replyTo), channel_id: channelId };
    validateMessageBody(body);
    const files = (options.attachments ?? []).map((file, index) => ({ index, filename: file.name, contentType: contentTypeOf(file), data: fileBytes(file) }));
    assertNotEmpty(body, files.length);
    const message = await this.core.postMessage({ channelId, authorId: this.id, body, files });
    return this.core.messageJson(message) as unknown as FakeMessage;
  }

  /**
   * Discord's client offers a command with `default_member_permissions` only to members who hold
   * them in the channel (administrators always; "0" means administrators only).
   */
  private requireCommandPermission(channelId: string, name: string): void {
    const channel = this.core.model.channel(channelId);
    if (channel.guildId === '') return;
    const needed = findCommand(this.core, channel.guildId, name).default_member_permissions;
    if (needed === null || needed === undefined) return;
    const bits = this.core.model.permissionsIn(channelId, this.id);
    const admin = (bits & PermissionFlagsBits.Administrator) !== 0n;
    if (!admin && (BigInt(String(needed)) === 0n || (bits & BigInt(String(needed))) !== BigInt(String(needed)))) {
      throw new Error(`fake Discord: /${name} is not offered to ${this.name} (default_member_permissions ${String(needed)})`);
    }
  }

  private fillAttachmentOptions(channelId: string, path: string[], given: Record<string, OptionValue>, files: FakeFile[]): Record<string, OptionValue> {
    if (files.length === 0) return {};
    let definitions = (findCommand(this.core, this.core.model.channel(channelId).guildId, path[0]!).options ?? []) as Record<string, unknown>[];
    for (const part of path.slice(1)) definitions = ((definitions.find((o) => o.name === part)?.options ?? []) as Record<string, unknown>[]);
    const open = definitions.filter((o) => o.type === 11 && given[String(o.name)] === undefined);
    if (files.length > open.length) throw new Error(`fake Discord: /${path.join(' ')} has ${open.length} free attachment option(s), got ${files.length} files`);
    return Object.fromEntries(files.map((file, i) => [String(open[i]!.name), file]));
  }

  private dispatch(channelId: string, type: number, data: Record<string, unknown>, locale = 'en-US', commandName?: string): InteractionHandle {
    const payload = { ...basePayload(this.core, this.record, channelId, type, locale), data };
    return this.emit(payload, { type, channelId, commandName, componentMessageId: null });
  }

  private dispatchComponent(message: MessageRecord, data: Record<string, unknown>, locale = 'en-US'): InteractionHandle {
    const payload = { ...basePayload(this.core, this.record, message.channelId, InteractionType.MessageComponent, locale), data, message: this.core.messageJson(message) };
    return this.emit(payload, { type: InteractionType.MessageComponent, channelId: message.channelId, componentMessageId: message.id });
  }

  private emit(payload: Record<string, unknown>, info: { type: number; channelId: string; commandName?: string; componentMessageId: string | null }): InteractionHandle {
    // In a channel this user cannot see, their client would not let them act at all.
    if (!this.core.model.canView(info.channelId, this.id)) throw new Error(`fake Discord: ${this.name} cannot see channel ${info.channelId}`);
    const guildId = this.core.model.channel(info.channelId).guildId;
    const record = this.interactions.create({
      id: String(payload.id), type: info.type, userId: this.id, guildId, channelId: info.channelId,
      ...(info.commandName ? { commandName: info.commandName } : {}), payload, componentMessageId: info.componentMessageId,
    });
    this.core.dispatch({ t: 'INTERACTION_CREATE', d: payload });
    return new InteractionHandle(this.core, record);
  }
}

const idOf = (ref: MessageRef): string => (typeof ref === 'string' ? ref : ref.id);

/** Sends GUILD_MEMBER_ADD for users created after the bot connected (needs the GuildMembers intent). */
export function announceMember(core: Core, guildId: string, member: Record<string, unknown>): void {
  core.dispatch({ t: 'GUILD_MEMBER_ADD', d: { ...member, guild_id: guildId }, intent: Intent.GuildMembers });
}
