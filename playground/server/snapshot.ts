// The fake's state as plain JSON and back, so the playground survives a restart with the same
// guild, channels, users, token and messages (the bot's datasets are keyed by those ids).
// Records are saved as they are, with bigints (permissions), Sets and Maps tagged, so fields
// the model gains later are kept without touching this file. Attachment bytes are not in the
// JSON: the store keeps them as files by attachment id.
import type { Core } from './core.js';
import { MessageFlag, type AttachmentRecord, type MessageRecord } from './messages.js';
import type { ChannelRecord, GuildRecord, UserRecord } from './model.js';

type Json = Record<string, unknown>;
type SavedAttachment = Omit<AttachmentRecord, 'data'>;

export interface Snapshot {
  version: 1;
  token: string;
  botId: string;
  ownerId: string;
  users: UserRecord[];
  guilds: GuildRecord[];
  channels: ChannelRecord[];
  messages: (Omit<MessageRecord, 'attachments'> & { attachments: SavedAttachment[] })[];
  commands: [string, Json[]][];
}

/** JSON.stringify replacer: bigint, Set and Map become tagged objects. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Set) return { $set: [...value] };
  if (value instanceof Map) return { $map: [...value.entries()] };
  return value;
}

/** JSON.parse reviver: the tags back to bigint, Set and Map. */
function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const tagged = value as { $bigint?: string; $set?: unknown[]; $map?: [unknown, unknown][] };
  if (typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint);
  if (Array.isArray(tagged.$set)) return new Set(tagged.$set);
  if (Array.isArray(tagged.$map)) return new Map(tagged.$map);
  return value;
}

export function serializeSnapshot(snapshot: Snapshot): string {
  return JSON.stringify(snapshot, replacer);
}

export function parseSnapshot(text: string): Snapshot {
  return JSON.parse(text, reviver) as Snapshot;
}

/** Everything worth keeping: deleted and ephemeral messages are left out, as a reload of Discord's client would. */
export function takeSnapshot(core: Core): Snapshot {
  const kept = [...core.messages.messages.values()].filter((m) => !m.deleted && !(m.flags & MessageFlag.Ephemeral));
  return {
    version: 1,
    token: core.token,
    botId: core.bot.id,
    ownerId: core.owner.id,
    users: [...core.model.users.values()],
    guilds: [...core.model.guilds.values()],
    channels: [...core.model.channels.values()],
    messages: kept.map((m) => ({ ...m, attachments: m.attachments.map(({ data: _data, ...rest }) => rest) })),
    commands: [...core.commands.entries()],
  };
}

/** The attachment ids a snapshot refers to (the store keeps exactly those files). */
export function attachmentIds(snapshot: Snapshot): Set<string> {
  return new Set(snapshot.messages.flatMap((m) => m.attachments.map((a) => a.id)));
}

/** A `restore` for startFakeDiscord: fills the model from the snapshot; `readFile` gives attachment bytes. */
export function restoreFrom(snapshot: Snapshot, readFile: (id: string) => Buffer | undefined): (core: Core) => { bot: UserRecord; owner: UserRecord; token: string } {
  return (core) => {
    const { model, messages } = core;
    for (const user of snapshot.users) model.users.set(user.id, user);
    for (const channel of snapshot.channels) model.channels.set(channel.id, channel);
    for (const guild of snapshot.guilds) model.guilds.set(guild.id, guild);
    for (const saved of snapshot.messages) {
      const attachments: AttachmentRecord[] = [];
      for (const a of saved.attachments) {
        const data = readFile(a.id);
        if (!data) continue; // a file lost from disk: the message stays, without it
        const record = { ...a, data };
        messages.files.set(a.id, record);
        attachments.push(record);
      }
      messages.messages.set(saved.id, { ...saved, attachments });
    }
    for (const [scope, list] of snapshot.commands) core.commands.set(scope, list);
    return { bot: model.user(snapshot.botId), owner: model.user(snapshot.ownerId), token: snapshot.token };
  };
}
