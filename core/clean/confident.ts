// Label issues by confident learning (Northcutt et al., "Confident Learning", as cleanlab does
// it), on out-of-fold probabilities: every image is scored by a head that never saw its label.
// The lesson's in-sample top losses are kept as a second view so the two can be compared: a
// head trained on an image has partly memorised its wrong label, so its loss hides the error.
import { createRng } from '../random.js';
import { UserError } from '../errors.js';
import type { FitPredict } from './types.js';

/**
 * k-fold runs averaged by default. Chosen on development seeds of the benchmark's generator
 * (101-103, not the benchmark's own 1-3), precision@k averaged over them: 1 run 0.66, 2 runs
 * 0.75, 3 runs 0.76, 5 runs 0.82, 10 runs 0.82. Five runs train 25 heads: about 10 s for 300
 * images on wasm; pass `repeats` to trade quality for time on big datasets.
 */
export const DEFAULT_REPEATS = 5;

/**
 * Repeats by default for a label model that sees `views` views of each image. Each head of a
 * multi-view model already averages four pictures of every image, so fewer runs do: on the real
 * sets with 10% flips (4 views, margin 0.7) 2 runs gave F1 0.615 / 0.613 and 5 runs 0.608 / 0.630,
 * at 2/5 of the time (about 20 s instead of 50 s for 237 images on 2 cores).
 */
export function defaultRepeats(views: number): number {
  return views > 1 ? 2 : DEFAULT_REPEATS;
}

/**
 * A flagged image's best other class must beat its given label by more than this much
 * out-of-fold probability. Confident learning's counts come from per-class thresholds, so on
 * classes that really overlap (dessert and bread drawn alike) it flags many images the model is
 * merely torn about; a wrong label, by contrast, is usually one another class wins outright.
 * Measured on the real sets with 10% of labels flipped (`npm run bench -- quality`, 3 flip seeds,
 * 4 views): see the table in bench/quality.ts.
 */
export const MIN_MARGIN = 0.7;

export type FilterBy = 'noise-rate' | 'both';
export type RankBy = 'self-confidence' | 'normalized-margin';

export interface LabelIssue {
  index: number;
  given: number;
  /** The class the out-of-fold probabilities point at. */
  suggested: number;
  /** Lower = more likely wrong; self-confidence p[given] or the normalised margin. */
  quality: number;
}

export interface ConfidentLearningResult {
  /** Flagged images, most suspect first. */
  issues: LabelIssue[];
  /** Label quality of every image (lower = worse), aligned with the input. */
  quality: Float64Array;
  /** Per-class thresholds t_j: mean p_j over the images labelled j. */
  thresholds: Float64Array;
  /** Confident joint C[given][guess] (counts), before calibration. */
  joint: number[][];
  /** Estimated fraction of wrong labels among images labelled with each class. */
  noiseRate: Float64Array;
  /** Estimated number of wrong labels: the off-diagonal mass of the calibrated joint. */
  estimatedErrors: number;
}

/**
 * Assigns each image to one of `k` folds so every class is spread evenly: each class's images
 * are shuffled (seeded) and dealt round-robin, continuing where the previous class stopped.
 */
export function stratifiedFolds(labels: Int32Array, k: number, seed: number): Int32Array {
  const rng = createRng(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const list = byClass.get(label) ?? [];
    list.push(i);
    byClass.set(label, list);
  });
  const folds = new Int32Array(labels.length);
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of rng.shuffle(byClass.get(label)!)) folds[i] = next++ % k;
  }
  return folds;
}

/** The number of folds actually used: at most the size of the smallest class, at least 2. */
export function effectiveFolds(labels: Int32Array, requested: number): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const smallest = Math.min(...counts.values());
  return Math.max(2, Math.min(requested, smallest));
}

