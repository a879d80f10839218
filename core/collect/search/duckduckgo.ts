// DuckDuckGo images: unofficial and best effort. The HTML search page carries a `vqd` token
// that the JSON endpoint `i.js` requires (with a Referer). It rate-limits and changes without
// notice, so it sits after the official APIs in SEARCH_PROVIDERS.
import { userAgent } from '../identity.js';
import { endpoint, ProviderHttp } from './http.js';
import { ProviderError, type SearchHit, type SearchProvider } from './types.js';

interface DdgResult {
  image: string;
  url?: string;
  title?: string;
  width?: number;
  height?: number;
  source?: string;
}
interface DdgResponse {
  results?: DdgResult[];
  next?: string;
}

export function extractVqd(html: string): string | undefined {
  return /vqd=["']?([\d-]+)["']?/.exec(html)?.[1] ?? /"vqd":"([\d-]+)"/.exec(html)?.[1];
}

export class DuckDuckGoProvider implements SearchProvider {
  readonly id = 'duckduckgo' as const;

  constructor(
    private readonly baseUrl: string,
    private readonly http = new ProviderHttp('duckduckgo', { userAgent: userAgent() }),
  ) {}

  async search(query: string, limit: number, signal?: AbortSignal): Promise<SearchHit[]> {
    const referer = endpoint(this.baseUrl, '', {});
    const { text: html } = await this.http.text(endpoint(this.baseUrl, '', { q: query, iax: 'images', ia: 'images' }), { signal, retries429: 0 });
    const vqd = extractVqd(html);
    if (!vqd) throw new ProviderError('did not hand out a search token (vqd); it may have changed its page');
    const hits: SearchHit[] = [];
    let next: string | undefined = endpoint(this.baseUrl, 'i.js', { l: 'us-en', o: 'json', q: query, vqd, f: ',,,,,', p: '1' });
    for (let page = 0; next && page < 10 && hits.length < limit; page++) {
      const { data }: { data: DdgResponse } = await this.http.json<DdgResponse>(next, { headers: { referer }, signal, retries429: 0 });
      for (const r of data.results ?? []) {
        if (r.image) hits.push({ url: r.image, pageUrl: r.url, title: r.title, width: r.width, height: r.height });
      }
      next = data.next ? new URL(`${data.next}${data.next.includes('vqd=') ? '' : `&vqd=${vqd}`}`, referer).toString() : undefined;
    }
    return hits.slice(0, limit);
  }
}
