// Small HTTP helpers of the page's backend: JSON answers, Basic auth, bounded bodies (Discord's
// upload limits), and static files from playground/web.
import { timingSafeEqual, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LIMITS } from '../server/validate-message.js';

export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

/** A refusal the page shows as is. */
export class PageError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' }).end(text);
}

/** HTTP Basic auth with any user name; constant-time comparison of the password. */
export function authorized(req: IncomingMessage, password: string | undefined): boolean {
  if (!password) return true;
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const given = decoded.slice(decoded.indexOf(':') + 1);
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(password));
}

export interface PageFile {
  name: string;
  contentType: string;
  data: Buffer;
  /** The form field it came in (an attachment option's name, or "files"). */
  field: string;
}

/** The most a request may carry: Discord's 10 attachments of 10 MiB, plus the form around them. */
const MAX_BODY_BYTES = LIMITS.attachments * LIMITS.uploadBytes + 1024 * 1024;
const MIB = 1024 * 1024;

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_BODY_BYTES) throw new PageError(413, `Too much at once: Discord takes at most ${LIMITS.attachments} files of ${LIMITS.uploadBytes / MIB} MiB each.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new PageError(413, `Too much at once: Discord takes at most ${LIMITS.attachments} files of ${LIMITS.uploadBytes / MIB} MiB each.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A JSON body, or multipart with a `json` field and files, checked against Discord's upload limits. */
export async function readForm(req: IncomingMessage): Promise<{ fields: Record<string, unknown>; files: PageFile[] }> {
  const raw = await readRaw(req);
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return { fields: parseObject(raw.toString('utf8')), files: [] };
  if (!type.startsWith('multipart/form-data')) throw new PageError(415, 'Send JSON or multipart/form-data.');
  const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
  let fields: Record<string, unknown> = {};
  const files: PageFile[] = [];
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') {
      if (key === 'json') fields = parseObject(value);
      continue;
    }
    const data = Buffer.from(await value.arrayBuffer());
    if (data.length > LIMITS.uploadBytes) throw new PageError(413, `${value.name} is ${(data.length / MIB).toFixed(1)} MiB: Discord takes files up to ${LIMITS.uploadBytes / MIB} MiB.`);
    files.push({ name: value.name || 'file', contentType: value.type || 'application/octet-stream', data, field: key });
  }
  if (files.length > LIMITS.attachments) throw new PageError(400, `${files.length} files: Discord takes at most ${LIMITS.attachments} per message.`);
  return { fields, files };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new PageError(400, 'The body is not a JSON object.');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
};

/** Serves a file of playground/web by its plain name (no folders, no dot files). */
export function serveStatic(res: ServerResponse, name: string): void {
  if (!/^[\w-]+\.(html|js|css|png|svg|ico)$/.test(name)) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
    return;
  }
  const file = path.join(WEB_DIR, name);
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(name)] ?? 'application/octet-stream',
      'Content-Length': data.length,
      'Cache-Control': 'no-cache',
      // The page runs only its own scripts; attachments and images come from this origin too.
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
    }).end(data);
  });
}
