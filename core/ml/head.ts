// The classifier head trained on cached backbone embeddings: softmax regression, or one hidden
// layer with dropout, trained with AdamW on a one-cycle schedule, optional label smoothing,
// seeded. Inputs are standardised with the training set's mean and std (what the BatchNorm at
// the start of fast.ai's head does), and those statistics travel with the weights.
import * as tf from '@tensorflow/tfjs';
import { AdamW } from './adamw.js';
import { oneCycle } from './schedule.js';
import { permutation, seededRandom } from './random.js';
import { checkShapes, disposeParams, forward, fromB64, initParams, logitsFrom, probaFrom, toB64, type Params } from './headCore.js';

export interface EpochStats {
  epoch: number;
  epochs: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  validLoss?: number;
  validAccuracy?: number;
}

export interface HeadOptions {
  nClasses: number;
  dim: number;
  epochs?: number;
  /** The peak learning rate of the one-cycle schedule. */
  lr?: number;
  /** Units of the hidden layer; 0 = softmax regression. */
  hidden?: number;
  dropout?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  seed?: number;
  batchSize?: number;
  onEpoch?: (e: EpochStats) => void;
  signal?: AbortSignal;
  valid?: { X: Float32Array; y: Int32Array };
  /** Longest stretch of steps between event-loop turns, ms (default 20; 0 = a turn every step). */
  yieldBudgetMs?: number;
}

export interface HeadJSON {
  format: 'kodiak-head/1';
  nClasses: number;
  dim: number;
  hidden: number;
  /** Per-feature standardisation applied before the first layer. */
  mean: string;
  std: string;
  /** Dense layers in order: kernel [in, out] and bias [out], float32 as base64. */
  layers: { kernel: string; bias: string; inputs: number; units: number }[];
  history: EpochStats[];
}

export interface TrainedHead {
  readonly nClasses: number;
  readonly dim: number;
  readonly hidden: number;
  readonly history: EpochStats[];
  /** Row-major n x nClasses probabilities for row-major n x dim features. */
  predictProba(X: Float32Array): Float32Array;
  /** Row-major n x nClasses raw class scores (before softmax), for the novelty check. */
  predictLogits(X: Float32Array): Float32Array;
  toJSON(): HeadJSON;
  dispose(): void;
}

export const HEAD_DEFAULTS = {
  epochs: 20,
  lr: 3e-3,
  hidden: 0,
  dropout: 0.2,
  weightDecay: 1e-2,
  labelSmoothing: 0,
  seed: 42,
  batchSize: 64,
} as const;

/** Mean cross-entropy (no smoothing) and accuracy of probabilities against labels. */
export function lossAndAccuracy(proba: Float32Array, y: Int32Array, nClasses: number): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < y.length; r++) {
    const row = proba.subarray(r * nClasses, (r + 1) * nClasses);
    loss -= Math.log(Math.max(row[y[r]!]!, 1e-12));
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (row[c]! > row[best]!) best = c;
    if (best === y[r]) correct++;
  }
  return { loss: loss / Math.max(y.length, 1), accuracy: correct / Math.max(y.length, 1) };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Training runs on the worker's main thread, where BullMQ renews the job's lock, the cancel
 * listener and progress updates run too: a loop that never yields lets the lock expire and the
 * job be taken for stalled (and run twice). So the step loop hands the event loop a turn
 * whenever it has held it for `budgetMs`: a few dozen microseconds per turn, at most every 20 ms.
 */
export function yielder(budgetMs = 20): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < budgetMs) return;
    await yieldToEventLoop();
    since = performance.now();
  };
}

