// Gradient descent on the lesson's model: full batch (every step sees every point) or
// mini-batch SGD (each step sees `batchSize` points; an epoch is one pass over all of them,
// in a fresh shuffled order). Records the parameters and the loss after every step.
import { createRng } from '../random.js';
import { INITIAL_PARAMS, allIndices, mse, mseGradient, type LessonData, type Params } from './model.js';

export interface DescentOptions {
  lr: number;
  steps: number;
  /** Points per step; 0, undefined or >= n means the full batch. */
  batchSize?: number;
  /** Seeds the order of the mini-batches (the data has its own seed). */
  seed?: number;
  init?: Params;
}

export interface DescentHistory {
  /** params[k] is a after k steps; params[0] is the starting point. */
  params: Params[];
  /** loss[k] is the MSE over ALL points after k steps (comparable between batch sizes). */
  loss: number[];
  /** epochs[k]: passes over the data completed after k steps (fractional for mini-batches). */
  epochs: number[];
  lr: number;
  batchSize: number;
  stepsRequested: number;
  /** True when the run stopped early because the parameters or the loss stopped being finite numbers. */
  overflowed: boolean;
}

export function effectiveBatchSize(n: number, batchSize: number | undefined): number {
  return !batchSize || batchSize <= 0 || batchSize >= n ? n : Math.floor(batchSize);
}

/** Yields the index sets of successive mini-batches, reshuffling at the start of every epoch. */
function* batches(n: number, batchSize: number, seed: number): Generator<Uint32Array> {
  const order = allIndices(n);
  if (batchSize >= n) {
    for (;;) yield order;
  }
  const rng = createRng(`${seed}:minibatches`);
  const shuffled = Array.from(order);
  for (;;) {
    rng.shuffle(shuffled);
    for (let start = 0; start < n; start += batchSize) {
      yield Uint32Array.from(shuffled.slice(start, Math.min(n, start + batchSize)));
    }
  }
}

function isFiniteParams(a: Params): boolean {
  return Number.isFinite(a[0]) && Number.isFinite(a[1]);
}

export function runDescent(data: LessonData, opts: DescentOptions): DescentHistory {
  const n = data.x.length;
  const batchSize = effectiveBatchSize(n, opts.batchSize);
  let a: Params = opts.init ?? INITIAL_PARAMS;
  const history: DescentHistory = {
    params: [a],
    loss: [mse(data, a)],
    epochs: [0],
    lr: opts.lr,
    batchSize,
    stepsRequested: opts.steps,
    overflowed: false,
  };
  const stream = batches(n, batchSize, opts.seed ?? data.seed);
  let seen = 0;
  for (let step = 1; step <= opts.steps; step++) {
    const batch = stream.next().value as Uint32Array;
    const g = mseGradient(data, a, batch);
    a = [a[0] - opts.lr * g[0], a[1] - opts.lr * g[1]];
    seen += batch.length;
    const loss = mse(data, a);
    history.params.push(a);
    history.loss.push(loss);
    history.epochs.push(seen / n);
    // Once a number overflows, every later step is NaN: nothing more to learn or to draw.
    if (!isFiniteParams(a) || !Number.isFinite(loss)) {
      history.overflowed = true;
      break;
    }
  }
  return history;
}
