// Channel messages, reactions, and the interaction callback / webhook routes.
import type { Core } from './core.js';
import { Errors } from './errors.js';
import { ok, noContent, type Route, type RequestContext } from './http.js';
import type { Interactions } from './interactions.js';
import { parseEmoji, MessageFlag, type MessageRecord } from './messages.js';
import { userJson, type PermissionName } from './model.js';
import { assertNotEmpty, validateMessageBody } from './validate-message.js';

const MESSAGE = '/channels/:channel_id/messages/:message_id';
const REACTION = `${MESSAGE}/reactions/:emoji/@me`;

export function messageRoutes(core: Core): Route[] {
  const channelOf = (ctx: RequestContext): string => core.model.channel(ctx.params.channel_id!).id;
  const message = (ctx: RequestContext) => core.messages.get(ctx.params.channel_id!, ctx.params.message_id!);
  /** The message, after the bot was checked for View Channel (and `names`) in its channel. */
  const visibleMessage = (ctx: RequestContext, names: PermissionName[] = []) => {
    core.requireBotPermissions(channelOf(ctx), names);
    return message(ctx);
  };
  return [
    {
      method: 'POST', path: '/channels/:channel_id/messages', auth: true, major: 'channel_id',
      handle: async (ctx) => {
        const channelId = channelOf(ctx);
        const inThread = core.model.channel(channelId).thread !== null;
        core.requireBotPermissions(channelId, [inThread ? 'SendMessagesInThreads' : 'SendMessages']);
        if (ctx.files.length > 0) core.requireBotPermissions(channelId, ['AttachFiles']);
        // A reply quotes history: Discord wants Read Message History for message_reference.
        if (ctx.body.message_reference) core.requireBotPermissions(channelId, ['ReadMessageHistory']);
        validateMessageBody(ctx.body);
        assertNotEmpty(ctx.body, ctx.files.length);
        if (typeof ctx.body.flags === 'number' && ctx.body.flags & MessageFlag.Ephemeral) {
          throw Errors.invalidFormBody('Ephemeral messages can only be sent as interaction responses');
        }
        core.prepareThreadForMessage(channelId);
        const created = await core.postMessage({ channelId, authorId: core.bot.id, body: ctx.body, files: ctx.files });
        return ok(core.messageJson(created));
      },
    },
    {
      method: 'GET', path: '/channels/:channel_id/messages', auth: true, major: 'channel_id',
      handle: (ctx) => {
        const channelId = channelOf(ctx);
        core.requireBotPermissions(channelId, []);
        // Without Read Message History Discord answers an empty list, not an error.
        if (core.model.missingIn(channelId, core.bot.id, ['ReadMessageHistory']).length) return ok([]);
        return ok(pageOf(core.messages.list(channelId), ctx.query).map((m) => core.restMessageJson(m)));
      },
    },
    {
      method: 'GET', path: MESSAGE, auth: true, major: 'channel_id',
      handle: (ctx) => ok(core.restMessageJson(visibleMessage(ctx, ['ReadMessageHistory']))),
    },
    {
      method: 'PATCH', path: MESSAGE, auth: true, major: 'channel_id',
      handle: async (ctx) => {
        const target = visibleMessage(ctx);
        if (target.authorId !== core.bot.id) {
          // On others' messages a bot may only toggle flags (suppress embeds).
          if (Object.keys(ctx.body).some((key) => key !== 'flags') || ctx.files.length) throw Errors.cannotEditOthers();
          core.requireBotPermissions(target.channelId, ['ManageMessages']);
        }
        core.requireNotArchived(target.channelId);
        validateMessageBody(ctx.body);
        assertNotEmptyAfterEdit(target, ctx.body, ctx.files.length);
        return ok(core.restMessageJson(await core.editMessage(target, ctx.body, ctx.files)));
      },
    },
    {
      method: 'DELETE', path: MESSAGE, auth: true, major: 'channel_id',
      handle: (ctx) => {
        const target = visibleMessage(ctx);
        if (target.authorId !== core.bot.id) core.requireBotPermissions(target.channelId, ['ManageMessages']);
        core.requireNotArchived(target.channelId);
        core.deleteMessage(target);
        return noContent();
      },
    },
    {
      method: 'PUT', path: REACTION, auth: true, major: 'channel_id',
      handle: (ctx) => {
        const emoji = parseEmoji(ctx.params.emoji!);
        const target = visibleMessage(ctx, ['ReadMessageHistory']);
        const existing = target.reactions.some((r) => r.emoji.name === emoji.name && r.emoji.id === emoji.id);
        if (!existing) core.requireBotPermissions(target.channelId, ['AddReactions']);
        core.requireNotArchived(target.channelId);
        core.react(target, emoji, core.bot.id);
        return noContent();
      },
    },
    {
      method: 'DELETE', path: REACTION, auth: true, major: 'channel_id',
      handle: (ctx) => {
        const target = visibleMessage(ctx, ['ReadMessageHistory']);
        core.requireNotArchived(target.channelId);
        core.unreact(target, parseEmoji(ctx.params.emoji!), core.bot.id);
        return noContent();
      },
    },
    {
      method: 'DELETE', path: `${MESSAGE}/reactions/:emoji/:user_id`, auth: true, major: 'channel_id',
      handle: (ctx) => {
        const target = visibleMessage(ctx, ['ManageMessages']);
        core.requireNotArchived(target.channelId);
        core.unreact(target, parseEmoji(ctx.params.emoji!), ctx.params.user_id!);
        return noContent();
      },
    },
    {
      method: 'GET', path: `${MESSAGE}/reactions/:emoji`, auth: true, major: 'channel_id',
      handle: (ctx) => {
        const emoji = parseEmoji(ctx.params.emoji!);
        const reaction = visibleMessage(ctx, ['ReadMessageHistory']).reactions.find((r) => r.emoji.name === emoji.name && r.emoji.id === emoji.id);
        return ok([...(reaction?.users ?? [])].map((id) => userJson(core.model.user(id))));
      },
    },
    {
      method: 'DELETE', path: `${MESSAGE}/reactions`, auth: true, major: 'channel_id',
      handle: (ctx) => {
        const target = visibleMessage(ctx, ['ManageMessages']);
        core.requireNotArchived(target.channelId);
        core.clearReactions(target);
        return noContent();
      },
    },
    {
      method: 'DELETE', path: `${MESSAGE}/reactions/:emoji`, auth: true, major: 'channel_id',
      handle: (ctx) => {
        const target = visibleMessage(ctx, ['ManageMessages']);
        core.requireNotArchived(target.channelId);
        core.clearReactions(target, parseEmoji(ctx.params.emoji!));
        return noContent();
      },
    },
    {
      method: 'POST', path: '/channels/:channel_id/typing', auth: true, major: 'channel_id',
      handle: (ctx) => {
        core.requireBotPermissions(channelOf(ctx), []);
        return noContent();
      },
    },
  ];
}

