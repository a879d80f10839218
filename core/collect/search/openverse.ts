// Openverse (api.openverse.org): openly licensed images with licence and creator. Anonymous by
// default (page_size <= 20, about 1 request/s); with OPENVERSE_CLIENT_ID/SECRET it exchanges
// them for a bearer token (client credentials) and may ask for bigger pages.
import { userAgent } from '../identity.js';
import { endpoint, ProviderHttp } from './http.js';
import { partialPage, ProviderError, type SearchHit, type SearchOptions, type SearchPage, type SearchProvider } from './types.js';

interface OpenverseImage {
  url: string;
  foreign_landing_url?: string;
  title?: string | null;
  creator?: string | null;
  license?: string;
  license_version?: string | null;
  width?: number | null;
  height?: number | null;
}
interface OpenverseResponse {
  result_count: number;
  page_count: number;
  page: number;
  results: OpenverseImage[];
}
interface TokenResponse {
  access_token: string;
  expires_in: number;
}

export interface OpenverseOptions {
  baseUrl: string;
  clientId?: string;
  clientSecret?: string;
  http?: ProviderHttp;
}

/** Openverse refuses pages deeper than 20. */
const MAX_PAGES = 20;

export class OpenverseProvider implements SearchProvider {
  readonly id = 'openverse' as const;
  private token?: { value: string; expiresAt: number };

  private readonly http: ProviderHttp;

  constructor(private readonly opts: OpenverseOptions) {
    this.http = opts.http ?? new ProviderHttp('openverse', { userAgent: userAgent() });
  }

  private async authHeader(signal?: AbortSignal): Promise<Record<string, string>> {
    const { clientId, clientSecret } = this.opts;
    if (!clientId || !clientSecret) return {};
    if (!this.token || this.token.expiresAt < Date.now() + 60_000) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
      const { data: t } = await this.http.json<TokenResponse>(endpoint(this.opts.baseUrl, 'v1/auth_tokens/token/', {}), {
        method: 'POST',
        body: body.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        signal,
      }).catch((err: Error) => {
        throw new ProviderError(`could not get a token with OPENVERSE_CLIENT_ID/SECRET: ${err.message}`);
      });
      this.token = { value: t.access_token, expiresAt: Date.now() + t.expires_in * 1000 };
    }
    return { authorization: `Bearer ${this.token.value}` };
  }

  async search(query: string, limit: number, { signal, cursor }: SearchOptions = {}): Promise<SearchPage> {
    const headers = await this.authHeader(signal);
    // The same page size on every call, so the page number in a cursor means the same results.
    const pageSize = headers.authorization ? 100 : 20;
    const hits: SearchHit[] = [];
    for (let page = Number(cursor ?? 1); hits.length < limit; page++) {
      let data: OpenverseResponse;
      try {
        ({ data } = await this.http.json<OpenverseResponse>(
          endpoint(this.opts.baseUrl, 'v1/images/', { q: query, page_size: pageSize, page, mature: 'false' }),
          { headers, signal },
        ));
      } catch (err) {
        return partialPage(hits, String(page), err);
      }
      for (const r of data.results ?? []) {
        if (!r.url) continue;
        hits.push({
          url: r.url,
          pageUrl: r.foreign_landing_url,
          title: r.title ?? undefined,
          creator: r.creator ?? undefined,
          license: r.license ? `CC ${r.license.toUpperCase()}${r.license_version ? ` ${r.license_version}` : ''}` : undefined,
          width: r.width ?? undefined,
          height: r.height ?? undefined,
        });
      }
      if (!data.results?.length || page >= Math.min(MAX_PAGES, data.page_count ?? page)) return { hits };
      if (hits.length >= limit) return { hits, next: String(page + 1) };
    }
    return { hits };
  }
}
