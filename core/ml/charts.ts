// The training report's pictures, drawn with core/render: confusion matrix, loss and accuracy
// curves, and the learning-rate finder's sweep.
import { confusionMatrixPng, lineChart, type LineChartOptions, type Point } from '../render/index.js';
import type { Curves } from './evaluate.js';
import type { LrFindResult } from './lrFind.js';

const pairs = (xs: number[], ys: number[]): Point[] => xs.map((x, i) => [x, ys[i]!] as const);

export async function confusionChart(classes: string[], confusion: number[][], title = 'confusion matrix (validation)'): Promise<Buffer> {
  return confusionMatrixPng(classes, confusion, title);
}

export async function lossChart(c: Curves, label?: string): Promise<Buffer> {
  return lineChart({
    title: titled('loss', label),
    xLabel: 'epoch',
    yLabel: 'cross-entropy',
    series: [
      { name: 'train', points: pairs(c.epoch, c.trainLoss) },
      { name: 'valid', points: pairs(c.epoch, c.validLoss), dashed: true },
    ],
  });
}

export async function accuracyChart(c: Curves, label?: string): Promise<Buffer> {
  return lineChart(accuracyChartOptions(c, label));
}

export function accuracyChartOptions(c: Curves, label?: string): LineChartOptions {
  return {
    title: titled('accuracy', label),
    xLabel: 'epoch',
    yLabel: 'accuracy',
    // A little above 1, so a line at 100% is drawn inside the frame rather than on it.
    yDomain: [0, 1.04],
    series: [
      { name: 'train', points: pairs(c.epoch, c.trainAccuracy) },
      { name: 'valid', points: pairs(c.epoch, c.validAccuracy), dashed: true },
    ],
  };
}

/** Loss against learning rate (log10 on x), as fast.ai's lr_find plot. */
export async function lrFinderChart(r: LrFindResult): Promise<Buffer> {
  return lineChart({
    title: `learning-rate finder (suggested ${r.suggested.toExponential(1)})`,
    xLabel: 'log10(learning rate)',
    yLabel: 'loss',
    series: [{ name: 'loss', points: r.points.map((p) => [Math.log10(p.lr), p.loss] as const) }],
  });
}

/** "<what> - <dataset> v<N>": each chart says which model it is about. */
function titled(what: string, label?: string): string {
  return label ? `${what} - ${label}` : what;
}

/** All the training report's charts as PNG buffers, by name; `label` names the model ("bears v3"). */
export async function trainingCharts(classes: string[], confusion: number[][], curves: Curves, label?: string): Promise<Record<'confusion' | 'loss' | 'accuracy', Buffer>> {
  const [cm, loss, accuracy] = await Promise.all([confusionChart(classes, confusion, titled('confusion matrix (validation)', label)), lossChart(curves, label), accuracyChart(curves, label)]);
  return { confusion: cm, loss, accuracy };
}
