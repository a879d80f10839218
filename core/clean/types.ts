// Shapes shared by the cleaner's parts: the pluggable head trainer, suspects and the report.
import type { DatasetRef } from '../jobs.js';

/**
 * Train a classifier on `trainX` (row-major n x dim) with labels `trainY` (0..nClasses-1) and
 * return row-major probabilities (m x nClasses) for `testX`. Confident learning calls it once
 * per fold, so it never sees a fold's own labels; `headFitPredict` plugs in core/ml's head.
 */
export type FitPredict = (
  trainX: Float32Array,
  trainY: Int32Array,
  testX: Float32Array,
  nClasses: number,
  dim: number,
  seed: number,
) => Promise<Float32Array>;

/**
 * 'leak' is a near-duplicate pair of one class with one image in training and the other in
 * validation: the model is validated on a picture it was trained on, which inflates the accuracy.
 * A pair across classes stays a 'duplicate' wherever its images are: its labels disagree, and
 * fixing the label is what it asks for first.
 */
export type SuspectKind = 'label' | 'leak' | 'duplicate' | 'outlier' | 'quality';

/** The kinds that show two images, decided with Delete left / Delete right / Keep both. */
export function isPairKind(kind: SuspectKind): boolean {
  return kind === 'duplicate' || kind === 'leak';
}

/** Which ranking finds label issues: out-of-fold confident learning, or the lesson's in-sample top losses. */
export type LabelView = 'confident' | 'top-losses';

export interface Suspect {
  /** The image's id (sha256); for a pair, the first image (of a leak, the one in training). */
  id: string;
  /** The original URL or path, so a user can find the image. */
  source: string;
  label: string;
  /** The class the model thinks it is (label issues, cross-class duplicates). */
  suggested?: string;
  /** Higher = more suspect, in [0, 1]. Ranks the suspects of one kind (kinds are not comparable). */
  score: number;
  kind: SuspectKind;
  /** One human sentence: why this image is here. */
  reason: string;
  /** A pair's other image (of a leak, the one in validation). */
  pairWith?: { id: string; source: string; label: string };
  /** Out-of-fold class probabilities (by class name), when known. */
  probs?: Record<string, number>;
  /** Machine-readable detail, e.g. the quality issue or the similarity. */
  detail?: Record<string, number | string | boolean>;
}

export interface CleanSummary {
  nItems: number;
  counts: Record<SuspectKind, number>;
  /** Estimated fraction of wrong labels among the images labelled with each class. */
  noiseRate: Record<string, number>;
  /** Estimated number of wrong labels in the whole dataset (from the calibrated confident joint). */
  estimatedLabelErrors?: number;
  labelView?: LabelView;
  folds?: number;
  /** How many k-fold runs were averaged. */
  repeats?: number;
  /** Out-of-fold accuracy against the given labels: a rough "how good is the model" figure. */
  outOfFoldAccuracy?: number;
  /** Items left out because a user kept them at their current label. */
  skippedKept: number;
  notes: string[];
}

export interface CleanReport {
  id: string;
  dataset?: DatasetRef;
  /** The createdAt of that dataset: one deleted and made again under the same name is another dataset. */
  datasetCreatedAt?: number;
  createdAt: number;
  kind: 'labels' | 'duplicates' | 'outliers' | 'quality' | 'all';
  classes: string[];
  suspects: Suspect[];
  summary: CleanSummary;
}
