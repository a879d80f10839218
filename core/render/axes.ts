// A plot area with linear or log scales, "nice" ticks, grid, axis labels and a clip path.
// Charts build on this so they all look alike and the training report matches /sgd.
import { fmt, formatNumber, svgText } from './svg.js';

export interface Margins {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export interface PlotSpec {
  width: number;
  height: number;
  xDomain: readonly [number, number];
  yDomain: readonly [number, number];
  logY?: boolean;
  margins?: Partial<Margins>;
}

export interface Plot {
  width: number;
  height: number;
  margins: Margins;
  /** The plotting rectangle in pixels. */
  left: number;
  right: number;
  top: number;
  bottom: number;
  xDomain: readonly [number, number];
  yDomain: readonly [number, number];
  logY: boolean;
  sx(x: number): number;
  sy(y: number): number;
  /** An id for a clipPath covering the plotting rectangle; see clipDef(). */
  clipId: string;
}

const DEFAULT_MARGINS: Margins = { top: 36, right: 20, bottom: 48, left: 64 };

/** Widens a degenerate domain (all values equal) so the scale does not divide by zero. */
export function safeDomain([lo, hi]: readonly [number, number], logY = false): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return logY ? [1e-3, 1] : [0, 1];
  if (logY) {
    const a = Math.max(lo, Number.MIN_VALUE);
    const b = Math.max(hi, a);
    return a === b ? [a / 10, b * 10] : [a, b];
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  return lo < hi ? [lo, hi] : [hi, lo];
}

/** Adds a fraction of the span on each side, so points are not drawn on the frame. */
export function padDomain([lo, hi]: readonly [number, number], fraction = 0.05, logY = false): [number, number] {
  if (logY) {
    const span = Math.log10(hi) - Math.log10(lo);
    const pad = Math.max(span * fraction, 0.05);
    return [lo / 10 ** pad, hi * 10 ** pad];
  }
  const pad = (hi - lo) * fraction;
  return [lo - pad, hi + pad];
}

export function createPlot(spec: PlotSpec): Plot {
  const margins = { ...DEFAULT_MARGINS, ...spec.margins };
  const logY = spec.logY ?? false;
  const xDomain = safeDomain(spec.xDomain);
  const yDomain = safeDomain(spec.yDomain, logY);
  const left = margins.left;
  const right = spec.width - margins.right;
  const top = margins.top;
  const bottom = spec.height - margins.bottom;
  const [x0, x1] = xDomain;
  const toY = (y: number) => (logY ? Math.log10(Math.max(y, Number.MIN_VALUE)) : y);
  const y0 = toY(yDomain[0]);
  const y1 = toY(yDomain[1]);
  return {
    width: spec.width,
    height: spec.height,
    margins,
    left,
    right,
    top,
    bottom,
    xDomain,
    yDomain,
    logY,
    sx: (x) => left + ((x - x0) / (x1 - x0)) * (right - left),
    sy: (y) => bottom - ((toY(y) - y0) / (y1 - y0)) * (bottom - top),
    clipId: 'plot-area',
  };
}

/** Ticks at 1, 2 or 5 times a power of ten, about `count` of them, inside the domain. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const rough = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  let ticks = ticksAt(lo, hi, step);
  // A wide step can leave a single tick in the range; an axis needs at least two to be read.
  while (ticks.length < 2 && step > span / 20) ticks = ticksAt(lo, hi, (step /= 2));
  return ticks;
}

function ticksAt(lo: number, hi: number, step: number): number[] {
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Powers of ten inside [lo, hi]; thinned so there are at most ~8 labels. */
export function logTicks(lo: number, hi: number): number[] {
  const first = Math.ceil(Math.log10(lo));
  const last = Math.floor(Math.log10(hi));
  if (last - first < 2) {
    // Two decades or fewer: 1-2-5 ticks so the axis still has a few labels.
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const t = Number((m * 10 ** e).toPrecision(6));
        if (t >= lo && t <= hi) ticks.push(t);
      }
    }
    return ticks.length ? ticks : [lo, hi];
  }
  const every = Math.max(1, Math.ceil((last - first + 1) / 8));
  const ticks: number[] = [];
  for (let e = first; e <= last; e += every) ticks.push(10 ** e);
  return ticks;
}

