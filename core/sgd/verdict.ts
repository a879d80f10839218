// Did the descent work? Three outcomes the lesson teaches: it converged; the learning rate was
// too high and the loss grew (diverged); or it was heading down but stopped too early.
import { formatNumber } from '../render/svg.js';
import type { DescentHistory } from './descent.js';
import { criticalLearningRate, leastSquares, type LessonData } from './model.js';

export type VerdictKind = 'converged' | 'diverged' | 'not-converged';

export interface Verdict {
  kind: VerdictKind;
  startLoss: number;
  finalLoss: number;
  /** The lowest loss any line reaches on this data (least squares). */
  bestLoss: number;
  noiseVariance: number;
  /** First step whose loss exceeded the starting loss, when the run diverged. */
  divergedAtStep?: number;
  /** One or two sentences for the user. */
  explanation: string;
}

/** Converged means within this fraction above the best possible loss. */
export const CONVERGED_TOLERANCE = 0.1;

/** How many of the last steps must each raise the loss to call a run diverging even if it ended below its start. */
function risingTail(loss: readonly number[]): boolean {
  const span = Math.min(10, Math.floor((loss.length - 1) / 4));
  if (span < 3) return false;
  for (let k = loss.length - span; k < loss.length; k++) {
    if (!((loss[k] as number) > (loss[k - 1] as number))) return false;
  }
  return true;
}

/** The relative fall of the loss per step over the last tenth of the run (positive = still falling). */
export function recentFallPerStep(loss: readonly number[]): number {
  const span = Math.max(1, Math.floor((loss.length - 1) / 10));
  const end = loss[loss.length - 1] as number;
  const before = loss[Math.max(0, loss.length - 1 - span)] as number;
  if (!(before > 0) || !Number.isFinite(end)) return 0;
  return 1 - (end / before) ** (1 / span);
}

function isDiverged(history: DescentHistory): boolean {
  const { loss } = history;
  const start = loss[0] as number;
  const final = loss[loss.length - 1] as number;
  if (history.overflowed || !Number.isFinite(final) || final > start) return true;
  const lowest = Math.min(...loss);
  return final > 2 * lowest && risingTail(loss);
}

function firstStepAbove(loss: readonly number[], threshold: number): number | undefined {
  const k = loss.findIndex((l, i) => i > 0 && !(l <= threshold));
  return k === -1 ? undefined : k;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

export function judgeDescent(data: LessonData, history: DescentHistory): Verdict {
  const { loss, lr, batchSize } = history;
  const startLoss = loss[0] as number;
  const finalLoss = loss[loss.length - 1] as number;
  const bestLoss = leastSquares(data).loss;
  const noiseVariance = data.noiseStd ** 2;
  const steps = loss.length - 1;
  const base = { startLoss, finalLoss, bestLoss, noiseVariance };
  const fullBatch = batchSize >= data.x.length;

  if (isDiverged(history)) {
    const critical = criticalLearningRate(data);
    const divergedAtStep = firstStepAbove(loss, startLoss) ?? loss.indexOf(Math.max(...loss.filter(Number.isFinite)));
    const grewTo = history.overflowed ? 'beyond what a number can hold' : formatNumber(finalLoss);
    const limit = fullBatch
      ? `On this data full-batch steps blow up for any learning rate above about ${formatNumber(critical, 2)}`
      : `Mini-batches are noisier than the full batch, so keep it well under ${formatNumber(critical, 2)}, the full-batch limit on this data`;
    return {
      ...base,
      kind: 'diverged',
      divergedAtStep,
      explanation:
        `Diverged: the loss grew from ${formatNumber(startLoss)} to ${grewTo}. The learning rate ${formatNumber(lr)} is too high: ` +
        `each step jumps past the bottom of the valley and lands higher up the other side, so the line swings further every step. ` +
        `${limit}; try 0.1.`,
    };
  }

  const excess = finalLoss / bestLoss - 1;
  if (excess <= CONVERGED_TOLERANCE) {
    return {
      ...base,
      kind: 'converged',
      explanation:
        `Converged: the loss fell from ${formatNumber(startLoss)} to ${formatNumber(finalLoss)}, ${excess < 0.005 ? 'as low as' : `within ${pct(excess)} of`} ` +
        `${formatNumber(bestLoss)}, the best any line can do on these points (what is left is the noise, variance ${formatNumber(noiseVariance)}).`,
    };
  }

  const fall = recentFallPerStep(loss);
  const stillFalling = fall > 0.001 ? ` and is still falling (about ${formatNumber(fall * 100, 2)}% per step at the end)` : '';
  return {
    ...base,
    kind: 'not-converged',
    explanation:
      `Not converged yet: after ${steps} steps the loss is ${formatNumber(finalLoss)}, ${formatNumber(finalLoss / bestLoss, 2)}x the best possible ` +
      `${formatNumber(bestLoss)}${stillFalling}. Try more steps or a higher learning rate` +
      (fullBatch ? '.' : ' (or a bigger batch, if the loss is jumping around at the bottom).'),
  };
}
