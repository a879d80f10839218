// "None of these": is an image like anything the model was trained on? A softmax head always
// spreads probability over the classes it knows, so a photo of something else can get a confident
// class; a low top probability alone misses most of those. Two signals, each compared with what
// the validation images (in domain by construction) show:
//   - distance: the mean cosine distance from the image's features to its K nearest training
//     images (a sample of the training features is kept with the model);
//   - strength: the head's largest raw class score (its logit, averaged over the views), which
//     unlike a probability does not have to add up to anything: it stays low when no class
//     responds, even when one of them wins.
// Each signal becomes a tail share, the share of validation images at least as far (or at most
// as strong), and the two shares are multiplied: an image is refused when the product is below
// what NOVELTY_BUDGET of the validation images reach. Either signal alone misses one direction on
// the real sets (`npm run bench -- quality`, 5 folds): distance refuses 85% of tux pictures asked
// of a food model but 17% the other way; strength 14% and 43%; the product 71% and 55% at the
// same in-domain cost (7-9%).
/** Neighbours averaged for the distance (1 is too sensitive to one stray training image). */
export const NOVELTY_K = 3;
/** Share of validation images refused by construction (the in-domain cost). */
export const NOVELTY_BUDGET = 0.07;
/** At most this many training embeddings are kept with a model (a few MB at most). */
export const MAX_REFERENCES = 2000;
/** Images smaller than this on either side carry too little to classify. */
export const TINY_IMAGE_SIDE = 32;

export interface NoveltyCalibration {
  k: number;
  dim: number;
  nReferences: number;
  /** The validation images' distances and strengths, ascending: what "in domain" looks like. */
  validDistances?: number[];
  validStrengths?: number[];
  /** Refused below this product of tail shares. */
  scoreThreshold?: number;
  /** Models saved before the combined score: a distance and a top-probability threshold. */
  distanceThreshold?: number;
  confidenceThreshold?: number;
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

/** The largest entry of each row of a row-major n x nClasses matrix (the strength of logits). */
export const strengths = topProbabilities;

/** How many values of ascending `sorted` are below x (or at most x, with `orEqual`): a binary search. */
function countBelow(sorted: readonly number[], x: number, orEqual = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x || (orEqual && sorted[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * How unusual an image is next to the validation images, lower = more: (share of them at least
 * as far) x (share of them at most as strong), each counted with one in-domain image added so a
 * share is never 0.
 */
export function noveltyScore(validDistances: readonly number[], validStrengths: readonly number[], distance: number, strength: number): { score: number; far: number; weak: number } {
  const far = (1 + validDistances.length - countBelow(validDistances, distance)) / (validDistances.length + 1);
  const weak = (1 + countBelow(validStrengths, strength, true)) / (validStrengths.length + 1);
  return { score: far * weak, far, weak };
}

/**
 * Calibrates on the validation images: `trainX` / `validX` are backbone features (row-major,
 * the original view), `validLogits` the head's raw class scores for the validation images,
 * averaged over the views.
 */
export function calibrateNovelty(trainX: Float32Array, validX: Float32Array, validLogits: Float32Array, dim: number, nClasses: number): Novelty {
  const references = normaliseRows(sampleRows(trainX, dim, MAX_REFERENCES), dim);
  const distances = Array.from(knnDistances(references, normaliseRows(validX, dim), dim, NOVELTY_K));
  const strong = Array.from(strengths(validLogits, nClasses));
  const validDistances = [...distances].sort((a, b) => a - b);
  const validStrengths = [...strong].sort((a, b) => a - b);
  const scores = distances.map((d, i) => noveltyScore(validDistances, validStrengths, d, strong[i]!).score);
  return {
    k: NOVELTY_K,
    dim,
    nReferences: references.length / dim,
    validDistances,
    validStrengths,
    scoreThreshold: scoreThresholdOf(scores),
    references,
  };
}

/**
 * The score under which NOVELTY_BUDGET of the validation images fall. With fewer validation images
 * than one in NOVELTY_BUDGET the share cannot be that fine: then only images more unusual than
 * every validation image are refused.
 */
export function scoreThresholdOf(validScores: number[]): number {
  return validScores.length * NOVELTY_BUDGET < 1 ? Math.min(...validScores) : quantile(validScores, NOVELTY_BUDGET);
}

/** What the head said of each image, averaged over the views. */
export interface HeadEvidence {
  proba: Float32Array;
  logits: Float32Array;
}

/** The verdict for each image, from its backbone features (original view) and the head's outputs. */
export function judgeNovelty(novelty: Novelty, features: Float32Array, head: HeadEvidence, nClasses: number): NoveltyVerdict[] {
  const distances = knnDistances(novelty.references, normaliseRows(features, novelty.dim), novelty.dim, novelty.k);
  const { validDistances, validStrengths, scoreThreshold } = novelty;
  if (validDistances && validStrengths && scoreThreshold !== undefined) {
    const strong = strengths(head.logits, nClasses);
    return Array.from(distances, (d, i): NoveltyVerdict => {
      const s = noveltyScore(validDistances, validStrengths, d, strong[i]!);
      if (s.score >= scoreThreshold) return { refused: false };
      return { refused: true, reason: s.far <= s.weak ? 'far' : 'unsure' };
    });
  }
  // A model saved before the combined score.
  const tops = topProbabilities(head.proba, nClasses);
  return Array.from(distances, (d, i): NoveltyVerdict => {
    if (d > (novelty.distanceThreshold ?? Infinity)) return { refused: true, reason: 'far' };
    if (tops[i]! < (novelty.confidenceThreshold ?? 0)) return { refused: true, reason: 'unsure' };
    return { refused: false };
  });
}
