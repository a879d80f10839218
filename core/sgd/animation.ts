// The /sgd pictures: an animated GIF of the fitted line moving over the points, and the loss
// curve. The static part (axes, points, true line) is rasterised once; each frame only renders
// a transparent overlay (line + captions) and composites it over that background in JS.
import { clipDef, padDomain, type Plot } from '../render/axes.js';
import { framesToGif, sampleFrameIndices } from '../render/gif.js';
import { lineChart } from '../render/lineChart.js';
import { compositeOver, mapLimit, svgToRaw, type RawImage } from '../render/raster.js';
import { scatterBody, scatterPlot, straightLineSvg, type ScatterOptions } from '../render/scatter.js';
import { fmt, formatNumber, svgDocument, svgText } from '../render/svg.js';
import type { DescentHistory } from './descent.js';
import type { LessonData, Params } from './model.js';
import type { Verdict } from './verdict.js';

export interface AnimationOptions {
  width?: number;
  height?: number;
  /** At most this many frames; beyond it the steps are sampled evenly (first and last kept). */
  maxFrames?: number;
  delayMs?: number;
  maxBytes?: number;
}

export interface Animation {
  gif: Buffer;
  width: number;
  height: number;
  /** The step drawn in each frame. */
  steps: number[];
}

const FIT_COLOR = '#d62728';
const POINT_COLOR = '#4e79a7';
const TRUE_COLOR = '#7f7f7f';
/** Steps to keep drawing after a diverging line has left the chart, so its exit is seen. */
const STEPS_AFTER_EXIT = 2;
/** How many earlier frames leave a fading trail behind the current line. */
const TRAIL_FRAMES = 3;

function describeRun(history: DescentHistory, n: number): string {
  const how = history.batchSize >= n ? 'full batch' : `mini-batch ${history.batchSize}`;
  return `lr ${formatNumber(history.lr)}, ${how}`;
}

/** Where the line sits relative to the visible y range at both x edges. */
export function lineVisibility(plot: Plot, a: Params): 'visible' | 'above' | 'below' | 'gone' {
  if (!Number.isFinite(a[0]) || !Number.isFinite(a[1])) return 'gone';
  const [x0, x1] = plot.xDomain;
  const [yLo, yHi] = plot.yDomain;
  const ends = [a[0] * x0 + a[1], a[0] * x1 + a[1]];
  if (ends.every((y) => y > yHi)) return 'above';
  if (ends.every((y) => y < yLo)) return 'below';
  return 'visible';
}

/**
 * Which steps to animate. A diverging run is cut a couple of steps after the line leaves the
 * chart: the axes stay on the data, so the frames show it flying off instead of a blank plot
 * rescaled to 1e60.
 */
export function stepsToAnimate(plot: Plot, history: DescentHistory, diverged: boolean, maxFrames: number): number[] {
  let last = history.params.length - 1;
  if (diverged) {
    const exit = history.params.findIndex((a) => lineVisibility(plot, a) !== 'visible');
    if (exit !== -1) last = Math.min(last, exit + STEPS_AFTER_EXIT);
    while (last > 0 && lineVisibility(plot, history.params[last] as Params) === 'gone') last--;
  }
  return sampleFrameIndices(last + 1, maxFrames);
}

function chartOptions(data: LessonData, history: DescentHistory, width: number, height: number): ScatterOptions {
  const points = Array.from(data.x, (x, i) => [x, data.y[i] as number] as const);
  const ys = Array.from(data.y);
  const [t0, t1] = data.trueParams;
  return {
    width,
    height,
    title: `${history.batchSize >= data.x.length ? 'Gradient descent' : 'SGD'}, ${describeRun(history, data.x.length)}`,
    xLabel: 'x',
    yLabel: 'y',
    xDomain: padDomain([-1, 1], 0.04),
    yDomain: padDomain([Math.min(...ys, t1 - t0), Math.max(...ys, t1 + t0)], 0.08),
    pointRadius: data.x.length > 300 ? 2 : 3,
    series: [{ name: `${data.x.length} points`, points, color: POINT_COLOR }],
    lines: [{ name: `true line y = ${t0}x + ${t1}`, slope: t0, intercept: t1, color: TRUE_COLOR, dashed: true, width: 1.5 }],
    legendExtra: [{ name: 'fitted line', color: FIT_COLOR, kind: 'line' }],
    // The captions take the top corners; the points run bottom-left to top-right.
    legendPosition: 'bottom-right',
  };
}

