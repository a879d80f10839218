import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../core/ml/backend.js';
import { createRng } from '../core/random.js';
import {
  calibrateJoint,
  confidentJoint,
  findLabelIssues,
  MIN_MARGIN,
  inSampleProbabilities,
  noiseRates,
  outOfFoldProbabilities,
  perClassThresholds,
  stratifiedFolds,
  suspectRanking,
  topLosses,
} from '../core/clean/confident.js';
import { headFitPredict } from '../core/clean/headFitPredict.js';

/** Three Gaussian blobs in `dim` dimensions, 10% of labels flipped to another class at random. */
function flippedBlobs(seed: number, perClass = 50, dim = 16) {
  const rng = createRng(seed);
  const nClasses = 3;
  const centres = Array.from({ length: nClasses }, () => Float32Array.from({ length: dim }, () => rng.normal() * 1.2));
  const n = perClass * nClasses;
  const X = new Float32Array(n * dim);
  const truth = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    truth[r] = r % nClasses;
    for (let d = 0; d < dim; d++) X[r * dim + d] = centres[truth[r]!]![d]! + rng.normal();
  }
  const labels = Int32Array.from(truth);
  const flipped = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, Math.round(0.1 * n));
  for (const i of flipped) labels[i] = (truth[i]! + 1 + rng.int(nClasses - 1)) % nClasses;
  return { X, labels, truth, flipped: new Set(flipped), nClasses, dim };
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('confident learning building blocks', () => {
  it('deals stratified folds evenly and reproducibly', () => {
    const labels = Int32Array.from({ length: 53 }, (_, i) => (i < 30 ? 0 : i < 45 ? 1 : 2));
    const folds = stratifiedFolds(labels, 5, 7);
    expect(Array.from(stratifiedFolds(labels, 5, 7))).toEqual(Array.from(folds));
    expect(Array.from(stratifiedFolds(labels, 5, 8))).not.toEqual(Array.from(folds));
    for (let c = 0; c < 3; c++) {
      const perFold = [0, 0, 0, 0, 0];
      labels.forEach((l, i) => l === c && perFold[folds[i]!]!++);
      expect(Math.max(...perFold) - Math.min(...perFold)).toBeLessThanOrEqual(1);
    }
  });

  it('computes thresholds, the confident joint and noise rates as cleanlab defines them', () => {
    // 4 images labelled 0, 2 labelled 1; image 3 is labelled 0 but confidently 1.
    const probs = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.2, 0.8, 0.3, 0.7, 0.1, 0.9]);
    const labels = Int32Array.from([0, 0, 0, 0, 1, 1]);
    const t = perClassThresholds(probs, labels, 2);
    expect(t[0]).toBeCloseTo((0.9 + 0.8 + 0.7 + 0.2) / 4);
    expect(t[1]).toBeCloseTo(0.8);
    const { joint, guess } = confidentJoint(probs, labels, 2, t);
    // t0 = 0.65, t1 = 0.8: image 3 is confidently 1 although labelled 0; image 4 is confident of nothing.
    expect(Array.from(guess)).toEqual([0, 0, 0, 1, -1, 1]);
    expect(joint).toEqual([[3, 1], [0, 1]]);
    const calibrated = calibrateJoint(joint, labels, 2);
    expect(calibrated[0]).toEqual([3, 1]);
    expect(calibrated[1]).toEqual([0, 2]);
    expect(Array.from(noiseRates(calibrated))).toEqual([0.25, 0]);
    // cleanlab's rule alone (no margin required).
    const result = findLabelIssues(probs, labels, 2, { minMargin: 0 });
    expect(result.issues.map((i) => i.index)).toEqual([3]);
    expect(result.issues[0]).toMatchObject({ given: 0, suggested: 1 });
    expect(result.estimatedErrors).toBeCloseTo(1);
    // prune_by_class agrees here; the normalised margin of image 3 is (0.2 - 0.8 + 1) / 2.
    const both = findLabelIssues(probs, labels, 2, { filterBy: 'both', rankBy: 'normalized-margin', minMargin: 0 });
    expect(both.issues.map((i) => i.index)).toEqual([3]);
    expect(both.issues[0]!.quality).toBeCloseTo(0.2);
    expect(both.quality[0]).toBeCloseTo(0.9);
    // Kodiak's default also wants another class to win clearly: 0.8 - 0.2 = 0.6 is not enough.
    expect(MIN_MARGIN).toBeGreaterThan(0.6);
    expect(findLabelIssues(probs, labels, 2).issues).toEqual([]);
    const clearer = Float32Array.from(probs);
    clearer.set([0.1, 0.9], 6); // image 3: 0.9 - 0.1 = 0.8
    expect(findLabelIssues(clearer, labels, 2).issues.map((i) => i.index)).toEqual([3]);
  });
});

