// Live updates for the page over server-sent events: every message created, edited, reacted to
// or deleted in the guild (ephemeral ones only to their user), commands registered, and an
// interaction the bot failed to answer in 3 s ("The application did not respond").
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Core } from '../server/core.js';
import type { FakeEvent } from '../server/events.js';
import { messageView, visibleTo } from './view.js';

const KEEPALIVE_MS = 20_000;

export function streamEvents(core: Core, req: IncomingMessage, res: ServerResponse, viewerId: string): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
  res.write('retry: 1000\n\n');
  const send = (event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const onEvent = (event: FakeEvent): void => {
    const update = pageUpdate(core, event, viewerId);
    if (update) send(update.event, update.data);
  };
  const unsubscribe = core.events.subscribe(onEvent);
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  const stop = (): void => {
    unsubscribe();
    clearInterval(keepalive);
  };
  req.on('close', stop);
  res.on('error', stop);
}

/** What the page of `viewerId` should hear about an event of the fake, if anything. */
export function pageUpdate(core: Core, event: FakeEvent, viewerId: string): { event: string; data: unknown } | undefined {
  switch (event.kind) {
    case 'message.create':
    case 'message.update':
    case 'reaction.add':
    case 'reaction.remove': {
      const message = core.messages.messages.get(event.subject);
      if (!message || !visibleTo(message, viewerId)) return undefined;
      return { event: 'message', data: messageView(core, message, viewerId) };
    }
    case 'message.delete': {
      const message = core.messages.messages.get(event.subject);
      return { event: 'delete', data: { id: event.subject, channel_id: message?.channelId } };
    }
    case 'commands.update':
      return { event: 'commands', data: {} };
    case 'interaction.expired': {
      const interaction = core.events.all('interaction.create').find((e) => e.subject === event.subject);
      if (interaction?.detail?.userId !== viewerId) return undefined;
      return { event: 'failed', data: { id: event.subject, message: 'The application did not respond' } };
    }
    default:
      return undefined;
  }
}
