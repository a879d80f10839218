// Line charts (loss curves, accuracy per epoch) as SVG and PNG.
import { axesSvg, createPlot, padDomain, polylineSvg } from './axes.js';
import { svgToPng } from './raster.js';
import { legendSvg, samplePath, type LegendPosition } from './legend.js';
import { fmt, paletteColor, svgDocument } from './svg.js';

export type Point = readonly [x: number, y: number];

export interface LineSeries {
  name: string;
  /** [x, y] pairs; non-finite values (and non-positive ones on a log axis) are skipped. */
  points: ReadonlyArray<Point>;
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  series: ReadonlyArray<LineSeries>;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** true, false, or 'auto': log scale when the positive values span more than two decades. */
  logY?: boolean | 'auto';
  /** Draw a dot at every point (default: only when a series has 60 points or fewer). */
  markers?: boolean;
  width?: number;
  height?: number;
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  /** Which corner holds the legend; 'auto' (default) picks the one hiding the least of the lines. */
  legendPosition?: LegendPosition;
}

function finiteExtent(values: number[]): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Whether a log y axis reads better: all positive values span more than `decades` powers of ten. */
export function spansDecades(values: readonly number[], decades = 2): boolean {
  const positive = finiteExtent(values.filter((v) => v > 0));
  return positive !== undefined && Math.log10(positive[1] / positive[0]) > decades;
}

export function lineChartSvg(opts: LineChartOptions): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  const allY = opts.series.flatMap((s) => s.points.map((p) => p[1]));
  const logY = opts.logY === 'auto' ? spansDecades(allY) : (opts.logY ?? false);
  const usableY = logY ? allY.filter((v) => v > 0) : allY;
  // A little room on both sides, so the first and last points are not cut by the frame.
  const xExtent = opts.xDomain ?? padDomain(finiteExtent(opts.series.flatMap((s) => s.points.map((p) => p[0]))) ?? [0, 1], 0.03);
  const yExtent = opts.yDomain ?? padDomain(finiteExtent(usableY) ?? (logY ? [0.1, 1] : [0, 1]), 0.05, logY);
  const plot = createPlot({ width, height, xDomain: xExtent, yDomain: yExtent, logY });
  const parts = [axesSvg(plot, { title: opts.title, xLabel: opts.xLabel, yLabel: opts.yLabel })];
  opts.series.forEach((s, i) => {
    const color = s.color ?? paletteColor(i);
    parts.push(polylineSvg(plot, s.points, color, { dashed: s.dashed }));
    const showMarkers = opts.markers ?? s.points.length <= 60;
    if (!showMarkers) return;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y) || (logY && y <= 0)) continue;
      parts.push(`<circle cx="${fmt(plot.sx(x))}" cy="${fmt(plot.sy(y))}" r="3" fill="${color}" clip-path="url(#${plot.clipId})"/>`);
    }
  });
  const entries = opts.series.map((s, i) => ({ name: s.name, color: s.color ?? paletteColor(i), kind: s.dashed ? ('dash' as const) : ('line' as const) }));
  const obstacles = opts.series.flatMap((s) => samplePath(plot, s.points));
  parts.push(legendSvg(plot, entries, opts.legendPosition ?? 'auto', obstacles));
  return svgDocument(width, height, parts.join(''));
}

/** A line chart as a PNG buffer (640x400 unless width/height say otherwise). */
export async function lineChart(opts: LineChartOptions): Promise<Buffer> {
  return svgToPng(lineChartSvg(opts));
}