describe('confident learning on out-of-fold probabilities', () => {
  it('finds most flipped labels in 3 noisy Gaussian blobs', async () => {
    const data = flippedBlobs(3, 50, 128);
    const fitPredict = headFitPredict({ epochs: 30, lr: 1e-2, weightDecay: 0 });
    const input = { X: data.X, labels: data.labels, nClasses: 3, dim: data.dim, fitPredict, seed: 11 };
    const { probs, folds } = await outOfFoldProbabilities(input);
    expect(folds).toBe(5);
    const result = findLabelIssues(probs, data.labels, 3);
    const flaggedTrue = result.issues.filter((i) => data.flipped.has(i.index)).length;
    const recall = flaggedTrue / data.flipped.size;
    const precision = flaggedTrue / result.issues.length;
    expect(recall).toBeGreaterThanOrEqual(0.7);
    expect(precision).toBeGreaterThanOrEqual(0.7);
    // Suggestions point at the true class for the flipped images found.
    const rightSuggestion = result.issues.filter((i) => data.flipped.has(i.index) && i.suggested === data.truth[i.index]).length;
    expect(rightSuggestion / flaggedTrue).toBeGreaterThanOrEqual(0.9);
    // Estimated noise per class is around the 10% planted.
    for (const rate of result.noiseRate) expect(rate).toBeLessThan(0.3);
    expect(result.estimatedErrors).toBeGreaterThan(data.flipped.size * 0.5);

    const k = data.flipped.size;
    const cl = suspectRanking(result).slice(0, k).filter((i) => data.flipped.has(i)).length / k;
    expect(cl).toBeGreaterThanOrEqual(0.7);
  });

  it('keeps the lesson\'s in-sample top losses as a view: highest loss first', async () => {
    const data = flippedBlobs(4, 20, 8);
    const inSample = await inSampleProbabilities({ X: data.X, labels: data.labels, nClasses: 3, dim: data.dim, fitPredict: headFitPredict({ epochs: 10 }), seed: 1 });
    const ranked = topLosses(inSample, data.labels, 3);
    expect(ranked).toHaveLength(60);
    for (let i = 1; i < ranked.length; i++) expect(ranked[i - 1]!.loss).toBeGreaterThanOrEqual(ranked[i]!.loss);
    const first = ranked[0]!;
    expect(first.loss).toBeCloseTo(-Math.log(inSample[first.index * 3 + data.labels[first.index]!]!), 5);
    expect(first.suggested).not.toBe(data.labels[first.index]);
  });

  it('is reproducible from its seed', async () => {
    const data = flippedBlobs(5, 20, 8);
    const fitPredict = headFitPredict({ epochs: 5 });
    const input = { X: data.X, labels: data.labels, nClasses: 3, dim: data.dim, fitPredict, seed: 3, folds: 3 };
    const a = await outOfFoldProbabilities(input);
    const b = await outOfFoldProbabilities(input);
    expect(Array.from(a.probs)).toEqual(Array.from(b.probs));
  });

  it('refuses datasets too small to cross-validate', async () => {
    const fitPredict = headFitPredict({ epochs: 1 });
    await expect(
      outOfFoldProbabilities({ X: new Float32Array(6), labels: Int32Array.from([0, 1, 0]), nClasses: 2, dim: 2, fitPredict, seed: 1 }),
    ).rejects.toThrow(/at least 4 images/);
  });
});