function captionBox(x: number, y: number, lines: string[], color = '#111'): string {
  const width = Math.max(...lines.map((l) => l.length)) * 7.4 + 12;
  const height = lines.length * 16 + 6;
  const text = lines.map((l, i) => svgText(x + 6, y + 16 + i * 16, l, { size: 12.5, color, weight: i === 0 ? 'bold' : 'normal' })).join('');
  return `<rect x="${fmt(x)}" y="${fmt(y)}" width="${fmt(width)}" height="${height}" rx="3" fill="#ffffff" fill-opacity="0.88" stroke="#ccc"/>${text}`;
}

/** Faint copies of the lines of the previous frames, so the motion (and a growing swing) shows in a still frame. */
function trailSvg(plot: Plot, trail: readonly Params[]): string {
  return trail
    .map((a, i) => `<g opacity="${fmt((0.35 * (i + 1)) / trail.length)}">${straightLineSvg(plot, { slope: a[0], intercept: a[1], color: FIT_COLOR, width: 1.5 })}</g>`)
    .join('');
}

function overlaySvg(plot: Plot, history: DescentHistory, verdict: Verdict, n: number, step: number, trail: readonly Params[]): string {
  const a = history.params[step] as Params;
  const loss = history.loss[step] as number;
  const epochs = history.epochs[step] as number;
  // The overlay is its own document, so it needs its own copy of the plot's clip path.
  const parts = [clipDef(plot), trailSvg(plot, trail), straightLineSvg(plot, { slope: a[0], intercept: a[1], color: FIT_COLOR, width: 3 })];
  // Epochs only say something new for mini-batches: with the full batch, one step is one epoch.
  const epochText = history.batchSize < n ? ` · epoch ${formatNumber(epochs, 3)}` : '';
  parts.push(
    captionBox(plot.left + 6, plot.top + 6, [`step ${step} · loss ${formatNumber(loss)}`, `a = (${formatNumber(a[0])}, ${formatNumber(a[1])})${epochText}`]),
  );
  const diverging = verdict.kind === 'diverged' && verdict.divergedAtStep !== undefined && step >= verdict.divergedAtStep;
  if (diverging) {
    const where = lineVisibility(plot, a);
    const lines = ['DIVERGING', where === 'above' ? 'line is above the chart ↑' : where === 'below' ? 'line is below the chart ↓' : 'learning rate too high'];
    parts.push(captionBox(plot.right - 190, plot.top + 6, lines, '#b00020'));
  }
  return svgDocument(plot.width, plot.height, parts.join(''), 'none');
}

/** The animated GIF: one frame per step (sampled evenly beyond maxFrames), under maxBytes. */
export async function renderDescentAnimation(data: LessonData, history: DescentHistory, verdict: Verdict, opts: AnimationOptions = {}): Promise<Animation> {
  const width = opts.width ?? 480;
  const height = opts.height ?? 360;
  const chart = chartOptions(data, history, width, height);
  const plot = scatterPlot(chart);
  const background: RawImage = await svgToRaw(svgDocument(width, height, scatterBody(plot, chart)));
  const steps = stepsToAnimate(plot, history, verdict.kind === 'diverged', opts.maxFrames ?? 100);
  const frames = await mapLimit(steps, 4, async (step, k) => {
    const trail = steps.slice(Math.max(0, k - TRAIL_FRAMES), k).map((s) => history.params[s] as Params);
    const overlay = await svgToRaw(overlaySvg(plot, history, verdict, data.x.length, step, trail));
    return compositeOver(background, overlay).data;
  });
  // A short diverging clip plays slower so each jump can be followed; a long one at ~12 fps.
  const delayMs = opts.delayMs ?? Math.min(500, Math.max(80, Math.round(4000 / steps.length)));
  const gif = await framesToGif(frames, width, height, delayMs, { maxBytes: opts.maxBytes, lastFrameDelayMs: 2000 });
  return { gif, width, height, steps };
}

/** The loss after every step, on a log axis when it spans decades, with the best possible loss. */
export async function renderLossCurve(data: LessonData, history: DescentHistory, verdict: Verdict): Promise<Buffer> {
  const steps = history.loss.length - 1;
  const perEpoch = history.batchSize < data.x.length ? `, 1 epoch = ${Math.ceil(data.x.length / history.batchSize)} steps` : '';
  return lineChart({
    title: `Loss (MSE over all points), ${describeRun(history, data.x.length)}`,
    xLabel: `step${perEpoch}`,
    yLabel: 'loss',
    logY: 'auto',
    width: 640,
    height: 400,
    markers: steps <= 60,
    series: [
      { name: 'loss', points: history.loss.map((l, k) => [k, l] as const), color: FIT_COLOR },
      { name: `best possible ${formatNumber(verdict.bestLoss)}`, points: [[0, verdict.bestLoss], [steps, verdict.bestLoss]], color: TRUE_COLOR, dashed: true },
    ],
  });
}
