// The training report's pictures, drawn with core/render: confusion matrix, loss and accuracy
// curves, and the learning-rate finder's sweep.
import { confusionMatrixPng, lineChart, type Point } from '../render/index.js';
import type { Curves } from './evaluate.js';
import type { LrFindResult } from './lrFind.js';

const pairs = (xs: number[], ys: number[]): Point[] => xs.map((x, i) => [x, ys[i]!] as const);

export async function confusionChart(classes: string[], confusion: number[][], title = 'confusion matrix (validation)'): Promise<Buffer> {
  return confusionMatrixPng(classes, confusion, title);
}

export async function lossChart(c: Curves): Promise<Buffer> {
  return lineChart({
    title: 'loss',
    xLabel: 'epoch',
    yLabel: 'cross-entropy',
    series: [
      { name: 'train', points: pairs(c.epoch, c.trainLoss) },
      { name: 'valid', points: pairs(c.epoch, c.validLoss), dashed: true },
    ],
  });
}

export async function accuracyChart(c: Curves): Promise<Buffer> {
  return lineChart({
    title: 'accuracy',
    xLabel: 'epoch',
    yLabel: 'accuracy',
    yDomain: [0, 1],
    series: [
      { name: 'train', points: pairs(c.epoch, c.trainAccuracy) },
      { name: 'valid', points: pairs(c.epoch, c.validAccuracy), dashed: true },
    ],
  });
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

/** All the training report's charts as PNG buffers, by name. */
export async function trainingCharts(classes: string[], confusion: number[][], curves: Curves): Promise<Record<'confusion' | 'loss' | 'accuracy', Buffer>> {
  const [cm, loss, accuracy] = await Promise.all([confusionChart(classes, confusion), lossChart(curves), accuracyChart(curves)]);
  return { confusion: cm, loss, accuracy };
}
