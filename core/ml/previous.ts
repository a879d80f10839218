// Honest before -> after. When a training replaces an earlier model version, both are scored on
// the same images: the new model's validation images with their current labels. The earlier
// model's own recorded accuracy was measured on its validation set with the labels of its day;
// after cleaning (relabels, deletions) or new images both differ, and a comparison across them
// would partly measure the change of validation set instead of the change of model.
import type { DatasetRef } from '../jobs.js';
import type { ModelMeta, ModelStore } from './models.js';
import { Predictor } from './predictor.js';

export interface PreviousScore {
  modelVersion: number;
  /** The earlier version's accuracy on the new version's validation images, current labels. */
  accuracy: number;
}

export interface ScorePreviousOptions {
  store: ModelStore;
  dataDir: string;
  mirrorUrl?: string;
  backboneSha256?: string;
  maxPixels?: number;
}

/** Images per forward pass: bounds memory on large validation sets. */
const BATCH = 32;

/**
 * Accuracy of model `previous` on `valid` (path + current label). A class the earlier model did
 * not know counts as a miss, as it would for a user.
 */
export async function scorePrevious(opts: ScorePreviousOptions, ref: DatasetRef, previous: ModelMeta, valid: { path: string; label: string }[]): Promise<PreviousScore> {
  const predictor = new Predictor({ ...opts, maxModels: 1, topK: 1 });
  try {
    let right = 0;
    for (let start = 0; start < valid.length; start += BATCH) {
      const batch = valid.slice(start, start + BATCH);
      const out = await predictor.predict(ref, batch.map((v) => v.path), previous.version);
      out.predictions.forEach((p, i) => {
        if (p.top[0]?.class === batch[i]!.label) right++;
      });
    }
    return { modelVersion: previous.version, accuracy: valid.length ? right / valid.length : 0 };
  } finally {
    predictor.dispose();
  }
}

/** The report's wording: both versions on the same validation images with the current labels. */
export function beforeAfter(previous: PreviousScore, now: { modelVersion: number; errorRate: number; nValid: number }): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return `error rate before → after, on the same ${now.nValid} validation images with the current labels: v${previous.modelVersion} ${pct(1 - previous.accuracy)} → v${now.modelVersion} ${pct(now.errorRate)}`;
}