/** Trains a head on row-major features `X` (n x dim) with integer labels `y`. */
export async function trainHead(X: Float32Array, y: Int32Array, options: HeadOptions): Promise<TrainedHead> {
  const o = { ...HEAD_DEFAULTS, ...stripUndefined(options) };
  const n = checkShapes(X, y, o.dim, o.nClasses);
  if (n === 0) throw new Error('no training rows');
  if (o.valid) checkShapes(o.valid.X, o.valid.y, o.dim, o.nClasses);
  const params = initParams(X, o);
  const optimizer = new AdamW(params.vars, params.vars.map((_, i) => i % 2 === 0));
  const xAll = tf.tensor2d(X, [n, o.dim]);
  const yAll = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), o.nClasses));
  const random = seededRandom(o.seed);
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  const history: EpochStats[] = [];
  const pause = o.yieldBudgetMs === 0 ? yieldToEventLoop : yielder(o.yieldBudgetMs);
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = permutation(n, random);
      let lossSum = 0;
      let correct = 0;
      let lr = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        await pause();
        o.signal?.throwIfAborted();
        const step = epoch * stepsPerEpoch + s;
        const sched = oneCycle(step, totalSteps, o.lr);
        lr = sched.lr;
        const batch = order.subarray(s * o.batchSize, (s + 1) * o.batchSize);
        const [batchLoss, batchCorrect] = tf.tidy(() => {
          const idx = tf.tensor1d(batch, 'int32');
          const xb = tf.gather(xAll, idx) as tf.Tensor2D;
          const yb = tf.gather(yAll, idx);
          let hits: tf.Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const logits = forward(params, xb, o.dropout, o.seed * 100_003 + step * 7);
            // Kept: variableGrads disposes everything else computed inside it.
            hits = tf.keep(tf.equal(tf.argMax(logits, 1), tf.argMax(yb, 1)).sum());
            return tf.losses.softmaxCrossEntropy(yb, logits, undefined, o.labelSmoothing) as tf.Scalar;
          }, params.vars);
          optimizer.apply(params.vars.map((v) => grads[v.name]!), { lr: sched.lr, beta1: sched.beta1, weightDecay: o.weightDecay });
          const batchHits = hits!.dataSync()[0]!;
          hits!.dispose();
          return [value.dataSync()[0]!, batchHits];
        });
        lossSum += batchLoss * batch.length;
        correct += batchCorrect;
      }
      const stats: EpochStats = { epoch: epoch + 1, epochs: o.epochs, lr, trainLoss: lossSum / n, trainAccuracy: correct / n };
      if (o.valid && o.valid.y.length > 0) {
        const v = lossAndAccuracy(probaFrom(params, o.valid.X, o.dim, o.nClasses), o.valid.y, o.nClasses);
        stats.validLoss = v.loss;
        stats.validAccuracy = v.accuracy;
      }
      history.push(stats);
      o.onEpoch?.(stats);
      await yieldToEventLoop(); // lets a cancel request (AbortSignal) arrive between epochs
    }
  } catch (err) {
    disposeParams(params);
    throw err;
  } finally {
    optimizer.dispose();
    xAll.dispose();
    yAll.dispose();
  }
  return wrap(params, o.dim, o.nClasses, o.hidden, history);
}

function wrap(params: Params, dim: number, nClasses: number, hidden: number, history: EpochStats[]): TrainedHead {
  let disposed = false;
  const alive = () => {
    if (disposed) throw new Error('this head was disposed');
  };
  return {
    nClasses,
    dim,
    hidden,
    history,
    predictProba(X) {
      alive();
      checkShapes(X, undefined, dim, nClasses);
      return probaFrom(params, X, dim, nClasses);
    },
    predictLogits(X) {
      alive();
      checkShapes(X, undefined, dim, nClasses);
      return logitsFrom(params, X, dim, nClasses);
    },
    toJSON() {
      alive();
      const layers = [];
      for (let i = 0; i < params.vars.length; i += 2) {
        const [inputs, units] = params.vars[i]!.shape as [number, number];
        layers.push({ kernel: toB64(params.vars[i]!.dataSync() as Float32Array), bias: toB64(params.vars[i + 1]!.dataSync() as Float32Array), inputs, units });
      }
      const mean = toB64(params.mean.dataSync() as Float32Array);
      const std = toB64(params.std.dataSync() as Float32Array);
      return { format: 'kodiak-head/1', nClasses, dim, hidden, mean, std, layers, history };
    },
    dispose() {
      if (!disposed) disposeParams(params);
      disposed = true;
    },
  };
}

/** Rebuilds a head saved with toJSON() (on whatever tfjs backend is active). */
export function loadHead(json: HeadJSON): TrainedHead {
  if (json.format !== 'kodiak-head/1') throw new Error(`unknown head format ${String(json.format)}`);
  const vars: tf.Variable[] = [];
  json.layers.forEach((l) => {
    vars.push(tf.tidy(() => tf.variable(tf.tensor2d(fromB64(l.kernel), [l.inputs, l.units]), false)));
    vars.push(tf.tidy(() => tf.variable(tf.tensor1d(fromB64(l.bias)), false)));
  });
  const params: Params = { mean: tf.tensor1d(fromB64(json.mean)), std: tf.tensor1d(fromB64(json.std)), vars };
  return wrap(params, json.dim, json.nClasses, json.hidden, json.history ?? []);
}

/** The head's dense layers with the standardisation folded into the first one (for export). */
export function foldedLayers(json: HeadJSON): { kernel: Float32Array; bias: Float32Array; inputs: number; units: number }[] {
  const mean = fromB64(json.mean);
  const std = fromB64(json.std);
  return json.layers.map((l, i) => {
    const kernel = fromB64(l.kernel);
    const bias = fromB64(l.bias);
    if (i > 0) return { kernel, bias, inputs: l.inputs, units: l.units };
    // (x - m) / s . W + b  ==  x . (W / s) + (b - (m / s) . W)
    const k2 = new Float32Array(kernel.length);
    const b2 = Float32Array.from(bias);
    for (let r = 0; r < l.inputs; r++)
      for (let c = 0; c < l.units; c++) {
        const w = kernel[r * l.units + c]! / std[r]!;
        k2[r * l.units + c] = w;
        b2[c]! -= mean[r]! * w;
      }
    return { kernel: k2, bias: b2, inputs: l.inputs, units: l.units };
  });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export { lrFind, type LrFindResult, type LrFindOptions } from './lrFind.js';
