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

export interface SearchProvider {
  readonly id: SearchProviderId;
  search(query: string, limit: number, signal?: AbortSignal): Promise<SearchHit[]>;
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
}
