// DuckDuckGo images: experimental, not in the default SEARCH_PROVIDERS. There is no API: the
// search page hands out a `vqd` token that the JSON endpoint `i.js` requires, and since mid-2025
// it also wants the headers a browser sends (Sec-Fetch-*, Accept-Language) and a `ct` parameter,
// with no empty `f` filter. This follows the flow of the maintained `ddgs` library; unlike it,
// Kodiak keeps its honest User-Agent and does not imitate a browser's TLS fingerprint, so
// DuckDuckGo may refuse it (403): the error then names it and suggests the other providers.
import { userAgent } from '../identity.js';
import { endpoint, ProviderHttp } from './http.js';
import { partialPage, ProviderError, type SearchHit, type SearchOptions, type SearchPage, type SearchProvider } from './types.js';

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

const REFUSED = 'DuckDuckGo has no API and refuses clients it does not take for a browser; use openverse, wikimedia or brave (SEARCH_PROVIDERS)';
const PAGE = 100;
/** What a browser sends with a page load and with the page's own script request to i.js. */
const BROWSER_PAGE = { accept: 'text/html,application/xhtml+xml', 'accept-language': 'en-US,en;q=0.5', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none' };
const BROWSER_XHR = { accept: '*/*', 'accept-language': 'en-US,en;q=0.5', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' };

export class DuckDuckGoProvider implements SearchProvider {
  readonly id = 'duckduckgo' as const;

  constructor(
    private readonly baseUrl: string,
    private readonly http = new ProviderHttp('duckduckgo', { userAgent: userAgent() }),
  ) {}

  /** The cursor is the offset `s` of the next page (the vqd token is asked for again). */
  async search(query: string, limit: number, { signal, cursor }: SearchOptions = {}): Promise<SearchPage> {
    const referer = endpoint(this.baseUrl, '', {});
    const ro = { signal, retries429: 0, refusedHint: REFUSED };
    const { text: html } = await this.http.text(endpoint(this.baseUrl, '', { q: query }), { ...ro, headers: BROWSER_PAGE });
    const vqd = extractVqd(html);
    if (!vqd) throw new ProviderError(`did not hand out a search token (vqd); it may have changed its page. ${REFUSED}`);
    const hits: SearchHit[] = [];
    for (let s = Number(cursor ?? 0); hits.length < limit; s += PAGE) {
      const params: Record<string, string | number> = { o: 'json', q: query, l: 'us-en', vqd, p: 1, ct: 'AT' };
      if (s > 0) params.s = s;
      let data: DdgResponse;
      try {
        ({ data } = await this.http.json<DdgResponse>(endpoint(this.baseUrl, 'i.js', params), { ...ro, headers: { ...BROWSER_XHR, referer } }));
      } catch (err) {
        return partialPage(hits, String(s), err);
      }
      for (const r of data.results ?? []) {
        if (r.image) hits.push({ url: r.image, pageUrl: r.url, title: r.title, width: r.width, height: r.height });
      }
      if (!data.next || !data.results?.length) return { hits };
      if (hits.length >= limit) return { hits, next: String(s + PAGE) };
    }
    return { hits };
  }
}
