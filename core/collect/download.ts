// The downloader: one shared undici Agent, a global and a per-host concurrency limit, timeouts,
// retries with backoff (honouring Retry-After) on 429, 5xx and dropped connections, a byte cap
// enforced while streaming, manual redirects re-checked by the SSRF guard, and respect for
// `X-Robots-Tag: noai`. Failures are RejectErrors with a reason code, never raw errors.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { Agent, request } from 'undici';
import type { Config } from '../config.js';
import { ByteBudget } from './byteBudget.js';
import { userAgent } from './identity.js';
import { RejectError } from './reasons.js';
import { BLOCKED_ADDRESS, checkLiteralHost, guardedLookup, systemResolver, type AddressPolicy, type Resolver } from './ssrf.js';

/**
 * Hosts whose robot policy asks for fewer requests in flight than DOWNLOAD_PER_HOST allows:
 * Wikimedia's asks for at most 2 concurrent requests to upload.wikimedia.org.
 */
export const HOST_CONCURRENCY: Readonly<Record<string, number>> = { 'upload.wikimedia.org': 2 };

export interface DownloaderOptions {
  concurrency: number;
  perHost: number;
  timeoutMs: number;
  retries: number;
  maxBytes: number;
  /** Bytes all downloads in flight may hold at once (DOWNLOAD_BUDGET_BYTES); unlimited when unset. */
  budgetBytes?: number;
  allowPrivate: boolean;
  trustedRanges?: string[];
  /** Exact origins (scheme://host:port) reached despite a private address, e.g. the playground's file server. */
  trustedOrigins?: string[];
  resolve?: Resolver;
  /** Extra say over which hosts may be fetched, redirects included. */
  allowHost?: (hostname: string) => boolean;
  maxRedirects?: number;
  /** First retry delay when the server gives no Retry-After; doubles each time. */
  retryBaseMs?: number;
  /**
   * A Retry-After longer than this (default 5 s) is not waited for: the image is given up as
   * rate-limited, and so is the host for the rest of the session (the job).
   */
  maxRetryAfterMs?: number;
  /** Kodiak's User-Agent with contact information (see identity.ts); default: without contact. */
  userAgent?: string;
  /** Lower per-host limits by host name (default HOST_CONCURRENCY). */
  hostConcurrency?: Readonly<Record<string, number>>;
}

export function downloaderOptions(config: Config): DownloaderOptions {
  return {
    concurrency: config.DOWNLOAD_CONCURRENCY,
    perHost: config.DOWNLOAD_PER_HOST,
    timeoutMs: config.DOWNLOAD_TIMEOUT_MS,
    retries: config.DOWNLOAD_RETRIES,
    maxBytes: config.DOWNLOAD_MAX_BYTES,
    allowPrivate: config.ALLOW_PRIVATE_URLS,
    userAgent: userAgent(config.HTTP_CONTACT),
    trustedOrigins: config.DOWNLOAD_TRUSTED_ORIGINS,
    budgetBytes: config.DOWNLOAD_BUDGET_BYTES,
  };
}

export interface Downloaded {
  /** The body; empty when it was written to a file (downloadToFile). */
  bytes: Buffer;
  /**
   * Gives the bytes' share of the download budget back. Called by download() itself unless
   * the caller asked to hold it (the pipeline holds it until the image is verified).
   */
  release: () => void;
  /** The URL after redirects. */
  url: string;
  contentType?: string;
  attempts: number;
}

/** A failure worth another attempt, with the reason to report if attempts run out. */
class Retryable extends Error {
  constructor(
    readonly reason: 'rate-limited' | 'server-error' | 'connection' | 'truncated',
    readonly retryAfterMs?: number,
    readonly host?: string,
  ) {
    super(reason);
  }
}

/**
 * What one job learnt about hosts. A host that asks for a long wait is not asked again in the
 * job: waiting would hold a download slot (and the job) for the whole Retry-After, once per
 * image and per retry, and the host said it does not want us now.
 */
export class DownloadSession {
  private readonly givenUp = new Map<string, number>();

  giveUp(host: string, retryAfterMs: number): void {
    this.givenUp.set(host, retryAfterMs);
  }

  /** Throws when the job has given up on `url`'s host. */
  check(url: URL): void {
    const wait = this.givenUp.get(url.host);
    if (wait !== undefined) throw new RejectError('rate-limited', `${url.host} asked to wait ${Math.ceil(wait / 1000)} s`);
  }
}

const RETRYABLE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

function findBlocked(err: unknown): Error | undefined {
  for (let e = err as { code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === BLOCKED_ADDRESS) return e as unknown as Error;
  }
  return undefined;
}

