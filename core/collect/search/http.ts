// The search APIs' HTTP client: one ProviderHttp per provider, so every request names Kodiak
// with contact information (see ../identity.ts), asks for gzip, caps the bytes it reads, times
// out, waits out a short Retry-After, and fails with errors a user can read that name the provider.
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Agent, request } from 'undici';
import type { SearchProviderId } from '../../config.js';
import { parseRetryAfter } from '../download.js';
import { formatWait, rateLimitWait, type SearchPacer } from './pacing.js';
import { ProviderError } from './types.js';

const gunzipAsync = promisify(gunzip);

export interface RequestOptions {
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
  signal?: AbortSignal;
  /** Wait and retry a 429 at most this many times when Retry-After is short. */
  retries429?: number;
  /** What to suggest when the provider refuses us (401/403). */
  refusedHint?: string;
}

export interface ProviderHttpOptions {
  userAgent: string;
  timeoutMs?: number;
  /** Largest response body read, bytes (after gunzip); a bigger answer is a provider error. */
  maxBytes?: number;
  /** A 429 whose Retry-After is at most this long is waited out; a longer one fails the request. */
  maxRetryAfterMs?: number;
  /** Budgets and cooldowns shared by every worker; without one, nothing is remembered. */
  pacer?: SearchPacer;
}

/** How long to stay away after a 429 that does not say. */
const DEFAULT_COOLDOWN_MS = 60_000;

export interface HttpAnswer {
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** 4 MiB: far more than a page of search results, far less than a runaway answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * The search APIs' own connection pool, passed explicitly rather than through undici's
 * process-wide global dispatcher, which the Discord client shares (see test/undici-single.test.ts).
 */
const searchAgent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) {
      body.destroy();
      throw new ProviderError(`answered more than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** MediaWiki errors that mean "come back later" (maxlag sends Retry-After); the rest are errors. */
const MEDIAWIKI_WAIT = new Set(['maxlag', 'ratelimited']);

/**
 * A MediaWiki API error: it arrives as HTTP 200 with a MediaWiki-API-Error header and
 * {"error": {"code", "info"}} in the body, and would otherwise read as zero results.
 */
function mediaWikiError(res: HttpAnswer): { code: string; info: string } | undefined {
  const header = res.headers['mediawiki-api-error'];
  if (!header) return undefined;
  const code = String(Array.isArray(header) ? header[0] : header);
  try {
    const body = JSON.parse(res.text) as { error?: { code?: string; info?: string } };
    return { code: body.error?.code ?? code, info: body.error?.info ?? '' };
  } catch {
    return { code, info: '' };
  }
}

export class ProviderHttp {
  constructor(
    readonly provider: SearchProviderId,
    readonly opts: ProviderHttpOptions,
  ) {}

  async text(url: string, ro: RequestOptions = {}): Promise<HttpAnswer> {
    const retries = ro.retries429 ?? 1;
    const pacer = this.opts.pacer;
    for (let attempt = 0; ; attempt++) {
      await pacer?.take(this.provider, ro.signal);
      const res = await this.once(url, ro);
      const said = rateLimitWait(res.headers, parseRetryAfter(res.headers['retry-after']));
      const apiError = mediaWikiError(res);
      if (apiError && !MEDIAWIKI_WAIT.has(apiError.code)) throw new ProviderError(`API error ${apiError.code}: ${apiError.info}`.trim(), res.status);
      if (res.status === 429 || apiError) {
        // Remembered in Redis, so no round, job or worker asks again before the time is up.
        await pacer?.coolDown(this.provider, said ?? (apiError ? 5000 : DEFAULT_COOLDOWN_MS), apiError ? `busy (${apiError.code})` : 'rate limited (429)');
        if (attempt < retries && (said ?? 2000) <= (this.opts.maxRetryAfterMs ?? 5000)) {
          if (!pacer) await sleep(said ?? 1000 * 2 ** attempt, undefined, { signal: ro.signal });
          continue;
        }
        const what = apiError ? `busy (${apiError.code}: ${apiError.info})` : 'rate limited (429)';
        throw new ProviderError(`${what}${said !== undefined ? `, retry after ${formatWait(said)}` : ''}`, 429, said);
      }
      if (said !== undefined && res.status < 300) await pacer?.coolDown(this.provider, said, 'its rate limit is used up (X-RateLimit-Remaining: 0)');
      if (res.status === 401 || res.status === 403) {
        throw new ProviderError(`refused our requests (HTTP ${res.status})${ro.refusedHint ? `: ${ro.refusedHint}` : ''}`, res.status);
      }
      if (res.status >= 400) throw new ProviderError(`answered HTTP ${res.status}`, res.status);
      return { text: res.text, headers: res.headers };
    }
  }

  async json<T>(url: string, ro: RequestOptions = {}): Promise<{ data: T; headers: HttpAnswer['headers'] }> {
    const answer = await this.text(url, { ...ro, headers: { accept: 'application/json', ...ro.headers } });
    try {
      return { data: JSON.parse(answer.text) as T, headers: answer.headers };
    } catch {
      throw new ProviderError('answered something that is not JSON (its API may have changed)');
    }
  }

  private async once(url: string, ro: RequestOptions): Promise<HttpAnswer & { status: number }> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 15_000);
    const signal = ro.signal ? AbortSignal.any([ro.signal, timeout]) : timeout;
    const maxBytes = this.opts.maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    try {
      const res = await request(url, {
        method: ro.method ?? 'GET',
        headers: { 'user-agent': this.opts.userAgent, 'accept-encoding': 'gzip', ...ro.headers },
        body: ro.body,
        signal,
        dispatcher: searchAgent,
      });
      let bytes = await readCapped(res.body as unknown as AsyncIterable<Buffer> & { destroy(): void }, maxBytes);
      if (String(res.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
        bytes = await gunzipAsync(bytes, { maxOutputLength: maxBytes }).catch(() => {
          throw new ProviderError(`answered a damaged or oversized gzip body (over ${maxBytes} bytes)`);
        });
      }
      return { status: res.statusCode, headers: res.headers, text: bytes.toString('utf8') };
    } catch (err) {
      if (err instanceof ProviderError || ro.signal?.aborted) throw err;
      throw new ProviderError(timeout.aborted ? 'timed out' : `unreachable (${(err as Error).message})`);
    }
  }
}

export function endpoint(base: string, path: string, params: Record<string, string | number>): string {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  return url.toString();
}

/** Text of an HTML fragment (Wikimedia's Artist field is HTML). */
export function stripHtml(html: string | undefined): string | undefined {
  if (!html) return undefined;
  const text = html
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  return text || undefined;
}
