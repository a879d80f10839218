// Brave Search image API: needs BRAVE_API_KEY (X-Subscription-Token); up to 200 results a call.
import { userAgent } from '../identity.js';
import { endpoint, ProviderHttp } from './http.js';
import type { SearchHit, SearchOptions, SearchPage, SearchProvider } from './types.js';

interface BraveImageResult {
  title?: string;
  url?: string;
  source?: string;
  thumbnail?: { src?: string };
  properties?: { url?: string; width?: number; height?: number };
}
interface BraveResponse {
  type?: string;
  results?: BraveImageResult[];
}

export class BraveProvider implements SearchProvider {
  readonly id = 'brave' as const;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly http = new ProviderHttp('brave', { userAgent: userAgent() }),
  ) {}

  /** One call: Brave's image search has no paging (up to 200 results). */
  async search(query: string, limit: number, { signal }: SearchOptions = {}): Promise<SearchPage> {
    const { data } = await this.http.json<BraveResponse>(
      endpoint(this.baseUrl, 'res/v1/images/search', { q: query, count: Math.min(200, Math.max(50, limit)), safesearch: 'strict' }),
      { headers: { 'x-subscription-token': this.apiKey }, signal },
    );
    const hits: SearchHit[] = [];
    for (const r of data.results ?? []) {
      const url = r.properties?.url ?? r.thumbnail?.src;
      if (!url) continue;
      // `source` is the site's domain, not who made the image: Brave does not say who did.
      hits.push({ url, pageUrl: r.url, title: r.title, width: r.properties?.width, height: r.properties?.height });
    }
    return { hits };
  }
}
