// Metrics on the validation split: accuracy, error rate, loss, per-class precision / recall /
// support, the confusion matrix (rows = actual class, columns = predicted, as fast.ai plots it)
// and the loss / accuracy curves from the training history.
import type { EpochStats } from './head.js';

export interface ClassMetrics {
  precision: number;
  recall: number;
  n: number;
}

export interface Evaluation {
  n: number;
  accuracy: number;
  errorRate: number;
  loss: number;
  perClass: Record<string, ClassMetrics>;
  confusion: number[][];
}

export interface Curves {
  epoch: number[];
  trainLoss: number[];
  validLoss: number[];
  trainAccuracy: number[];
  validAccuracy: number[];
  lr: number[];
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Metrics of row-major n x k probabilities against labels 0..k-1. */
export function evaluate(proba: Float32Array, y: Int32Array, classes: string[]): Evaluation {
  const k = classes.length;
  if (proba.length !== y.length * k) throw new Error(`expected ${y.length} x ${k} probabilities, got ${proba.length}`);
  const confusion = classes.map(() => new Array<number>(k).fill(0));
  let loss = 0;
  for (let r = 0; r < y.length; r++) {
    const row = proba.subarray(r * k, (r + 1) * k);
    confusion[y[r]!]![argmax(row)]!++;
    loss -= Math.log(Math.max(row[y[r]!]!, 1e-12));
  }
  const correct = classes.reduce((s, _, c) => s + confusion[c]![c]!, 0);
  const n = y.length;
  const perClass: Record<string, ClassMetrics> = {};
  classes.forEach((name, c) => {
    const actual = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((s, row) => s + row[c]!, 0);
    // 0 rather than NaN when a class was never predicted or has no examples: JSON-safe.
    perClass[name] = { precision: predicted ? confusion[c]![c]! / predicted : 0, recall: actual ? confusion[c]![c]! / actual : 0, n: actual };
  });
  const accuracy = n ? correct / n : 0;
  return { n, accuracy, errorRate: n ? 1 - accuracy : 0, loss: n ? loss / n : 0, perClass, confusion };
}

export function curvesOf(history: EpochStats[]): Curves {
  return {
    epoch: history.map((h) => h.epoch),
    trainLoss: history.map((h) => h.trainLoss),
    validLoss: history.map((h) => h.validLoss ?? NaN),
    trainAccuracy: history.map((h) => h.trainAccuracy),
    validAccuracy: history.map((h) => h.validAccuracy ?? NaN),
    lr: history.map((h) => h.lr),
  };
}

/** The most confused pairs (actual, predicted, count), largest first: fast.ai's most_confused. */
export function mostConfused(e: Evaluation, classes: string[], minCount = 1): { actual: string; predicted: string; count: number }[] {
  const pairs: { actual: string; predicted: string; count: number }[] = [];
  e.confusion.forEach((row, a) => row.forEach((count, p) => a !== p && count >= minCount && pairs.push({ actual: classes[a]!, predicted: classes[p]!, count })));
  return pairs.sort((x, y) => y.count - x.count);
}