/** Retry-After as milliseconds (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function robotsForbidAi(value: string | string[] | undefined): boolean {
  const all = (Array.isArray(value) ? value.join(',') : value ?? '').toLowerCase();
  return /(^|[\s,:])(noai|noimageai)($|[\s,])/.test(all);
}

export class Downloader {
  private readonly agent: Agent;
  /** Connects to trusted origins only: the address guard is off there, and only there. */
  private readonly trustedAgent: Agent | undefined;
  private readonly trustedOrigins: Set<string>;
  private readonly global: LimitFunction;
  private readonly hosts = new Map<string, LimitFunction>();
  private readonly policy: AddressPolicy;

  private readonly budget: ByteBudget;

  constructor(readonly opts: DownloaderOptions) {
    this.budget = new ByteBudget(opts.budgetBytes ?? Number.POSITIVE_INFINITY);
    this.policy = { allowPrivate: opts.allowPrivate, trustedRanges: opts.trustedRanges };
    this.global = pLimit(opts.concurrency);
    const agentOptions = { connections: opts.perHost, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs, keepAliveTimeout: 10_000 };
    this.agent = new Agent({ ...agentOptions, connect: { timeout: opts.timeoutMs, lookup: guardedLookup(this.policy, opts.resolve ?? systemResolver) } });
    this.trustedOrigins = new Set((opts.trustedOrigins ?? []).map((o) => new URL(o).origin));
    this.trustedAgent = this.trustedOrigins.size ? new Agent({ ...agentOptions, connect: { timeout: opts.timeoutMs } }) : undefined;
  }

  /** Download `url`, following redirects and retrying; throws RejectError on failure. */
  async download(url: string, signal?: AbortSignal, session?: DownloadSession, opts: { hold?: boolean } = {}): Promise<Downloaded> {
    const retries = this.opts.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        const got = await this.followRedirects(url, signal, session);
        if (!opts.hold) got.release();
        return { ...got, attempts: attempt + 1 };
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        const maxWait = this.opts.maxRetryAfterMs ?? 5_000;
        if ((err.retryAfterMs ?? 0) > maxWait) {
          if (err.host) session?.giveUp(err.host, err.retryAfterMs!);
          throw new RejectError(err.reason, `Retry-After ${Math.ceil(err.retryAfterMs! / 1000)} s`);
        }
        if (attempt >= retries) throw new RejectError(err.reason, `after ${attempt + 1} attempts`);
        const backoff = (this.opts.retryBaseMs ?? 500) * 2 ** attempt * (0.75 + Math.random() / 2);
        await sleep(err.retryAfterMs ?? backoff, undefined, { signal });
      }
    }
  }

  /**
   * Stream `url` into the file `file` instead of memory (a zip of up to maxBytes); the download
   * budget is not involved, as nothing is held in memory.
   */
  async downloadToFile(url: string, file: string, signal?: AbortSignal): Promise<Omit<Downloaded, 'bytes' | 'release'>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { url: final, contentType } = await this.followRedirects(url, signal, undefined, file);
        return { url: final, contentType, attempts: attempt + 1 };
      } catch (err) {
        if (!(err instanceof Retryable) || attempt >= this.opts.retries) throw err instanceof Retryable ? new RejectError(err.reason) : err;
        await sleep(Math.min(err.retryAfterMs ?? (this.opts.retryBaseMs ?? 500) * 2 ** attempt, this.opts.maxRetryAfterMs ?? 5_000), undefined, { signal });
      }
    }
  }

  private async followRedirects(start: string, signal?: AbortSignal, session?: DownloadSession, file?: string): Promise<Omit<Downloaded, 'attempts'>> {
    let current = start;
    for (let hop = 0; hop <= (this.opts.maxRedirects ?? 5); hop++) {
      const url = this.checkUrl(current);
      session?.check(url);
      const result = await this.withSlots(url, () => this.fetchOnce(url, signal, file));
      if ('bytes' in result) return result;
      current = result.location;
    }
    throw new RejectError('too-many-redirects');
  }

  private checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new RejectError('bad-url', raw.slice(0, 100));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RejectError('bad-url', url.protocol);
    if (url.username || url.password) throw new RejectError('bad-url', 'credentials in URL');
    if (this.opts.allowHost && !this.opts.allowHost(url.hostname)) throw new RejectError('blocked-address', url.hostname);
    if (this.isTrusted(url)) return url;
    try {
      checkLiteralHost(url.hostname, this.policy);
    } catch (err) {
      throw new RejectError('blocked-address', (err as Error).message);
    }
    return url;
  }

  private isTrusted(url: URL): boolean {
    return this.trustedOrigins.has(url.origin);
  }

  /** Per-host slot first, then a global one, so requests queued for a busy host hold no global slot. */
  private withSlots<T>(url: URL, fn: () => Promise<T>): Promise<T> {
    const key = url.host;
    let host = this.hosts.get(key);
    const policy = (this.opts.hostConcurrency ?? HOST_CONCURRENCY)[url.hostname];
    if (!host) this.hosts.set(key, (host = pLimit(Math.min(this.opts.perHost, policy ?? Infinity))));
    const limiter = host;
    return limiter(() => this.global(fn)).finally(() => {
      if (limiter.activeCount === 0 && limiter.pendingCount === 0 && this.hosts.get(key) === limiter) this.hosts.delete(key);
    });
  }

  private async fetchOnce(url: URL, signal?: AbortSignal, file?: string): Promise<Omit<Downloaded, 'attempts'> | { location: string }> {
    // A whole-attempt deadline on top of undici's idle timeouts, against bodies that trickle.
    const deadline = AbortSignal.timeout(this.opts.timeoutMs * 3);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        dispatcher: this.isTrusted(url) ? this.trustedAgent! : this.agent,
        method: 'GET',
        headers: { 'user-agent': this.opts.userAgent ?? userAgent(), accept: 'image/*,*/*;q=0.5' },
        signal: combined,
      });
    } catch (err) {
      throw this.classify(err, signal, 'connection');
    }
    const { statusCode: status, headers, body } = res;
    // Destroying a body we do not want emits an abort error: expected, so swallowed.
    body.on('error', () => {});
    const drop = () => body.destroy();
    if (status >= 300 && status < 400 && headers.location) {
      drop();
      return { location: new URL(String(headers.location), url).toString() };
    }
    if (status === 429 || status >= 500) {
      drop();
      throw new Retryable(status === 429 ? 'rate-limited' : 'server-error', parseRetryAfter(headers['retry-after']), url.host);
    }
    if (status < 200 || status >= 300) {
      drop();
      throw new RejectError('http-error', `HTTP ${status}`);
    }
    if (robotsForbidAi(headers['x-robots-tag'])) {
      drop();
      throw new RejectError('robots-noai');
    }
    const declared = Number(headers['content-length'] ?? NaN);
    if (declared > this.opts.maxBytes) {
      drop();
      throw new RejectError('too-large', `${declared} bytes`);
    }
    const type = headers['content-type'];
    const contentType = Array.isArray(type) ? type[0] : type;
    if (file) {
      await this.streamToFile(body, file, signal);
      return { bytes: Buffer.alloc(0), release: () => {}, url: url.toString(), contentType };
    }
    // What this body may take of the budget, reserved whole before the first byte is read.
    const reserved = Number.isFinite(declared) ? declared : this.opts.maxBytes;
    try {
      await this.budget.reserve(reserved, combined);
    } catch (err) {
      drop();
      throw this.classify(err, signal, 'connection');
    }
    let released = false;
    const release = () => {
      if (!released) this.budget.release(reserved);
      released = true;
    };
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        total += (chunk as Buffer).length;
        if (total > Math.min(reserved, this.opts.maxBytes)) {
          drop();
          throw new RejectError('too-large', `over ${Math.min(reserved, this.opts.maxBytes)} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      release();
      if (err instanceof RejectError) throw err;
      throw this.classify(err, signal, 'truncated');
    }
    return { bytes: Buffer.concat(chunks, total), release, url: url.toString(), contentType };
  }

  private async streamToFile(body: AsyncIterable<unknown> & { destroy(): void }, file: string, signal?: AbortSignal): Promise<void> {
    let total = 0;
    const max = this.opts.maxBytes;
    const counter = async function* (source: AsyncIterable<unknown>) {
      for await (const chunk of source) {
        total += (chunk as Buffer).length;
        if (total > max) throw new RejectError('too-large', `over ${max} bytes`);
        yield chunk as Buffer;
      }
    };
    try {
      await pipeline(body as AsyncIterable<Buffer>, counter, createWriteStream(file), { signal });
    } catch (err) {
      body.destroy();
      if (err instanceof RejectError) throw err;
      throw this.classify(err, signal, 'truncated');
    }
  }

  /** Map an undici/socket error to a reason; a dropped connection is worth retrying. */
  private classify(err: unknown, signal: AbortSignal | undefined, dropped: 'connection' | 'truncated'): Error {
    if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : new Error('aborted');
    const blocked = findBlocked(err);
    if (blocked) return new RejectError('blocked-address', blocked.message);
    const code = errorCode(err);
    if (code && TIMEOUT_CODES.has(code)) return new RejectError('timeout');
    if ((err as Error).name === 'TimeoutError' || code === 'UND_ERR_ABORTED' || (err as Error).name === 'AbortError') return new RejectError('timeout');
    if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return new Retryable('truncated');
    if (code && RETRYABLE_SOCKET_CODES.has(code)) return new Retryable(dropped);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new RejectError('connection', 'host not found');
    return new RejectError(dropped, (err as Error).message);
  }

  async close(): Promise<void> {
    await this.trustedAgent?.close();
    await this.agent.close();
  }
}
