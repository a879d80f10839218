// The playground's web page and its backend, on the same port as the Discord-compatible server:
// GET / (the page), /web/* (its scripts), /playground/* (state, messages, live events, actions).
// Everything but the Discord API and attachments sits behind PLAYGROUND_PASSWORD when one is set.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/log.js';
import type { FakeDiscord } from '../server/index.js';
import type { SearchStatus } from '../search-status.js';
import { PageActions, userName } from './actions.js';
import { streamEvents } from './events.js';
import { authorized, PageError, readForm, sendJson, serveStatic } from './http.js';
import { channelView } from './view.js';

export interface PageOptions {
  password?: string;
  /** Image search as the page reports it (resolves once probed). */
  search: Promise<SearchStatus>;
  moderatorRole: string;
  log: Logger;
}

export function attachPage(fake: FakeDiscord, options: PageOptions): void {
  const actions = new PageActions(fake, options.moderatorRole);
  let search: SearchStatus | undefined;
  void options.search.then((s) => (search = s), () => (search = { reachable: [], unreachable: {} }));

  const state = (url: URL): Record<string, unknown> => {
    const me = actions.me(userName(url.searchParams.get('user') ?? 'you'));
    return {
      guild: fake.guild,
      channels: fake.core.model.guild(fake.guild.id).channelIds.map((id) => ({ id, name: fake.channel(id).name })),
      bot: fake.botUser,
      me: { id: me.user.id, name: me.user.name, moderator: me.moderator, permissions: fake.core.model.permissionsOf(fake.guild.id, me.user.id).toString() },
      commands: fake.commands(),
      search: search ?? null,
    };
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void> = {
    'GET /': (_req, res) => serveStatic(res, 'index.html'),
    'GET /favicon.ico': (_req, res) => void res.writeHead(204).end(),
    'GET /playground/state': (_req, res, url) => sendJson(res, 200, state(url)),
    'GET /playground/messages': (_req, res, url) => {
      const me = actions.me(userName(url.searchParams.get('user')));
      sendJson(res, 200, channelView(fake.core, fake.channel(url.searchParams.get('channel') ?? undefined).id, me.user.id));
    },
    'GET /playground/events': (req, res, url) => streamEvents(fake.core, req, res, actions.me(userName(url.searchParams.get('user'))).user.id),
    'POST /playground/me': async (req, res) => {
      const { fields } = await readForm(req);
      const me = actions.me(userName(fields.user), typeof fields.moderator === 'boolean' ? fields.moderator : undefined);
      sendJson(res, 200, { id: me.user.id, name: me.user.name, moderator: me.moderator });
    },
    'POST /playground/send': async (req, res) => {
      const { fields, files } = await readForm(req);
      sendJson(res, 200, await actions.send(fields, files));
    },
    'POST /playground/command': async (req, res) => {
      const { fields, files } = await readForm(req);
      sendJson(res, 200, await actions.command(fields, files));
    },
    'POST /playground/click': async (req, res) => sendJson(res, 200, await actions.click((await readForm(req)).fields)),
    'POST /playground/select': async (req, res) => sendJson(res, 200, await actions.select((await readForm(req)).fields)),
    'POST /playground/react': async (req, res) => sendJson(res, 200, await actions.react((await readForm(req)).fields)),
  };

  fake.core.web = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://playground');
    if (!authorized(req, options.password)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Kodiak playground", charset="UTF-8"', 'Content-Type': 'text/plain' }).end('The playground needs its password (PLAYGROUND_PASSWORD).');
      return;
    }
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname.startsWith('/web/')) return serveStatic(res, url.pathname.slice('/web/'.length));
    const route = routes[`${method} ${url.pathname}`];
    if (!route) return sendJson(res, 404, { message: 'Not found' });
    try {
      await route(req, res, url);
    } catch (err) {
      if (err instanceof PageError) return sendJson(res, err.status, { message: err.message });
      const message = (err as Error).message ?? String(err);
      if (message.startsWith('fake Discord: ')) return sendJson(res, 404, { message: message.slice('fake Discord: '.length) });
      options.log.error({ err, path: url.pathname }, 'playground page request failed');
      sendJson(res, 500, { message: 'The playground failed; see its log.' });
    }
  };
}