function rows(X: Float32Array, dim: number, indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * dim);
  indices.forEach((r, i) => out.set(X.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

export interface ProbabilityInput {
  X: Float32Array;
  labels: Int32Array;
  nClasses: number;
  dim: number;
  fitPredict: FitPredict;
  seed: number;
}

/**
 * Out-of-fold probabilities: k heads, each trained on k-1 folds, each predicting the fold it
 * did not see. With `repeats` > 1 the whole k-fold is run again on differently seeded folds and
 * heads and the probabilities are averaged: a head trained on a few hundred noisy labels in
 * 1,280 dimensions varies a lot from seed to seed, and averaging (bagging) gives steadier,
 * better-calibrated probabilities, which is what the per-class thresholds and the ranking rely
 * on. Every image is still predicted only by heads that never saw it. Returns row-major
 * n x nClasses probabilities and the number of folds used.
 */
export async function outOfFoldProbabilities(
  input: ProbabilityInput & { folds?: number; repeats?: number; onFold?: (done: number, total: number) => void },
): Promise<{ probs: Float32Array; folds: number; repeats: number }> {
  const { X, labels, nClasses, dim, fitPredict, seed } = input;
  const n = labels.length;
  if (n < 4) throw new UserError('finding label issues needs at least 4 images');
  if (new Set(labels).size < 2) throw new UserError('finding label issues needs images in at least 2 classes');
  const k = effectiveFolds(labels, input.folds ?? 5);
  const repeats = Math.max(1, Math.floor(input.repeats ?? 1));
  const probs = new Float32Array(n * nClasses);
  for (let rep = 0; rep < repeats; rep++) {
    const repSeed = seed + 7919 * rep;
    const fold = stratifiedFolds(labels, k, repSeed);
    for (let f = 0; f < k; f++) {
      const train: number[] = [];
      const test: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? test : train).push(i);
      const trainY = Int32Array.from(train, (i) => labels[i]!);
      const p = await fitPredict(rows(X, dim, train), trainY, rows(X, dim, test), nClasses, dim, repSeed + 1 + f);
      if (p.length !== test.length * nClasses) throw new Error(`fitPredict returned ${p.length} values for ${test.length} rows`);
      test.forEach((r, i) => {
        for (let j = 0; j < nClasses; j++) probs[r * nClasses + j]! += p[i * nClasses + j]! / repeats;
      });
      input.onFold?.(rep * k + f + 1, repeats * k);
    }
  }
  return { probs, folds: k, repeats };
}

/** In-sample probabilities, as the lesson gets them: one head trained on everything, asked about the same images. */
export async function inSampleProbabilities(input: ProbabilityInput): Promise<Float32Array> {
  return input.fitPredict(input.X, input.labels, input.X, input.nClasses, input.dim, input.seed);
}

/** t_j = mean p_j over the images labelled j (cleanlab's per-class thresholds). */
export function perClassThresholds(probs: Float32Array, labels: Int32Array, nClasses: number): Float64Array {
  const sum = new Float64Array(nClasses);
  const count = new Float64Array(nClasses);
  labels.forEach((l, i) => {
    sum[l]! += probs[i * nClasses + l]!;
    count[l]!++;
  });
  // A class nobody is labelled with gets threshold 1: no image can be confidently in it.
  return sum.map((s, j) => (count[j]! > 0 ? s / count[j]! : 1));
}

/**
 * The confident class of each image: among the classes whose probability reaches their
 * threshold, the most probable one; -1 when none does. The confident joint counts
 * (given label, confident class) pairs.
 */
export function confidentJoint(
  probs: Float32Array,
  labels: Int32Array,
  nClasses: number,
  thresholds: Float64Array,
): { joint: number[][]; guess: Int32Array } {
  const joint = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  const guess = new Int32Array(labels.length).fill(-1);
  labels.forEach((given, i) => {
    let best = -1;
    for (let j = 0; j < nClasses; j++) {
      const p = probs[i * nClasses + j]!;
      // The small tolerance is cleanlab's: an image exactly at the threshold counts.
      if (p >= thresholds[j]! - 1e-6 && (best < 0 || p > probs[i * nClasses + best]!)) best = j;
    }
    guess[i] = best;
    if (best >= 0) joint[given]![best]!++;
  });
  return { joint, guess };
}

/** Rescales each row of the joint to the number of images with that label (cleanlab's calibration). */
export function calibrateJoint(joint: number[][], labels: Int32Array, nClasses: number): number[][] {
  const count = new Array<number>(nClasses).fill(0);
  for (const l of labels) count[l]!++;
  return joint.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((c) => (total > 0 ? (c / total) * count[i]! : 0));
  });
}

/** Per given class: the share of its (calibrated) images whose true class looks different. */
export function noiseRates(calibrated: number[][]): Float64Array {
  return Float64Array.from(calibrated, (row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total > 0 ? 1 - row[i]! / total : 0;
  });
}

function argmaxOf(probs: Float32Array, i: number, nClasses: number, except = -1): number {
  let best = -1;
  for (let j = 0; j < nClasses; j++) {
    if (j === except) continue;
    if (best < 0 || probs[i * nClasses + j]! > probs[i * nClasses + best]!) best = j;
  }
  return best;
}

/**
 * Label quality of every image, lower = more likely mislabelled: the self-confidence p[given],
 * or the normalised margin (p[given] - max other p + 1) / 2. Both lie in [0, 1].
 */
export function labelQuality(probs: Float32Array, labels: Int32Array, nClasses: number, rankBy: RankBy = 'self-confidence'): Float64Array {
  return Float64Array.from(labels, (given, i) => {
    const self = probs[i * nClasses + given]!;
    if (rankBy === 'self-confidence') return self;
    const other = probs[i * nClasses + argmaxOf(probs, i, nClasses, given)]!;
    return (self - other + 1) / 2;
  });
}

