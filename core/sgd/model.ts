// The lesson's linear model y_hat = x·a, where each row of x is (x_i, 1), so
// y_hat_i = a[0] * x_i + a[1]; its mean squared error; and the gradient of that loss,
// worked out by hand instead of by autograd:
//   L(a)      = (1/m) Σ (a0·x_i + a1 − y_i)²
//   ∂L/∂a0    = (2/m) Σ (a0·x_i + a1 − y_i) · x_i
//   ∂L/∂a1    = (2/m) Σ (a0·x_i + a1 − y_i)
// (the second is the first with x_i replaced by the column of ones).
import { createRng } from '../random.js';

/** a = (slope, intercept): the weight of x and the weight of the column of ones. */
export type Params = readonly [number, number];

export interface LessonData {
  /** The x column; the column of ones is implicit. */
  x: Float64Array;
  y: Float64Array;
  trueParams: Params;
  noiseStd: number;
  seed: number;
}

export const TRUE_PARAMS: Params = [3, 2];
export const NOISE_STD = 0.25;
/** Where the lesson starts the descent: loss about 7.9 on its data. */
export const INITIAL_PARAMS: Params = [-1, 1];

/** n points with x uniform in [-1, 1] and y = x·a + noise·N(0, 1), reproducible from the seed. */
export function makeLessonData(n: number, seed: number, trueParams: Params = TRUE_PARAMS, noiseStd = NOISE_STD): LessonData {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`need a positive number of points, got ${n}`);
  const rng = createRng(seed);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.uniform(-1, 1);
  for (let i = 0; i < n; i++) y[i] = trueParams[0] * (x[i] as number) + trueParams[1] + noiseStd * rng.normal();
  return { x, y, trueParams, noiseStd, seed };
}

export function predict(a: Params, x: number): number {
  return a[0] * x + a[1];
}

/** Every index 0..n-1: the full batch. */
export function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

/** Mean squared error of `a` over the points in `indices` (all points when omitted). */
export function mse(data: LessonData, a: Params, indices?: ArrayLike<number>): number {
  const idx = indices ?? allIndices(data.x.length);
  let sum = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number;
    const residual = predict(a, data.x[i] as number) - (data.y[i] as number);
    sum += residual * residual;
  }
  return sum / idx.length;
}

/** ∂MSE/∂a over the points in `indices`, from the formulas at the top of this file. */
export function mseGradient(data: LessonData, a: Params, indices?: ArrayLike<number>): Params {
  const idx = indices ?? allIndices(data.x.length);
  let gSlope = 0;
  let gIntercept = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number;
    const xi = data.x[i] as number;
    const residual = predict(a, xi) - (data.y[i] as number);
    gSlope += residual * xi;
    gIntercept += residual;
  }
  const scale = 2 / idx.length;
  return [scale * gSlope, scale * gIntercept];
}

/** Central finite differences of the MSE: the check that the hand-written gradient is right. */
export function numericalGradient(data: LessonData, a: Params, h = 1e-6): Params {
  const dSlope = (mse(data, [a[0] + h, a[1]]) - mse(data, [a[0] - h, a[1]])) / (2 * h);
  const dIntercept = (mse(data, [a[0], a[1] + h]) - mse(data, [a[0], a[1] - h])) / (2 * h);
  return [dSlope, dIntercept];
}

/**
 * The exact least-squares fit (2x2 normal equations): the lowest loss any line can reach on
 * this data, so the verdict can say how far the descent still is from the bottom.
 */
export function leastSquares(data: LessonData): { params: Params; loss: number } {
  const n = data.x.length;
  let sx = 0;
  let sxx = 0;
  let sy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const xi = data.x[i] as number;
    const yi = data.y[i] as number;
    sx += xi;
    sxx += xi * xi;
    sy += yi;
    sxy += xi * yi;
  }
  const det = n * sxx - sx * sx;
  const params: Params = det === 0 ? [0, sy / n] : [(n * sxy - sx * sy) / det, (sxx * sy - sx * sxy) / det];
  return { params, loss: mse(data, params) };
}

/**
 * The largest learning rate full-batch descent survives on this data: 2 / (largest eigenvalue of
 * the loss's Hessian, (2/n) XᵀX). Above it every step overshoots by more than it corrects.
 */
export function criticalLearningRate(data: LessonData): number {
  const n = data.x.length;
  let sx = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sx += data.x[i] as number;
    sxx += (data.x[i] as number) ** 2;
  }
  // Hessian = (2/n) [[Σx², Σx], [Σx, n]]; eigenvalues of a symmetric 2x2 in closed form.
  const p = (2 / n) * sxx;
  const q = (2 / n) * sx;
  const r = 2;
  const largest = (p + r) / 2 + Math.sqrt(((p - r) / 2) ** 2 + q * q);
  return 2 / largest;
}
