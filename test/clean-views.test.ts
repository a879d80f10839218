// The cleaner's label model sees every view of an image, as training does (core/clean/multiView.ts).
import { describe, expect, it } from 'vitest';
import { multiViewFitPredict, sideBySide } from '../core/clean/multiView.js';
import { outOfFoldProbabilities } from '../core/clean/confident.js';
import type { FitPredict } from '../core/clean/types.js';
import { findSuspects, type CleanItem } from '../core/clean/report.js';

describe('the label model over views', () => {
  it('lays the views of each image side by side', () => {
    const a = Float32Array.from([1, 2, 3, 4]); // 2 images x dim 2, view a
    const b = Float32Array.from([5, 6, 7, 8]);
    expect(Array.from(sideBySide([a, b], 2))).toEqual([1, 2, 5, 6, 3, 4, 7, 8]);
  });

  it('trains one head on every view of the training rows and averages over the views of each test row', async () => {
    const seen: { trainX: number[]; trainY: number[]; testX: number[]; dim: number }[] = [];
    // A stand-in head: the probability of class 1 is the test row's first feature.
    const inner: FitPredict = async (trainX, trainY, testX, nClasses, dim) => {
      seen.push({ trainX: Array.from(trainX), trainY: Array.from(trainY), testX: Array.from(testX), dim });
      const m = testX.length / dim;
      return Float32Array.from({ length: m * nClasses }, (_, j) => (j % 2 === 1 ? testX[Math.floor(j / 2) * dim]! : 1 - testX[Math.floor(j / 2) * dim]!));
    };
    const fp = multiViewFitPredict(inner, 2);
    // Two training images (labels 0, 1) and one test image, views side by side, dim 1 per view.
    const out = await fp(Float32Array.from([0.1, 0.2, 0.8, 0.9]), Int32Array.from([0, 1]), Float32Array.from([0.4, 0.6]), 2, 2, 1);
    expect(seen[0]).toEqual({ trainX: [0.1, 0.8, 0.2, 0.9].map((x) => Math.fround(x)), trainY: [0, 1, 0, 1], testX: [0.4, 0.6].map((x) => Math.fround(x)), dim: 1 });
    expect(out[1]).toBeCloseTo(0.5); // (0.4 + 0.6) / 2
    expect(out[0]).toBeCloseTo(0.5);
  });

  it('keeps the views of an image in the same fold: no head is asked about an image it trained on in another view', async () => {
    const n = 20;
    const views = [0, 1, 2].map((v) => Float32Array.from({ length: n }, (_, i) => i * 10 + v)); // dim 1: image i, view v
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const inner: FitPredict = async (trainX, _y, testX, nClasses) => {
      const trained = new Set(Array.from(trainX, (x) => Math.floor(x / 10)));
      for (const x of testX) expect(trained.has(Math.floor(x / 10))).toBe(false);
      return new Float32Array((testX.length) * nClasses).fill(0.5);
    };
    const r = await outOfFoldProbabilities({ X: sideBySide(views, 1), labels, nClasses: 2, dim: 3, fitPredict: multiViewFitPredict(inner, 3), seed: 1 });
    expect(r.probs.length).toBe(n * 2);
  });

  it('averages fewer k-fold runs by default when the model sees several views (each run already sees them all)', async () => {
    const n = 12;
    const items: CleanItem[] = Array.from({ length: n }, (_, i) => ({ id: i.toString(16).padStart(64, '0'), label: i % 2 ? 'a' : 'b', status: 'active', source: { kind: 'import', path: `${i}.png` }, phash: '0'.repeat(16) }));
    const E = Float32Array.from({ length: n * 2 }, (_, j) => (j % 2 ? 1 : Math.floor(j / 2) % 2));
    const even: FitPredict = async (_x, _y, testX, nClasses, dim) => new Float32Array((testX.length / dim) * nClasses).fill(1 / nClasses);
    const one = await findSuspects({ items, embeddings: E, classes: ['a', 'b'], kind: 'labels', fitPredict: even });
    const four = await findSuspects({ items, embeddings: E, moreViews: [E, E, E], classes: ['a', 'b'], kind: 'labels', fitPredict: even });
    expect(one.summary.repeats).toBe(5);
    expect(four.summary.repeats).toBe(2);
  });
});
