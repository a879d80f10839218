// Outliers: images that belong to no class at all (drawings, logos, text, the wrong animal).
// Two signals:
//  1. far in embedding space: the mean cosine distance to an image's k nearest neighbours (any
//     class) is unusually large. "Unusually" is a robust z-score, (d - median) / (1.4826 * MAD),
//     above `zThreshold` (default 3.5, the usual cut for the modified z-score; 1.4826 * MAD is
//     the standard deviation for normal data, and unlike it one far image cannot inflate it);
//  2. unsure of every class: the highest out-of-fold probability is below
//     1/K + 0.15 * (1 - 1/K) (K = 3 -> 0.43, K = 5 -> 0.32), i.e. barely better than a guess,
//     and the image is also farther from its neighbours than the median image. The second
//     condition keeps images that sit between two classes (a label question, not an outlier) out.
import type { SimilarityScan } from './similarity.js';

export const DEFAULT_OUTLIER_Z = 3.5;
export const LOW_CONFIDENCE_MARGIN = 0.15;

export interface Outlier {
  index: number;
  /** Mean cosine distance to the k nearest neighbours. */
  knnDistance: number;
  /** Robust z-score of that distance. */
  z: number;
  /** Highest out-of-fold probability, when probabilities were given. */
  maxProb?: number;
  far: boolean;
  unsure: boolean;
  /** In [0, 1], higher = more surely an outlier; 0.5 at the threshold. */
  score: number;
}

export function median(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median absolute deviation around the median. */
export function mad(values: ArrayLike<number>, center = median(values)): number {
  return median(Float64Array.from(values as ArrayLike<number>, (v) => Math.abs(v - center)));
}

/** Mean cosine distance (1 - similarity) of each image to its k nearest neighbours. */
export function knnDistances(scan: SimilarityScan): Float64Array {
  const n = scan.neighbours.length / scan.k;
  return Float64Array.from({ length: n }, (_, i) => {
    let sum = 0;
    let count = 0;
    for (let j = 0; j < scan.k; j++) {
      const sim = scan.neighbourSims[i * scan.k + j]!;
      if (sim === -Infinity) continue;
      sum += 1 - sim;
      count++;
    }
    return count > 0 ? sum / count : 0;
  });
}

export function lowConfidenceThreshold(nClasses: number): number {
  return 1 / nClasses + LOW_CONFIDENCE_MARGIN * (1 - 1 / nClasses);
}

/** Images far from everything, or unsure of every class; most outlying first. */
export function findOutliers(input: {
  scan: SimilarityScan;
  /** Out-of-fold probabilities, row-major n x nClasses (optional). */
  probs?: Float32Array;
  nClasses: number;
  zThreshold?: number;
}): { outliers: Outlier[]; medianDistance: number; cutoffDistance: number } {
  const zThreshold = input.zThreshold ?? DEFAULT_OUTLIER_Z;
  const dist = knnDistances(input.scan);
  const center = median(dist);
  // A floor on the spread: when almost all distances are equal the MAD is ~0 and every tiny
  // difference would look infinitely far.
  const spread = Math.max(1.4826 * mad(dist, center), 1e-3);
  const lowProb = lowConfidenceThreshold(input.nClasses);
  const outliers: Outlier[] = [];
  dist.forEach((d, i) => {
    const z = (d - center) / spread;
    const maxProb = input.probs ? Math.max(...input.probs.subarray(i * input.nClasses, (i + 1) * input.nClasses)) : undefined;
    const far = z > zThreshold;
    const unsure = maxProb !== undefined && maxProb < lowProb && d > center;
    if (!far && !unsure) return;
    const farScore = z > 0 ? z / (z + zThreshold) : 0;
    const unsureScore = maxProb !== undefined && unsure ? 0.5 + (0.5 * (lowProb - maxProb)) / lowProb : 0;
    outliers.push({ index: i, knnDistance: d, z, maxProb, far, unsure, score: Math.max(farScore, unsureScore) });
  });
  outliers.sort((a, b) => b.score - a.score || a.index - b.index);
  return { outliers, medianDistance: center, cutoffDistance: center + zThreshold * spread };
}

export function describeOutlier(o: Outlier, k: number, medianDistance: number, bestClass?: string): string {
  const parts: string[] = [];
  if (o.far) {
    parts.push(
      `far from every class: its ${k} nearest images are at cosine distance ${o.knnDistance.toFixed(2)} on average (typical ${medianDistance.toFixed(2)})`,
    );
  }
  if (o.unsure && o.maxProb !== undefined) {
    parts.push(`the model is unsure of every class (best guess ${bestClass ?? '?'} at ${Math.round(o.maxProb * 100)}%)`);
  }
  return `outlier: ${parts.join('; ')}`;
}
