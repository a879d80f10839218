// A contact sheet for /dataset show: one row per class, its name and count, then a few sample
// thumbnails. Class names are XML-escaped into the SVG label.
import { escapeXml } from '../render/svg.js';
import sharp, { type OverlayOptions } from 'sharp';
import type { Services } from '../services.js';
import type { DatasetItem, DatasetRef } from '../store/types.js';

export interface ContactSheetOptions {
  perClass?: number;
  thumb?: number;
}

const LABEL_WIDTH = 200;
const GAP = 4;

function labelSvg(name: string, count: number, height: number): Buffer {
  const shown = name.length > 24 ? `${name.slice(0, 23)}…` : name;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_WIDTH}" height="${height}">` +
      `<text x="8" y="${height / 2 - 4}" font-family="DejaVu Sans, sans-serif" font-size="16" font-weight="bold" fill="#222">${escapeXml(shown)}</text>` +
      `<text x="8" y="${height / 2 + 16}" font-family="DejaVu Sans, sans-serif" font-size="13" fill="#555">${count} image${count === 1 ? '' : 's'}</text>` +
      `</svg>`,
  );
}

/** A PNG with up to `perClass` thumbnails per class (the first images, in the order added). */
export async function renderContactSheet(services: Services, ref: DatasetRef, opts: ContactSheetOptions = {}): Promise<Buffer> {
  const perClass = opts.perClass ?? 6;
  const thumb = opts.thumb ?? 96;
  const meta = await services.datasets.require(ref);
  const byClass = new Map<string, DatasetItem[]>(meta.classes.map((c) => [c, []]));
  for (const item of await services.datasets.items(ref)) byClass.get(item.label)?.push(item);
  const rowHeight = thumb + GAP;
  const width = LABEL_WIDTH + perClass * (thumb + GAP) + GAP;
  const height = Math.max(1, meta.classes.length) * rowHeight + GAP;
  const layers: OverlayOptions[] = [];
  let row = 0;
  for (const [name, items] of byClass) {
    const top = GAP + row * rowHeight;
    layers.push({ input: labelSvg(name, items.length, thumb), top, left: 0 });
    const samples = items.slice(0, perClass);
    const thumbs = await Promise.all(
      samples.map((item) => sharp(services.blobs.path(item.id)).resize(thumb, thumb, { fit: 'cover' }).jpeg().toBuffer()),
    );
    thumbs.forEach((input, i) => layers.push({ input, top, left: LABEL_WIDTH + i * (thumb + GAP) }));
    row++;
  }
  return sharp({ create: { width, height, channels: 3, background: '#f4f4f4' } })
    .composite(layers)
    .png()
    .toBuffer();
}
