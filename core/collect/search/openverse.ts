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
  /** Only licences allowing these uses (Openverse's `license_type`): commercial, modification. */
  licenseType?: string[];
  /** Only these file types (Openverse's `extension`), e.g. jpg,png,gif,webp to leave out SVG. */
  extensions?: string[];
}

/** Openverse licence codes that are not Creative Commons licences of the usual form. */
const LICENSE_NAMES: Record<string, string> = {
  cc0: 'CC0',
  pdm: 'Public Domain Mark',
  'sampling+': 'CC Sampling+',
  'nc-sampling+': 'CC NC-Sampling+',
};

/** The licence as people write it: "CC BY-SA 2.0", "CC0 1.0", "Public Domain Mark 1.0" (PDM is not a CC licence). */
export function licenseLabel(code: string | undefined, version?: string | null): string | undefined {
  if (!code) return undefined;
  const name = LICENSE_NAMES[code.toLowerCase()] ?? `CC ${code.toUpperCase()}`;
  return version ? `${name} ${version}` : name;
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

  private filters(): Record<string, string> {
    const f: Record<string, string> = {};
    if (this.opts.licenseType?.length) f.license_type = this.opts.licenseType.join(',');
    if (this.opts.extensions?.length) f.extension = this.opts.extensions.join(',');
    return f;
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
          endpoint(this.opts.baseUrl, 'v1/images/', { q: query, page_size: pageSize, page, mature: 'false', ...this.filters() }),
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
          license: licenseLabel(r.license, r.license_version),
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