/** An edit may not leave a message with nothing in it (50006), judged before anything changes. */
function assertNotEmptyAfterEdit(target: MessageRecord, body: Record<string, unknown>, newFiles: number): void {
  const kept = Array.isArray(body.attachments)
    ? target.attachments.filter((a) => (body.attachments as { id?: unknown }[]).some((l) => String(l.id) === a.id)).length
    : target.attachments.length;
  assertNotEmpty(
    {
      content: 'content' in body ? body.content : target.content,
      embeds: 'embeds' in body ? body.embeds : target.embeds,
      components: 'components' in body ? body.components : target.components,
    },
    kept + newFiles,
  );
}

/** limit (1-100, default 50) and before/after/around, newest first like Discord. */
function pageOf<T extends { id: string }>(newestFirst: T[], query: URLSearchParams): T[] {
  const limit = Number(query.get('limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw Errors.invalidFormBody('limit: int value should be between 1 and 100.');
  const before = query.get('before');
  const after = query.get('after');
  const around = query.get('around');
  if (before) return newestFirst.filter((m) => BigInt(m.id) < BigInt(before)).slice(0, limit);
  if (after) return newestFirst.filter((m) => BigInt(m.id) > BigInt(after)).slice(-limit);
  if (around) {
    const index = newestFirst.findIndex((m) => m.id === around);
    if (index < 0) return [];
    const start = Math.max(0, index - Math.floor(limit / 2));
    return newestFirst.slice(start, start + limit);
  }
  return newestFirst.slice(0, limit);
}

export function interactionRoutes(core: Core, interactions: Interactions): Route[] {
  const WEBHOOK = '/webhooks/:application_id/:token';
  const record = (ctx: RequestContext) => interactions.byWebhook(ctx.params.application_id!, ctx.params.token!);
  return [
    {
      method: 'POST', path: '/interactions/:interaction_id/:token/callback', auth: false,
      handle: async (ctx) => {
        const withResponse = ctx.query.get('with_response') === 'true';
        const response = await interactions.callback(ctx.params.interaction_id!, ctx.params.token!, ctx.body, ctx.files, withResponse);
        return response ? ok(response) : noContent();
      },
    },
    {
      method: 'POST', path: WEBHOOK, auth: false, major: 'token',
      handle: async (ctx) => ok(core.messageJson(await interactions.followUp(record(ctx), ctx.body, ctx.files))),
    },
    {
      method: 'GET', path: `${WEBHOOK}/messages/:message_id`, auth: false, major: 'token',
      handle: (ctx) => {
        const r = record(ctx);
        return ok(core.messageJson(interactions.webhookMessage(r, ctx.params.message_id!)));
      },
    },
    {
      method: 'PATCH', path: `${WEBHOOK}/messages/:message_id`, auth: false, major: 'token',
      handle: async (ctx) => {
        const target = interactions.webhookMessage(record(ctx), ctx.params.message_id!);
        validateMessageBody(ctx.body);
        if (!(target.flags & MessageFlag.Loading)) assertNotEmptyAfterEdit(target, ctx.body, ctx.files.length);
        const edited = await core.editMessage(target, ctx.body, ctx.files);
        return ok(core.messageJson(edited));
      },
    },
    {
      method: 'DELETE', path: `${WEBHOOK}/messages/:message_id`, auth: false, major: 'token',
      handle: (ctx) => {
        core.deleteMessage(interactions.webhookMessage(record(ctx), ctx.params.message_id!));
        return noContent();
      },
    },
  ];
}
