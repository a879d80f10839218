// What one page viewer sees: the channel's messages plus the ephemeral ones addressed to them,
// as Discord's JSON with reactions' `me` from their point of view and attachment URLs made
// relative (the page may be opened through another address than the bot uses).
import type { Core } from '../server/core.js';
import { MessageFlag, type MessageRecord } from '../server/messages.js';

type Json = Record<string, unknown>;

/** Only the channel's public messages, and ephemeral ones for the user who caused them. */
export function visibleTo(message: MessageRecord, viewerId: string): boolean {
  if (message.deleted) return false;
  if (!(message.flags & MessageFlag.Ephemeral)) return true;
  return message.interaction?.userId === viewerId;
}

export function messageView(core: Core, message: MessageRecord, viewerId: string): Json {
  const json = core.messages.toJson(message, viewerId);
  const relative = (url: unknown) => (typeof url === 'string' && url.startsWith(core.baseUrl) ? url.slice(core.baseUrl.length) : url);
  const attachments = (json.attachments as Json[]).map((a) => ({ ...a, url: relative(a.url), proxy_url: relative(a.proxy_url) }));
  const interaction = message.interaction;
  return {
    ...json,
    attachments,
    ...(interaction?.name ? { command: { name: interaction.name, user: core.model.users.get(interaction.userId)?.username ?? '' } } : {}),
  };
}

/** The last `limit` messages of a channel the viewer can see, oldest first. */
export function channelView(core: Core, channelId: string, viewerId: string, limit = 100): Json[] {
  const all = [...core.messages.messages.values()]
    .filter((m) => m.channelId === channelId && visibleTo(m, viewerId))
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  return all.slice(-limit).map((m) => messageView(core, m, viewerId));
}
