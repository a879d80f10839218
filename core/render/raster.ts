// SVG -> pixels through sharp (librsvg). Kept in one place so density, fonts and channel layout
// are the same for every chart.
import sharp from 'sharp';

export interface RawImage {
  /** RGBA, 8 bits per channel, row-major, not premultiplied. */
  data: Buffer;
  width: number;
  height: number;
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png({ compressionLevel: 6 }).toBuffer();
}

/** Rasterises an SVG to raw RGBA at its own size (width/height attributes of the root). */
export async function svgToRaw(svg: string): Promise<RawImage> {
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Alpha-composites `top` over an opaque `base` of the same size, in plain JS. For animation
 * frames this is far cheaper than re-rendering a static background (e.g. a thousand points)
 * through librsvg every frame, or a sharp composite pipeline per frame.
 */
export function compositeOver(base: RawImage, top: RawImage): RawImage {
  if (base.width !== top.width || base.height !== top.height) {
    throw new Error(`compositeOver: sizes differ (${base.width}x${base.height} vs ${top.width}x${top.height})`);
  }
  const out = Buffer.from(base.data);
  const src = top.data;
  for (let i = 0; i < out.length; i += 4) {
    const alpha = src[i + 3] as number;
    if (alpha === 0) continue;
    if (alpha === 255) {
      out[i] = src[i] as number;
      out[i + 1] = src[i + 1] as number;
      out[i + 2] = src[i + 2] as number;
      out[i + 3] = 255;
      continue;
    }
    const inv = 255 - alpha;
    out[i] = ((src[i] as number) * alpha + (out[i] as number) * inv + 127) / 255;
    out[i + 1] = ((src[i + 1] as number) * alpha + (out[i + 1] as number) * inv + 127) / 255;
    out[i + 2] = ((src[i + 2] as number) * alpha + (out[i + 2] as number) * inv + 127) / 255;
    out[i + 3] = 255;
  }
  return { data: out, width: base.width, height: base.height };
}

/** Runs `fn` over `items` with at most `limit` in flight: sharp renders on libuv's thread pool. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  });
  await Promise.all(workers);
  return results;
}
