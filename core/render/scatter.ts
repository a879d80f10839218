// Scatter plots, optionally with straight lines y = slope * x + intercept drawn across them.
import { axesSvg, createPlot, padDomain, polylineSvg, type Plot } from './axes.js';
import type { Point } from './lineChart.js';
import { svgToPng } from './raster.js';
import { legendSvg, samplePath, type LegendEntry, type LegendPosition } from './legend.js';
import { fmt, paletteColor, svgDocument } from './svg.js';

export type { LegendEntry, LegendPosition };

export interface ScatterSeries {
  name: string;
  points: ReadonlyArray<Point>;
  color?: string;
}

export interface StraightLine {
  name: string;
  slope: number;
  intercept: number;
  color?: string;
  dashed?: boolean;
  width?: number;
}

export interface ScatterOptions {
  series: ReadonlyArray<ScatterSeries>;
  lines?: ReadonlyArray<StraightLine>;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  pointRadius?: number;
  /** Legend rows for things drawn elsewhere (e.g. an animation's moving line). */
  legendExtra?: ReadonlyArray<LegendEntry>;
  /** Which corner of the plot holds the legend; 'auto' (default) picks the one covering the fewest points. */
  legendPosition?: LegendPosition;
}



function extent(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
}

/** The plot geometry a scatter chart uses; exported so animations can draw overlays that line up. */
export function scatterPlot(opts: ScatterOptions): Plot {
  const points = opts.series.flatMap((s) => s.points);
  return createPlot({
    width: opts.width ?? 640,
    height: opts.height ?? 400,
    xDomain: opts.xDomain ?? padDomain(extent(points.map((p) => p[0]))),
    yDomain: opts.yDomain ?? padDomain(extent(points.map((p) => p[1]))),
  });
}

function straightLineEnds(plot: Plot, line: Pick<StraightLine, 'slope' | 'intercept'>): Point[] {
  const [x0, x1] = plot.xDomain;
  return [
    [x0, line.slope * x0 + line.intercept],
    [x1, line.slope * x1 + line.intercept],
  ];
}

/**
 * A straight line across the whole plot, clipped to it. Drawn from the left to the right edge
 * of the x domain, so a line with an enormous slope (a diverging fit) is still a valid path.
 */
export function straightLineSvg(plot: Plot, line: Pick<StraightLine, 'slope' | 'intercept' | 'color' | 'dashed' | 'width'>): string {
  return polylineSvg(plot, straightLineEnds(plot, line), line.color ?? '#d62728', { width: line.width ?? 2.5, dashed: line.dashed });
}

/** The static part of a scatter chart (axes, points, lines, legend) without the <svg> wrapper. */
export function scatterBody(plot: Plot, opts: ScatterOptions): string {
  const radius = opts.pointRadius ?? 3;
  const parts = [axesSvg(plot, { title: opts.title, xLabel: opts.xLabel, yLabel: opts.yLabel })];
  opts.series.forEach((s, i) => {
    const color = s.color ?? paletteColor(i);
    const dots = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y]) => `<circle cx="${fmt(plot.sx(x))}" cy="${fmt(plot.sy(y))}" r="${radius}"/>`);
    parts.push(`<g fill="${color}" fill-opacity="0.7" clip-path="url(#${plot.clipId})">${dots.join('')}</g>`);
  });
  const lines = opts.lines ?? [];
  lines.forEach((line, i) => parts.push(straightLineSvg(plot, { ...line, color: line.color ?? paletteColor(opts.series.length + i) })));
  const legend = [
    ...opts.series.map((s, i) => ({ name: s.name, color: s.color ?? paletteColor(i), kind: 'dot' as const })),
    ...lines.map((l, i) => ({ name: l.name, color: l.color ?? paletteColor(opts.series.length + i), kind: l.dashed ? ('dash' as const) : ('line' as const) })),
    ...(opts.legendExtra ?? []),
  ];
  const obstacles = [
    ...opts.series.flatMap((s) => samplePath(plot, s.points, 1)),
    ...lines.flatMap((l) => samplePath(plot, straightLineEnds(plot, l), 40)),
  ];
  parts.push(legendSvg(plot, legend, opts.legendPosition ?? 'auto', obstacles));
  return parts.join('');
}

export function scatterSvg(opts: ScatterOptions): string {
  const plot = scatterPlot(opts);
  return svgDocument(plot.width, plot.height, scatterBody(plot, opts));
}

/** A scatter chart as a PNG buffer (640x400 unless width/height say otherwise). */
export async function scatter(opts: ScatterOptions): Promise<Buffer> {
  return svgToPng(scatterSvg(opts));
}
