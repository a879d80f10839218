// The search providers in SEARCH_PROVIDERS order, and a search that falls through to the next
// provider when one fails, is rate-limited or runs out, saying which produced what.
import type { Config, SearchProviderId } from '../../config.js';
import { userAgent, WIKIMEDIA_NEEDS_CONTACT } from '../identity.js';
import { BraveProvider } from './brave.js';
import { DuckDuckGoProvider } from './duckduckgo.js';
import { ProviderHttp } from './http.js';
import { OpenverseProvider } from './openverse.js';
import { ProviderError, type SearchHit, type SearchProvider } from './types.js';
import { WikimediaProvider } from './wikimedia.js';

export { ProviderError, type SearchHit, type SearchProvider };

export interface ProviderSet {
  providers: SearchProvider[];
  /** Providers listed in SEARCH_PROVIDERS that cannot run, with why (e.g. no API key). */
  unavailable: Partial<Record<SearchProviderId, string>>;
  /** Providers left out because they would refuse this configuration: always worth reporting. */
  skipped: Partial<Record<SearchProviderId, string>>;
}

export function createProviders(config: Config, only?: SearchProviderId): ProviderSet {
  const providers: SearchProvider[] = [];
  const unavailable: ProviderSet['unavailable'] = {};
  const skipped: ProviderSet['skipped'] = {};
  const ids = only ? [only] : config.SEARCH_PROVIDERS;
  const http = (id: SearchProviderId) => new ProviderHttp(id, { userAgent: userAgent(config.HTTP_CONTACT) });
  for (const id of ids) {
    switch (id) {
      case 'openverse':
        providers.push(new OpenverseProvider({ baseUrl: config.OPENVERSE_URL, clientId: config.OPENVERSE_CLIENT_ID, clientSecret: config.OPENVERSE_CLIENT_SECRET, http: http(id) }));
        break;
      case 'wikimedia':
        // Sending what its policy refuses would only earn 403s (and, repeated, a block).
        if (config.HTTP_CONTACT) providers.push(new WikimediaProvider(config.WIKIMEDIA_URL, http(id)));
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
  errors: Partial<Record<SearchProviderId, string>>;
}

/**
 * Up to `limit` new hits (URLs in `seen` are skipped and added to it), asking each provider
 * in order until enough are found.
 */
export async function searchImages(
  providers: SearchProvider[],
  query: string,
  limit: number,
  opts: { signal?: AbortSignal; seen?: Set<string> } = {},
): Promise<SearchOutcome> {
  const seen = opts.seen ?? new Set<string>();
  const out: SearchOutcome = { hits: [], produced: {}, errors: {} };
  for (const provider of providers) {
    const wanted = limit - out.hits.length;
    if (wanted <= 0) break;
    try {
      // Ask for the already-seen ones too: providers return the same first results each time.
      const hits = await provider.search(query, wanted + seen.size, opts.signal);
      let n = 0;
      for (const hit of hits) {
        if (seen.has(hit.url) || n >= wanted) continue;
        seen.add(hit.url);
        out.hits.push({ ...hit, provider: provider.id });
        n++;
      }
      out.produced[provider.id] = n;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      out.errors[provider.id] = err instanceof ProviderError ? err.message : `failed (${(err as Error).message})`;
    }
  }
  return out;
}
