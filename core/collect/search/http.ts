// Small HTTP helpers for the search APIs: a timeout, our user agent, a retry on 429 when the
// wait is short, and errors a user can read.
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { parseRetryAfter, USER_AGENT } from '../download.js';
import { ProviderError } from './types.js';

export interface HttpOptions {
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Wait and retry a 429 at most this many times when Retry-After is short. */
  retries429?: number;
  maxRetryAfterMs?: number;
}

/**
 * The search APIs' own connection pool, passed explicitly rather than through undici's
 * process-wide global dispatcher, which the Discord client shares (see test/undici-single.test.ts).
 */
const searchAgent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });

export async function httpText(url: string, opts: HttpOptions = {}): Promise<string> {
  const retries = opts.retries429 ?? 1;
  for (let attempt = 0; ; attempt++) {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 15_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res;
    try {
      res = await request(url, {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': USER_AGENT, ...opts.headers },
        body: opts.body,
        signal,
        dispatcher: searchAgent,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new ProviderError(timeout.aborted ? 'timed out' : `unreachable (${(err as Error).message})`);
    }
    const text = await res.body.text();
    if (res.statusCode === 429) {
      const wait = parseRetryAfter(res.headers['retry-after']);
      const waitable = (wait ?? 2000) <= (opts.maxRetryAfterMs ?? 5000);
      if (attempt < retries && waitable) {
        await sleep((wait ?? 1000 * 2 ** attempt), undefined, { signal: opts.signal });
        continue;
      }
      throw new ProviderError(`rate limited (429)${wait !== undefined ? `, retry after ${Math.ceil(wait / 1000)} s` : ''}`, 429, wait);
    }
    if (res.statusCode >= 400) throw new ProviderError(`answered HTTP ${res.statusCode}`, res.statusCode);
    return text;
  }
}

export async function httpJson<T>(url: string, opts: HttpOptions = {}): Promise<T> {
  const text = await httpText(url, { ...opts, headers: { accept: 'application/json', ...opts.headers } });
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProviderError('answered something that is not JSON (its API may have changed)');
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
