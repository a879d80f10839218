// Wikimedia Commons: full-text search over File: pages (namespace 6) with imageinfo for the
// URL, size, MIME type and licence/artist metadata. Asks for a 1024 px thumbnail URL so
// downloads stay small (originals can be tens of megabytes).
import { userAgent } from '../identity.js';
import { endpoint, ProviderHttp, stripHtml } from './http.js';
import type { SearchHit, SearchProvider } from './types.js';

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
  continue?: { gsroffset?: number };
  query?: { pages?: Page[] | Record<string, Page> };
}

const RASTER = /^image\/(jpeg|png|gif|webp|tiff)$/;
const THUMB_WIDTH = 1024;

export class WikimediaProvider implements SearchProvider {
  readonly id = 'wikimedia' as const;

  constructor(
    private readonly baseUrl: string,
    private readonly http = new ProviderHttp('wikimedia', { userAgent: userAgent() }),
  ) {}

  async search(query: string, limit: number, signal?: AbortSignal): Promise<SearchHit[]> {
    const hits: SearchHit[] = [];
    let offset: number | undefined = 0;
    while (offset !== undefined && hits.length < limit) {
      const { data }: { data: WikimediaResponse } = await this.http.json<WikimediaResponse>(
        endpoint(this.baseUrl, 'w/api.php', {
          action: 'query',
          format: 'json',
          formatversion: 2,
          generator: 'search',
          gsrsearch: `${query} filetype:bitmap`,
          gsrnamespace: 6,
          gsrlimit: Math.min(50, limit * 2),
          gsroffset: offset,
          prop: 'imageinfo',
          iiprop: 'url|size|mime|extmetadata',
          iiurlwidth: THUMB_WIDTH,
          iiextmetadatafilter: 'LicenseShortName|Artist|ObjectName',
        }),
        { signal },
      );
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
      if (pages.length === 0) break;
      offset = data.continue?.gsroffset;
    }
    return hits.slice(0, limit);
  }
}
