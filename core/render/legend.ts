// Chart legends, placed in the corner of the plot that hides the least of what is drawn.
import type { Plot } from './axes.js';
import { approxTextWidth, fmt, svgText, truncate } from './svg.js';

export interface LegendEntry {
  name: string;
  color: string;
  kind: 'dot' | 'line' | 'dash';
}

export type LegendPosition = 'auto' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

/** Pixel positions, for choosing where the legend hides least. */
export type PixelPoint = readonly [px: number, py: number];

const ROW = 16;
const SIZE = 11;
const MAX_CHARS = 40;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Pixel samples along a polyline (several per segment, so a long straight segment across a
 * corner counts as covering it); non-finite points are skipped.
 */
export function samplePath(plot: Plot, points: ReadonlyArray<readonly [number, number]>, perSegment = 12): PixelPoint[] {
  const px = points
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!plot.logY || y > 0))
    .map(([x, y]) => [plot.sx(x), plot.sy(y)] as const);
  const out: PixelPoint[] = [];
  px.forEach((p, i) => {
    const prev = px[i - 1];
    if (prev) for (let k = 1; k < perSegment; k++) out.push([prev[0] + ((p[0] - prev[0]) * k) / perSegment, prev[1] + ((p[1] - prev[1]) * k) / perSegment]);
    out.push(p);
  });
  return out;
}

function chooseBox(plot: Plot, w: number, h: number, position: LegendPosition, obstacles: readonly PixelPoint[]): Box {
  const corners: Record<Exclude<LegendPosition, 'auto'>, Box> = {
    'top-right': { x: plot.right - w - 8, y: plot.top + 8, w, h },
    'bottom-right': { x: plot.right - w - 8, y: plot.bottom - h - 8, w, h },
    'top-left': { x: plot.left + 8, y: plot.top + 8, w, h },
    'bottom-left': { x: plot.left + 8, y: plot.bottom - h - 8, w, h },
  };
  if (position !== 'auto') return corners[position];
  const hidden = (b: Box) => obstacles.filter(([x, y]) => x >= b.x - 4 && x <= b.x + b.w + 4 && y >= b.y - 4 && y <= b.y + b.h + 4).length;
  return Object.values(corners).reduce((best, b) => (hidden(b) < hidden(best) ? b : best));
}

export function legendSvg(plot: Plot, entries: readonly LegendEntry[], position: LegendPosition = 'auto', obstacles: readonly PixelPoint[] = []): string {
  const shown = entries.filter((e) => e.name !== '');
  if (shown.length === 0) return '';
  const labels = shown.map((e) => truncate(e.name, MAX_CHARS));
  const w = 34 + Math.max(...labels.map((l) => approxTextWidth(l, SIZE)));
  const { x, y, h } = chooseBox(plot, w, shown.length * ROW + 6, position, obstacles);
  const parts = [`<rect x="${fmt(x)}" y="${fmt(y)}" width="${fmt(w)}" height="${fmt(h)}" fill="#ffffff" fill-opacity="0.85" stroke="#ccc"/>`];
  shown.forEach((e, i) => {
    const rowY = y + 3 + ROW * i + ROW / 2;
    if (e.kind === 'dot') parts.push(`<circle cx="${fmt(x + 16)}" cy="${fmt(rowY)}" r="3.5" fill="${e.color}"/>`);
    else parts.push(`<line x1="${fmt(x + 6)}" y1="${fmt(rowY)}" x2="${fmt(x + 26)}" y2="${fmt(rowY)}" stroke="${e.color}" stroke-width="2"${e.kind === 'dash' ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(svgText(x + 30, rowY, labels[i] as string, { size: SIZE, baseline: 'middle' }));
  });
  return parts.join('');
}