/** Indices sorted by quality, worst first (ties by index, so the order is reproducible). */
export function rankWorstFirst(quality: Float64Array, subset?: Iterable<number>): number[] {
  const idx = subset ? [...subset] : Array.from(quality, (_, i) => i);
  return idx.sort((a, b) => quality[a]! - quality[b]! || a - b);
}

/**
 * Confident learning on probabilities (out-of-fold ones, for it to mean anything).
 *
 * An image labelled i is a candidate when its given label is below its threshold t_i and some
 * other class j is confidently at or above t_j (an off-diagonal entry of the confident joint).
 * How many to flag comes from the calibrated joint, as cleanlab's filters do:
 *  - 'noise-rate' (cleanlab's default prune_by_noise_rate): for each pair (i, j), the
 *    round(Q[i][j]) images labelled i with the largest margin p_j - p_i;
 *  - 'both': those that are also among the images labelled i with the lowest self-confidence,
 *    as many as row i's off-diagonal mass (prune_by_class).
 * Like cleanlab, an image whose most probable class is its given label is never flagged.
 */
export function findLabelIssues(
  probs: Float32Array,
  labels: Int32Array,
  nClasses: number,
  opts: { filterBy?: FilterBy; rankBy?: RankBy; minMargin?: number } = {},
): ConfidentLearningResult {
  const filterBy = opts.filterBy ?? 'noise-rate';
  const quality = labelQuality(probs, labels, nClasses, opts.rankBy);
  const thresholds = perClassThresholds(probs, labels, nClasses);
  const { joint } = confidentJoint(probs, labels, nClasses, thresholds);
  const calibrated = calibrateJoint(joint, labels, nClasses);
  const p = (i: number, j: number) => probs[i * nClasses + j]!;

  const flagged = new Set<number>();
  for (let i = 0; i < nClasses; i++) {
    const ofClass = [...labels.keys()].filter((r) => labels[r] === i);
    for (let j = 0; j < nClasses; j++) {
      if (j === i) continue;
      const quota = Math.round(calibrated[i]![j]!);
      if (quota === 0) continue;
      const byMargin = ofClass
        .filter((r) => p(r, i) < thresholds[i]! && p(r, j) >= thresholds[j]! - 1e-6)
        .sort((a, b) => p(b, j) - p(b, i) - (p(a, j) - p(a, i)) || a - b);
      for (const r of byMargin.slice(0, quota)) flagged.add(r);
    }
    if (filterBy === 'both') {
      const offDiagonal = Math.round(calibrated[i]!.reduce((s, c, j) => (j === i ? s : s + c), 0));
      const lowest = new Set(ofClass.sort((a, b) => p(a, i) - p(b, i) || a - b).slice(0, offDiagonal));
      for (const r of ofClass) if (flagged.has(r) && !lowest.has(r)) flagged.delete(r);
    }
  }
  for (const r of [...flagged]) if (argmaxOf(probs, r, nClasses) === labels[r]) flagged.delete(r);
  // Only images another class clearly wins: see MIN_MARGIN.
  const minMargin = opts.minMargin ?? MIN_MARGIN;
  for (const r of [...flagged]) if (p(r, argmaxOf(probs, r, nClasses, labels[r]!)) - p(r, labels[r]!) <= minMargin) flagged.delete(r);

  const issues = rankWorstFirst(quality, flagged).map((index) => ({
    index,
    given: labels[index]!,
    suggested: argmaxOf(probs, index, nClasses, labels[index]!),
    quality: quality[index]!,
  }));
  const estimatedErrors = calibrated.reduce((s, row, i) => s + row.reduce((t, c, j) => (j === i ? t : t + c), 0), 0);
  return { issues, quality, thresholds, joint, noiseRate: noiseRates(calibrated), estimatedErrors };
}

/**
 * The lesson's view: images ranked by their in-sample loss -log p[given], highest first
 * (the same order as lowest in-sample self-confidence).
 */
export function topLosses(inSampleProbs: Float32Array, labels: Int32Array, nClasses: number): { index: number; loss: number; suggested: number }[] {
  const quality = labelQuality(inSampleProbs, labels, nClasses, 'self-confidence');
  return rankWorstFirst(quality).map((index) => ({
    index,
    loss: -Math.log(Math.max(quality[index]!, 1e-12)),
    suggested: argmaxOf(inSampleProbs, index, nClasses, labels[index]!),
  }));
}

/** The full ranking a user would page through: flagged issues first, then everyone else by quality. */
export function suspectRanking(result: ConfidentLearningResult): number[] {
  const flagged = result.issues.map((i) => i.index);
  const seen = new Set(flagged);
  return [...flagged, ...rankWorstFirst(result.quality).filter((i) => !seen.has(i))];
}
