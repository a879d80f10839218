// The learning-rate finder (Smith 2015, fast.ai's lr_find): train a fresh head for a few dozen
// mini-batches while the learning rate grows exponentially, record the smoothed loss, stop when
// it explodes, and suggest a rate from the longest descending stretch (fast.ai's "valley").
import * as tf from '@tensorflow/tfjs';
import { AdamW } from './adamw.js';
import { checkShapes, disposeParams, forward, initParams } from './headCore.js';
import { permutation, seededRandom } from './random.js';

export interface LrFindOptions {
  nClasses: number;
  dim: number;
  hidden?: number;
  dropout?: number;
  weightDecay?: number;
  batchSize?: number;
  seed?: number;
  startLr?: number;
  endLr?: number;
  steps?: number;
  signal?: AbortSignal;
}

export interface LrFindResult {
  points: { lr: number; loss: number }[];
  /** The "valley" suggestion. */
  suggested: number;
  /** The rate at the lowest loss divided by 10 (the older fast.ai rule of thumb). */
  minDiv10: number;
}

/** Index fast.ai's valley rule picks: the middle of the longest decreasing run of losses. */
export function valleyIndex(losses: number[]): number {
  const n = losses.length;
  if (n === 0) return 0;
  const runs = new Array<number>(n).fill(1);
  let maxEnd = 0;
  let maxStart = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i]! < losses[j]! && runs[i]! < runs[j]! + 1) runs[i] = runs[j]! + 1;
    }
    if (runs[maxEnd]! < runs[i]!) {
      maxEnd = i;
      maxStart = maxEnd - runs[maxEnd]!;
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  return Math.min(n - 1, Math.max(0, maxStart + Math.floor(sections) + Math.floor(sections / 2)));
}

export async function lrFind(X: Float32Array, y: Int32Array, opts: LrFindOptions): Promise<LrFindResult> {
  const { nClasses, dim, hidden = 0, dropout = 0.2, weightDecay = 1e-2, batchSize = 64, seed = 42 } = opts;
  const { startLr = 1e-7, endLr = 10, steps = 100 } = opts;
  const n = checkShapes(X, y, dim, nClasses);
  if (n === 0) throw new Error('no rows for the learning-rate finder');
  const params = initParams(X, { dim, nClasses, hidden, seed });
  const optimizer = new AdamW(params.vars, params.vars.map((_, i) => i % 2 === 0));
  const xAll = tf.tensor2d(X, [n, dim]);
  const yAll = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), nClasses));
  const random = seededRandom(seed);
  const points: { lr: number; loss: number }[] = [];
  let order = permutation(n, random);
  let cursor = 0;
  let avg = 0;
  let best = Infinity;
  try {
    for (let step = 0; step < steps; step++) {
      opts.signal?.throwIfAborted();
      const lr = startLr * (endLr / startLr) ** (step / Math.max(steps - 1, 1));
      if (cursor >= n) {
        order = permutation(n, random);
        cursor = 0;
      }
      const batch = order.subarray(cursor, cursor + batchSize);
      cursor += batchSize;
      const loss = tf.tidy(() => {
        const idx = tf.tensor1d(batch, 'int32');
        const xb = tf.gather(xAll, idx) as tf.Tensor2D;
        const yb = tf.gather(yAll, idx);
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(yb, forward(params, xb, dropout, seed + step)) as tf.Scalar,
          params.vars,
        );
        optimizer.apply(params.vars.map((v) => grads[v.name]!), { lr, beta1: 0.9, weightDecay });
        return value.dataSync()[0]!;
      });
      // Exponential moving average with bias correction, as fast.ai plots it.
      avg = 0.98 * avg + 0.02 * loss;
      const smoothed = avg / (1 - 0.98 ** (step + 1));
      if (!Number.isFinite(smoothed) || (step > 0 && smoothed > 4 * best)) break;
      best = Math.min(best, smoothed);
      points.push({ lr, loss: smoothed });
    }
  } finally {
    optimizer.dispose();
    disposeParams(params);
    xAll.dispose();
    yAll.dispose();
  }
  const losses = points.map((p) => p.loss);
  const minAt = losses.indexOf(Math.min(...losses));
  return {
    points,
    suggested: points[valleyIndex(losses)]?.lr ?? 1e-3,
    minDiv10: (points[minAt]?.lr ?? 1e-2) / 10,
  };
}
