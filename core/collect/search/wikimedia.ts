// Wikimedia Commons: full-text search over File: pages (namespace 6) with imageinfo for the
// URL, size, MIME type and licence/artist metadata. Asks for a thumbnail of a standard width
// that covers MAX_IMAGE_SIZE, so downloads stay small (originals can be tens of megabytes) and
// come from Wikimedia's thumbnail cache. Follows the API etiquette: maxlag=5, the whole
// `continue` object echoed back, errors (which arrive as HTTP 200) read as errors.
import { userAgent } from '../identity.js';
import { endpoint, ProviderHttp, stripHtml } from './http.js';
import { partialPage, ProviderError, type SearchHit, type SearchOptions, type SearchPage, type SearchProvider } from './types.js';

interface ExtValue {
  value?: string;
}
interface ImageInfo {
  url?: string;
  thumburl?: string;
  thumbwidth?: number;
  thumbheight?: number;
  descriptionurl?: string;
  width?: number;
  height?: number;
  mime?: string;
  extmetadata?: { LicenseShortName?: ExtValue; Artist?: ExtValue; ObjectName?: ExtValue };
}
interface Page {
  title?: string;
  index?: number;
  imageinfo?: ImageInfo[];
}
interface WikimediaResponse {
  continue?: Record<string, string | number>;
  error?: { code?: string; info?: string };
  query?: { pages?: Page[] | Record<string, Page> };
}

const RASTER = /^image\/(jpeg|png|gif|webp|tiff)$/;

/** The thumbnail widths Wikimedia pre-renders and caches; others cost it a render each. */
export const STANDARD_THUMB_WIDTHS = [120, 250, 330, 500, 960, 1280, 1920, 3840] as const;

/** The smallest standard width that still gives `maxSize` px on the long side of a landscape image. */
export function thumbWidthFor(maxSize: number): number {
  return STANDARD_THUMB_WIDTHS.find((w) => w >= maxSize) ?? STANDARD_THUMB_WIDTHS[STANDARD_THUMB_WIDTHS.length - 1];
}

export class WikimediaProvider implements SearchProvider {
  readonly id = 'wikimedia' as const;

  constructor(
    private readonly baseUrl: string,
    private readonly http = new ProviderHttp('wikimedia', { userAgent: userAgent() }),
    private readonly thumbWidth = thumbWidthFor(500),
  ) {}

  async search(query: string, limit: number, { signal, cursor }: SearchOptions = {}): Promise<SearchPage> {
    const hits: SearchHit[] = [];
    // MediaWiki's continuation: echo the whole `continue` object back, never just gsroffset.
    let next: Record<string, string | number> | undefined = cursor ? (JSON.parse(cursor) as Record<string, string | number>) : {};
    while (next && hits.length < limit) {
      let data: WikimediaResponse;
      try {
        ({ data } = await this.http.json<WikimediaResponse>(
        endpoint(this.baseUrl, 'w/api.php', {
          action: 'query',
          format: 'json',
          formatversion: 2,
          generator: 'search',
          gsrsearch: `${query} filetype:bitmap`,
          gsrnamespace: 6,
          gsrlimit: 50,
          prop: 'imageinfo',
          iiprop: 'url|size|mime|extmetadata',
          iiurlwidth: this.thumbWidth,
          // Be told to wait (an error with Retry-After) rather than add load while replicas lag.
          maxlag: 5,
          iiextmetadatafilter: 'LicenseShortName|Artist|ObjectName',
          ...next,
        }),
        { signal },
      ));
      } catch (err) {
        return partialPage(hits, JSON.stringify(next), err);
      }
      if (data.error) {
        // Reached only when the MediaWiki-API-Error header was missing (ProviderHttp reads it).
        return partialPage(hits, JSON.stringify(next), new ProviderError(`API error ${data.error.code ?? '?'}: ${data.error.info ?? ''}`.trim()));
      }
      const raw = data.query?.pages ?? [];
      const pages = (Array.isArray(raw) ? raw : Object.values(raw)).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      for (const page of pages) {
        const info = page.imageinfo?.[0];
        if (!info?.url || (info.mime && !RASTER.test(info.mime))) continue;
        const meta = info.extmetadata ?? {};
        hits.push({
          url: info.thumburl ?? info.url,
          pageUrl: info.descriptionurl,
          title: stripHtml(meta.ObjectName?.value) ?? page.title?.replace(/^File:/, '').replace(/\.\w+$/, ''),
          creator: stripHtml(meta.Artist?.value),
          license: stripHtml(meta.LicenseShortName?.value),
          width: info.thumbwidth ?? info.width,
          height: info.thumbheight ?? info.height,
        });
      }
      next = pages.length ? data.continue : undefined;
    }
    return { hits, next: next && JSON.stringify(next) };
  }
}
