// The HTTP side of the fake: a tiny router for /api/v10, body parsing (JSON and
// multipart/form-data with payload_json + files[n]), bot-token auth, per-route rate
// limits, Discord's error shape, and the loopback file server for attachments.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Core, RestRequest } from './core.js';
import { DiscordError, Errors } from './errors.js';
import { LIMITS } from './validate-message.js';
import type { UploadedFile } from './messages.js';

type Json = Record<string, unknown>;

export interface RequestContext {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON object body (or payload_json); {} when the body is not an object. */
  body: Json;
  /** The parsed JSON as sent, for routes whose body is an array (bulk command overwrite). */
  json: unknown;
  files: UploadedFile[];
}

export interface RouteResult {
  status: number;
  body?: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Template under /api/v10, e.g. "/channels/:channel_id/messages". */
  path: string;
  /** Whether `Authorization: Bot <token>` is required (interaction callbacks and webhook tokens need none). */
  auth: boolean;
  /** The parameter that splits rate-limit buckets (Discord's "major parameter"); omit to exempt the route. */
  major?: string;
  handle(ctx: RequestContext): Promise<RouteResult> | RouteResult;
}

export const API_PREFIX = '/api/v10';
const MAX_REQUEST_BYTES = LIMITS.uploadBytes * LIMITS.attachments + 1024 * 1024;

export const ok = (body: unknown): RouteResult => ({ status: 200, body });
export const noContent = (): RouteResult => ({ status: 204 });

export function createHttpServer(core: Core, routes: Route[]): Server {
  const compiled = routes.map((route) => ({ route, segments: route.path.split('/').filter(Boolean) }));
  return createServer((req, res) => {
    handle(core, compiled, req, res).catch((error: unknown) => {
      // A bug in the fake itself: say so loudly instead of hanging the client.
      send(res, 500, { code: 0, message: `fake Discord internal error: ${(error as Error).stack ?? String(error)}` });
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function handle(core: Core, routes: { route: Route; segments: string[] }[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'GET' && url.pathname.startsWith('/attachments/')) return serveAttachment(core, url.pathname, res);
  if (!url.pathname.startsWith(API_PREFIX + '/')) return core.web ? core.web(req, res) : send(res, 404, Errors.notFound().toJSON());
  // The request travels to Discord, is answered, and the answer travels back: latency each way.
  const latency = core.latencyMs;
  if (latency > 0) await sleep(latency);
  const answer = await route(core, routes, method, url, req);
  const entry = { seq: core.events.nextSeq(), method, path: answer.path, route: answer.route, status: answer.status } as RestRequest;
  const code = (answer.body as { code?: unknown } | undefined)?.code;
  if (answer.status >= 400 && typeof code === 'number') entry.code = code;
  if (answer.headers['X-RateLimit-Scope']) entry.scope = answer.headers['X-RateLimit-Scope'];
  core.requests.push(entry);
  if (latency > 0) await sleep(latency);
  send(res, answer.status, answer.body, answer.headers);
}

interface Answer {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
  path: string;
  route: string;
}

async function route(core: Core, routes: { route: Route; segments: string[] }[], method: string, url: URL, req: IncomingMessage): Promise<Answer> {
  const path = url.pathname.slice(API_PREFIX.length);
  const answer = (status: number, body?: unknown, headers: Record<string, string> = {}, template = ''): Answer => ({ status, body, headers, path, route: template });
  let segments: string[];
  try {
    segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return answer(400, Errors.invalidFormBody('Malformed URL encoding').toJSON());
  }
  let pathMatched = false;
  for (const { route, segments: template } of routes) {
    const params = match(template, segments);
    if (!params) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    // Discord sends the bucket's headers on every answer of a limited route, errors included;
    // without them discord.js forgets the window and walks into a 429.
    let headers: Record<string, string> = {};
    try {
      if (route.auth && req.headers.authorization !== `Bot ${core.token}`) throw Errors.unauthorized();
      // A bad body still counts against the bucket, so read it first and fail after the limiter.
      const body = await readBody(req).catch((error: unknown) => {
        if (error instanceof DiscordError) return error;
        throw error;
      });
      if (route.major !== undefined) {
        // Bot-token routes also count against the global limit; webhook and interaction routes do not.
        const verdict = core.limiter.take(`${method} ${route.path}`, params[route.major] ?? '', path, route.auth);
        headers = verdict.headers;
        if (!verdict.allowed) {
          core.events.record('ratelimit.hit', `${method} ${route.path}`, { path, retryAfterMs: verdict.retryAfterMs, scope: verdict.scope });
          const retryAfter = Number((verdict.retryAfterMs / 1000).toFixed(3));
          return answer(429, { message: 'You are being rate limited.', retry_after: retryAfter, global: verdict.scope === 'global' }, headers, route.path);
        }
      }
      if (body instanceof DiscordError) throw body;
      // A route the test made slow (Discord's history and search routes can take seconds).
      const slow = core.routeDelays.get(`${method} ${route.path}`);
      if (slow) await sleep(slow);
      const { json, files } = body;
      const object = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Json) : {};
      const result = await route.handle({ method, path, params, query: url.searchParams, body: object, json, files });
      return answer(result.status, result.body, headers, route.path);
    } catch (error) {
      if (error instanceof DiscordError) return answer(error.status, error.toJSON(), headers, route.path);
      throw error;
    }
  }
  return pathMatched ? answer(405, Errors.methodNotAllowed().toJSON()) : answer(404, Errors.notFound().toJSON());
}

function match(template: string[], segments: string[]): Record<string, string> | undefined {
  if (template.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const part = template[i]!;
    if (part.startsWith(':')) params[part.slice(1)] = segments[i]!;
    else if (part !== segments[i]) return undefined;
  }
  return params;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (status === 204 || body === undefined) {
    res.writeHead(status === 200 ? 204 : status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw Errors.tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** JSON, or multipart/form-data with `payload_json` and `files[n]` parts, as discord.js sends them. */
async function readBody(req: IncomingMessage): Promise<{ json: unknown; files: UploadedFile[] }> {
  const raw = await readRaw(req);
  if (raw.length === 0) return { json: undefined, files: [] };
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.startsWith('application/json')) return { json: parseJson(raw.toString('utf8')), files: [] };
  if (!contentType.startsWith('multipart/form-data')) throw Errors.badJson();
  const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  let json: unknown = {};
  const files: UploadedFile[] = [];
  for (const [key, value] of form.entries()) {
    if (key === 'payload_json') {
      json = parseJson(typeof value === 'string' ? value : await value.text());
      continue;
    }
    const fileKey = /^files\[(\d+)\]$/.exec(key);
    if (!fileKey || typeof value === 'string') continue;
    const data = Buffer.from(await value.arrayBuffer());
    if (data.length > LIMITS.uploadBytes) throw Errors.tooLarge();
    files.push({ index: Number(fileKey[1]), filename: value.name || `file${fileKey[1]}`, contentType: value.type || 'application/octet-stream', data });
  }
  return { json, files };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw Errors.badJson();
  }
}

function serveAttachment(core: Core, pathname: string, res: ServerResponse): void {
  const [, , channelId, id] = pathname.split('/');
  const file = id ? core.messages.files.get(id) : undefined;
  if (!file || file.channelId !== channelId) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('This content is no longer available.');
    return;
  }
  res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Length': file.data.length }).end(file.data);
}
