// The cleaner's classifier sees every view of an image (core/ml/views.ts), as training does: the
// out-of-fold heads train on all views of the training folds and average their probabilities
// over the views of the held-out fold. Rows arrive with their views side by side
// (n x (views * dim)), so confident learning's folds keep an image's views together: no head
// ever sees another view of an image it is asked about.
import type { FitPredict } from './types.js';

/** Row-major n x (views * dim) from one n x dim matrix per view (all aligned by row). */
export function sideBySide(views: Float32Array[], dim: number): Float32Array {
  const n = views[0]!.length / dim;
  const V = views.length;
  const out = new Float32Array(n * V * dim);
  for (let i = 0; i < n; i++) views.forEach((X, v) => out.set(X.subarray(i * dim, (i + 1) * dim), (i * V + v) * dim));
  return out;
}

/** View v of every row of a side-by-side matrix, n x dim. */
function viewOf(X: Float32Array, v: number, nViews: number, dim: number): Float32Array {
  const n = X.length / (nViews * dim);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) out.set(X.subarray((i * nViews + v) * dim, (i * nViews + v + 1) * dim), i * dim);
  return out;
}

/** A FitPredict over side-by-side rows of `nViews` views, from one over single-view rows. */
export function multiViewFitPredict(inner: FitPredict, nViews: number): FitPredict {
  if (nViews === 1) return inner;
  return async (trainX, trainY, testX, nClasses, dim, seed) => {
    const viewDim = dim / nViews;
    const n = trainY.length;
    const X = new Float32Array(n * dim);
    const y = new Int32Array(n * nViews);
    for (let v = 0; v < nViews; v++) {
      X.set(viewOf(trainX, v, nViews, viewDim), v * n * viewDim);
      y.set(trainY, v * n);
    }
    // One head on every view of the training rows, asked about each view of the test rows.
    const stackedTest = new Float32Array(testX.length);
    const m = testX.length / dim;
    for (let v = 0; v < nViews; v++) stackedTest.set(viewOf(testX, v, nViews, viewDim), v * m * viewDim);
    const p = await inner(X, y, stackedTest, nClasses, viewDim, seed);
    const out = new Float32Array(m * nClasses);
    for (let v = 0; v < nViews; v++) for (let j = 0; j < m * nClasses; j++) out[j]! += p[v * m * nClasses + j]! / nViews;
    return out;
  };
}
