// "None of these": is an image like anything the model was trained on? A softmax head always
// spreads probability over the classes it knows, so a photo of something else can get a confident
// class; a low top probability alone misses most of those. Two signals, each calibrated on the
// validation images (in domain by construction), are combined:
//   - distance: the mean cosine distance from the image's features to its K nearest training
//     images (a sample of the training features is kept with the model);
//   - confidence: the head's top probability.
// An image is refused when its distance is beyond what DISTANCE_QUANTILE of the validation images
// reach, or its top probability is under what all but CONFIDENCE_QUANTILE of them reach; together
// about 5-8% of in-domain images are refused.

/** Neighbours averaged for the distance (1 is too sensitive to one stray training image). */
export const NOVELTY_K = 3;
/** Share of validation images whose distance stays under the threshold. */
export const DISTANCE_QUANTILE = 0.96;
/** Share of validation images whose top probability falls under the threshold. */
export const CONFIDENCE_QUANTILE = 0.03;
/** At most this many training embeddings are kept with a model (a few MB at most). */
export const MAX_REFERENCES = 2000;
/** Images smaller than this on either side carry too little to classify. */
export const TINY_IMAGE_SIDE = 32;

export interface NoveltyCalibration {
  k: number;
  dim: number;
  nReferences: number;
  distanceThreshold: number;
  confidenceThreshold: number;
}

export interface Novelty extends NoveltyCalibration {
  /** L2-normalised reference rows, nReferences x dim. */
  references: Float32Array;
}

export type NoveltyVerdict = { refused: false } | { refused: true; reason: 'far' | 'unsure' };

/** Rows scaled to unit length, so a dot product is a cosine similarity. */
export function normaliseRows(X: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(X.length);
  for (let r = 0; r * dim < X.length; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += X[r * dim + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[r * dim + j] = X[r * dim + j]! * inv;
  }
  return out;
}

/** Mean cosine distance of each query row to its k nearest reference rows (both normalised). */
export function knnDistances(references: Float32Array, queries: Float32Array, dim: number, k: number): Float32Array {
  const nRef = references.length / dim;
  const kk = Math.min(k, nRef);
  const out = new Float32Array(queries.length / dim);
  const best = new Float64Array(kk);
  for (let q = 0; q < out.length; q++) {
    best.fill(Infinity);
    for (let r = 0; r < nRef; r++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += queries[q * dim + j]! * references[r * dim + j]!;
      const d = 1 - dot;
      // Insert into the sorted k best (k is tiny).
      if (d < best[kk - 1]!) {
        let i = kk - 1;
        while (i > 0 && best[i - 1]! > d) {
          best[i] = best[i - 1]!;
          i--;
        }
        best[i] = d;
      }
    }
    let s = 0;
    for (let i = 0; i < kk; i++) s += best[i]!;
    out[q] = s / kk;
  }
  return out;
}

export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Top probability of each row of a row-major n x nClasses matrix. */
export function topProbabilities(proba: Float32Array, nClasses: number): Float32Array {
  const out = new Float32Array(proba.length / nClasses);
  for (let i = 0; i < out.length; i++) {
    let m = 0;
    for (let c = 0; c < nClasses; c++) m = Math.max(m, proba[i * nClasses + c]!);
    out[i] = m;
  }
  return out;
}

/** An evenly spaced sample of at most `max` rows (deterministic). */
function sampleRows(X: Float32Array, dim: number, max: number): Float32Array {
  const n = X.length / dim;
  if (n <= max) return X;
  const out = new Float32Array(max * dim);
  for (let i = 0; i < max; i++) out.set(X.subarray(Math.floor((i * n) / max) * dim, Math.floor((i * n) / max) * dim + dim), i * dim);
  return out;
}

/**
 * Calibrates on the validation images: `trainX` / `validX` are backbone features (row-major),
 * `validProba` the head's probabilities for the validation images.
 */
export function calibrateNovelty(trainX: Float32Array, validX: Float32Array, validProba: Float32Array, dim: number, nClasses: number): Novelty {
  const references = normaliseRows(sampleRows(trainX, dim, MAX_REFERENCES), dim);
  const distances = knnDistances(references, normaliseRows(validX, dim), dim, NOVELTY_K);
  return {
    k: NOVELTY_K,
    dim,
    nReferences: references.length / dim,
    distanceThreshold: quantile(distances, DISTANCE_QUANTILE),
    confidenceThreshold: quantile(topProbabilities(validProba, nClasses), CONFIDENCE_QUANTILE),
    references,
  };
}

/** The verdict for each image, from its backbone features and the head's probabilities. */
export function judgeNovelty(novelty: Novelty, features: Float32Array, proba: Float32Array, nClasses: number): NoveltyVerdict[] {
  const distances = knnDistances(novelty.references, normaliseRows(features, novelty.dim), novelty.dim, novelty.k);
  const tops = topProbabilities(proba, nClasses);
  return Array.from(distances, (d, i): NoveltyVerdict => {
    if (d > novelty.distanceThreshold) return { refused: true, reason: 'far' };
    if (tops[i]! < novelty.confidenceThreshold) return { refused: true, reason: 'unsure' };
    return { refused: false };
  });
}
