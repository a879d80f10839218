// One interface for every image search: a query in, candidate image URLs with attribution out.
import type { SearchProviderId } from '../../config.js';

export interface SearchHit {
  /** The image itself. */
  url: string;
  /** The page the image is shown on (for attribution and for users to check). */
  pageUrl?: string;
  title?: string;
  creator?: string;
  license?: string;
  width?: number;
  height?: number;
}

export interface SearchOptions {
  signal?: AbortSignal;
  /** Where to continue: the `next` of an earlier page (absent: from the start). */
  cursor?: string;
}

/** Whole pages of results, and where the page after them starts. */
export interface SearchPage {
  hits: SearchHit[];
  /** Opaque to callers; undefined when the provider has no more results for the query. */
  next?: string;
  /** Set when a later page failed: `hits` are the earlier pages, `next` the page that failed. */
  error?: ProviderError;
}

export interface SearchProvider {
  readonly id: SearchProviderId;
  /** At least `limit` hits when the provider has them (whole pages, so possibly more). */
  search(query: string, limit: number, opts?: SearchOptions): Promise<SearchPage>;
}

/** A provider's failure, with the text shown to the user ("rate limited (429)", ...). */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }

  /** throttled: rate-limited or paced (try later); refused: it will not serve us as configured. */
  get kind(): 'throttled' | 'refused' | 'failed' {
    if (this.status === 429) return 'throttled';
    if (this.status === 401 || this.status === 403) return 'refused';
    return 'failed';
  }
}

/** A later page failing leaves the earlier pages usable: return them with the error. */
export function partialPage(hits: SearchHit[], next: string | undefined, err: unknown): SearchPage {
  if (hits.length === 0 || !(err instanceof ProviderError)) throw err;
  return { hits, next, error: err };
}