export function clipDef(plot: Plot): string {
  const w = plot.right - plot.left;
  const h = plot.bottom - plot.top;
  return `<defs><clipPath id="${plot.clipId}"><rect x="${fmt(plot.left)}" y="${fmt(plot.top)}" width="${fmt(w)}" height="${fmt(h)}"/></clipPath></defs>`;
}

export interface AxesLabels {
  title?: string;
  xLabel?: string;
  yLabel?: string;
}

/** Grid, frame, tick labels, axis labels and title for a plot. */
export function axesSvg(plot: Plot, labels: AxesLabels = {}): string {
  const parts: string[] = [clipDef(plot)];
  const xTicks = niceTicks(plot.xDomain[0], plot.xDomain[1], Math.max(2, Math.floor((plot.right - plot.left) / 70)));
  const yTicks = plot.logY
    ? logTicks(plot.yDomain[0], plot.yDomain[1])
    : niceTicks(plot.yDomain[0], plot.yDomain[1], Math.max(2, Math.floor((plot.bottom - plot.top) / 50)));
  for (const t of xTicks) {
    const x = plot.sx(t);
    parts.push(`<line x1="${fmt(x)}" y1="${fmt(plot.top)}" x2="${fmt(x)}" y2="${fmt(plot.bottom)}" stroke="#e6e6e6" stroke-width="1"/>`);
    parts.push(svgText(x, plot.bottom + 16, formatNumber(t), { size: 11, anchor: 'middle', color: '#555' }));
  }
  for (const t of yTicks) {
    const y = plot.sy(t);
    parts.push(`<line x1="${fmt(plot.left)}" y1="${fmt(y)}" x2="${fmt(plot.right)}" y2="${fmt(y)}" stroke="#e6e6e6" stroke-width="1"/>`);
    parts.push(svgText(plot.left - 6, y, formatNumber(t), { size: 11, anchor: 'end', color: '#555', baseline: 'middle' }));
  }
  parts.push(
    `<rect x="${fmt(plot.left)}" y="${fmt(plot.top)}" width="${fmt(plot.right - plot.left)}" height="${fmt(plot.bottom - plot.top)}" fill="none" stroke="#888" stroke-width="1"/>`,
  );
  const midX = (plot.left + plot.right) / 2;
  const midY = (plot.top + plot.bottom) / 2;
  if (labels.title) parts.push(svgText(plot.width / 2, 22, labels.title, { size: 15, anchor: 'middle', weight: 'bold' }));
  if (labels.xLabel) parts.push(svgText(midX, plot.height - 10, labels.xLabel, { size: 12, anchor: 'middle' }));
  if (labels.yLabel) parts.push(svgText(16, midY, labels.yLabel, { size: 12, anchor: 'middle', rotate: -90 }));
  return parts.join('');
}

/**
 * A polyline through data points, clipped to the plot. Pixel coordinates are clamped far outside
 * the canvas: a diverging fit produces values like 1e60 that the rasteriser cannot handle.
 */
export function polylineSvg(plot: Plot, points: ReadonlyArray<readonly [number, number]>, color: string, opts: { width?: number; dashed?: boolean } = {}): string {
  const limit = 10 * Math.max(plot.width, plot.height);
  const clamp = (v: number) => Math.max(-limit, Math.min(limit, v));
  const coords = points
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!plot.logY || y > 0))
    .map(([x, y]) => `${fmt(clamp(plot.sx(x)))},${fmt(clamp(plot.sy(y)))}`);
  if (coords.length === 0) return '';
  const dash = opts.dashed ? ' stroke-dasharray="6 4"' : '';
  return `<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="${opts.width ?? 2}" stroke-linejoin="round"${dash} clip-path="url(#${plot.clipId})"/>`;
}
