// Whether any image-search provider answers from here, so the page can say at once that /train
// will find nothing and point to the ways that need no search (a zip or photos with
// /dataset add, or `kodiak dataset import`), instead of the user waiting for an empty dataset.
import type { Config, SearchProviderId } from '../core/config.js';

export interface SearchStatus {
  /** Providers that answered over HTTP (any status: the host is reachable). */
  reachable: SearchProviderId[];
  /** Providers that did not, with why. */
  unreachable: Partial<Record<SearchProviderId, string>>;
}

const PROBE_TIMEOUT_MS = 4_000;

function baseUrl(config: Config, id: SearchProviderId): string | undefined {
  switch (id) {
    case 'openverse':
      return config.OPENVERSE_URL;
    case 'wikimedia':
      return config.WIKIMEDIA_URL;
    case 'duckduckgo':
      return config.DUCKDUCKGO_URL;
    case 'brave':
      return config.BRAVE_API_KEY ? config.BRAVE_URL : undefined;
  }
}

export async function probeSearch(config: Config): Promise<SearchStatus> {
  const status: SearchStatus = { reachable: [], unreachable: {} };
  await Promise.all(config.SEARCH_PROVIDERS.map(async (id) => {
    const url = baseUrl(config, id);
    if (!url) {
      status.unreachable[id] = 'not configured (set BRAVE_API_KEY)';
      return;
    }
    try {
      const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.body?.cancel();
      status.reachable.push(id);
    } catch (err) {
      status.unreachable[id] = (err as Error).name === 'TimeoutError' ? 'no answer' : reasonOf(err);
    }
  }));
  status.reachable.sort((a, b) => config.SEARCH_PROVIDERS.indexOf(a) - config.SEARCH_PROVIDERS.indexOf(b));
  return status;
}

/** fetch says "fetch failed"; the socket's code (ECONNREFUSED, ENOTFOUND, ...) is in its cause. */
function reasonOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[]; message?: string } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (err as Error).message;
}
