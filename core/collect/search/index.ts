// The search providers in SEARCH_PROVIDERS order, and a search that falls through to the next
// provider when one fails, is rate-limited or runs out, saying which produced what.
import type { Config, SearchProviderId } from '../../config.js';
import { userAgent, WIKIMEDIA_NEEDS_CONTACT } from '../identity.js';
import { BraveProvider } from './brave.js';
import { DuckDuckGoProvider } from './duckduckgo.js';
import { MemoryCursorStore, type CursorStore } from './cursors.js';
import { ProviderHttp } from './http.js';
import { SearchPacer } from './pacing.js';
import type { Redis } from '../../redis.js';
import { OpenverseProvider } from './openverse.js';
import { ProviderError, type SearchHit, type SearchProvider } from './types.js';
import { thumbWidthFor, WikimediaProvider } from './wikimedia.js';

export { ProviderError, type SearchHit, type SearchProvider };

export interface ProviderSet {
  providers: SearchProvider[];
  /** Providers listed in SEARCH_PROVIDERS that cannot run, with why (e.g. no API key). */
  unavailable: Partial<Record<SearchProviderId, string>>;
  /** Providers left out because they would refuse this configuration: always worth reporting. */
  skipped: Partial<Record<SearchProviderId, string>>;
}

/** The pacer every worker shares: anonymous Openverse keeps to its budget (OPENVERSE_ANON_RATE). */
export function createPacer(config: Config, redis: Redis): SearchPacer {
  const anonymous = !(config.OPENVERSE_CLIENT_ID && config.OPENVERSE_CLIENT_SECRET);
  return new SearchPacer(redis, { prefix: config.QUEUE_PREFIX, budgets: anonymous ? { openverse: config.OPENVERSE_ANON_RATE } : {} });
}

export function createProviders(config: Config, only?: SearchProviderId, pacer?: SearchPacer): ProviderSet {
  const providers: SearchProvider[] = [];
  const unavailable: ProviderSet['unavailable'] = {};
  const skipped: ProviderSet['skipped'] = {};
  const ids = only ? [only] : config.SEARCH_PROVIDERS;
  const http = (id: SearchProviderId) => new ProviderHttp(id, { userAgent: userAgent(config.HTTP_CONTACT), pacer });
  for (const id of ids) {
    switch (id) {
      case 'openverse':
        providers.push(new OpenverseProvider({ baseUrl: config.OPENVERSE_URL, clientId: config.OPENVERSE_CLIENT_ID, clientSecret: config.OPENVERSE_CLIENT_SECRET, http: http(id), licenseType: config.OPENVERSE_LICENSE_TYPE, extensions: config.OPENVERSE_EXTENSIONS }));
        break;
      case 'wikimedia':
        // Sending what its policy refuses would only earn 403s (and, repeated, a block).
        if (config.HTTP_CONTACT) providers.push(new WikimediaProvider(config.WIKIMEDIA_URL, http(id), thumbWidthFor(config.MAX_IMAGE_SIZE)));
        else skipped.wikimedia = WIKIMEDIA_NEEDS_CONTACT;
        break;
      case 'duckduckgo':
        providers.push(new DuckDuckGoProvider(config.DUCKDUCKGO_URL, http(id)));
        break;
      case 'brave':
        if (config.BRAVE_API_KEY) providers.push(new BraveProvider(config.BRAVE_URL, config.BRAVE_API_KEY, http(id)));
        else unavailable.brave = 'not configured (set BRAVE_API_KEY)';
        break;
    }
  }
  return { providers, unavailable, skipped };
}

export type ProvidedHit = SearchHit & { provider: SearchProviderId };

export interface SearchOutcome {
  hits: ProvidedHit[];
  /** Hits per provider. */
  produced: Partial<Record<SearchProviderId, number>>;
  /** Every provider that failed, was throttled or refused us, with the text shown to users. */
  errors: Partial<Record<SearchProviderId, string>>;
  /** Those of `errors` that were rate limits or pacing (no request was made inside a cooldown). */
  throttled: Partial<Record<SearchProviderId, string>>;
  /** Those of `errors` where the provider refused us (401/403). */
  refused: Partial<Record<SearchProviderId, string>>;
}

export interface SearchImagesOptions {
  signal?: AbortSignal;
  /** URLs already handed out or already in the dataset: skipped, and the new ones added. */
  seen?: Set<string>;
  /** Where each provider stopped for this query; default: remembered for this call only. */
  cursors?: CursorStore;
}

/**
 * Hits handed out but never tried (the pipeline stopped once it had enough) go back to the front
 * of their provider's cursor, so the next round or top-up tries them before asking for more.
 */
export async function giveBack(cursors: CursorStore, query: string, hits: ProvidedHit[], seen: Set<string>): Promise<void> {
  const byProvider = new Map<SearchProviderId, SearchHit[]>();
  for (const { provider, ...hit } of hits) {
    seen.delete(hit.url);
    byProvider.set(provider, [...(byProvider.get(provider) ?? []), hit]);
  }
  for (const [provider, back] of byProvider) {
    const state = await cursors.get(provider, query);
    await cursors.set(provider, query, { ...state, buffer: [...back, ...state.buffer] });
  }
}

/** Calls to one provider per search at most: each fetches pages until it has what was asked. */
const MAX_CALLS = 3;

/**
 * Up to `limit` new hits, asking each provider in order, from where its cursor stopped, until
 * enough are found. A provider that fails, is throttled or refuses is reported and skipped.
 */
export async function searchImages(providers: SearchProvider[], query: string, limit: number, opts: SearchImagesOptions = {}): Promise<SearchOutcome> {
  const seen = opts.seen ?? new Set<string>();
  const cursors = opts.cursors ?? new MemoryCursorStore();
  const out: SearchOutcome = { hits: [], produced: {}, errors: {}, throttled: {}, refused: {} };
  for (const provider of providers) {
    if (out.hits.length >= limit) break;
    const state = await cursors.get(provider.id, query);
    let n = 0;
    const take = () => {
      while (state.buffer.length && out.hits.length < limit) {
        const hit = state.buffer.shift()!;
        if (seen.has(hit.url)) continue;
        seen.add(hit.url);
        out.hits.push({ ...hit, provider: provider.id });
        n++;
      }
    };
    take();
    try {
      for (let call = 0; call < MAX_CALLS && out.hits.length < limit && state.next !== null; call++) {
        const page = await provider.search(query, limit - out.hits.length, { signal: opts.signal, cursor: state.next });
        state.next = page.next ?? null;
        state.buffer.push(...page.hits);
        take();
        if (page.error) throw page.error;
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const message = err instanceof ProviderError ? err.message : `failed (${(err as Error).message})`;
      out.errors[provider.id] = message;
      if (err instanceof ProviderError && err.kind !== 'failed') out[err.kind][provider.id] = message;
    } finally {
      await cursors.set(provider.id, query, { next: state.next, buffer: state.buffer.filter((h) => !seen.has(h.url)) });
    }
    if (n) out.produced[provider.id] = n;
  }
  return out;
}
