// "None of these" on features: calibrated on validation images, an image far from every training
// image is refused, and only a small share of new in-domain images is.
import { describe, expect, it } from 'vitest';
import { calibrateNovelty, judgeNovelty, knnDistances, noveltyScore, normaliseRows, quantile, type Novelty } from '../core/ml/novelty.js';
import { predictionText } from '../bot/predictions.js';
import { gaussianClusters } from './fixtures/features.js';

const dim = 32;
const nClasses = 3;

/** What a head says that favours each row's own class: logits (own class `strength`, others 0) and their softmax. */
function confident(y: Int32Array, strength = 3) {
  const logits = new Float32Array(y.length * nClasses);
  // A little spread, as real validation images have.
  y.forEach((c, i) => (logits[i * nClasses + c] = strength + 0.5 * Math.sin(i)));
  const proba = new Float32Array(logits.length);
  for (let i = 0; i < y.length; i++) {
    const row = logits.subarray(i * nClasses, (i + 1) * nClasses);
    const z = row.reduce((s, v) => s + Math.exp(v), 0);
    row.forEach((v, j) => (proba[i * nClasses + j] = Math.exp(v) / z));
  }
  return { proba, logits };
}

describe('none of these', () => {
  // One draw of the clusters (same centres), split into training, validation and fresh images.
  const all = gaussianClusters({ n: 900, dim, nClasses, spread: 0.8, seed: 3 });
  const rows = (from: number, to: number) => ({ X: all.X.slice(from * dim, to * dim), y: all.y.slice(from, to) });
  const train = rows(0, 300);
  const valid = rows(300, 400);
  const fresh = rows(400, 900);
  const novelty = calibrateNovelty(train.X, valid.X, confident(valid.y).logits, dim, nClasses);

  it('refuses few new in-domain images', () => {
    const verdicts = judgeNovelty(novelty, fresh.X, confident(fresh.y), nClasses);
    const refused = verdicts.filter((v) => v.refused).length / verdicts.length;
    expect(refused).toBeLessThan(0.1);
  });

  it('refuses images far from every training image, however sure the head is of them', () => {
    const elsewhere = gaussianClusters({ n: 60, dim, nClasses, spread: 0.8, seed: 99 }); // other centres
    const verdicts = judgeNovelty(novelty, elsewhere.X, confident(elsewhere.y, 6), nClasses);
    expect(verdicts.filter((v) => v.refused && v.reason === 'far').length).toBeGreaterThan(54);
  });

  it('refuses in-domain images no class responds to as strongly as to its validation images', () => {
    const flat = { proba: new Float32Array(fresh.y.length * nClasses).fill(1 / nClasses), logits: new Float32Array(fresh.y.length * nClasses) };
    expect(judgeNovelty(novelty, fresh.X, flat, nClasses).every((v) => v.refused)).toBe(true);
  });

  it('combines the two signals: somewhat far and somewhat weak together is unusual', () => {
    const distances = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    const strengths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // Within what validation images show on each signal alone (3 and 4 of 10 are as extreme)...
    expect(noveltyScore(distances, strengths, 0.8, 3)).toEqual({ far: 4 / 11, weak: 4 / 11, score: 16 / 121 });
    // ...and each share counts one in-domain image more, so nothing is ever certain.
    expect(noveltyScore(distances, strengths, 5, -1)).toEqual({ far: 1 / 11, weak: 1 / 11, score: 1 / 121 });
  });

  it('still judges models saved with the two separate thresholds', () => {
    const legacy: Novelty = { k: novelty.k, dim, nReferences: novelty.nReferences, references: novelty.references, distanceThreshold: 2, confidenceThreshold: 0.5 };
    const unsure = { proba: new Float32Array(fresh.y.length * nClasses).fill(1 / nClasses), logits: new Float32Array(fresh.y.length * nClasses) };
    expect(judgeNovelty(legacy, fresh.X, unsure, nClasses).every((v) => v.refused && v.reason === 'unsure')).toBe(true);
    expect(judgeNovelty(legacy, fresh.X, confident(fresh.y), nClasses).some((v) => v.refused)).toBe(false);
  });

  it('measures the mean cosine distance to the k nearest references', () => {
    const refs = normaliseRows(Float32Array.from([1, 0, 0, 1, -1, 0]), 2);
    const d = knnDistances(refs, normaliseRows(Float32Array.from([2, 0]), 2), 2, 2);
    expect(d[0]).toBeCloseTo((0 + 1) / 2, 6);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
  });
});

describe('the answer in Discord', () => {
  it('says the picture does not look like any of the classes, with the reason', () => {
    const text = predictionText({
      modelVersion: 2,
      dataset: { guildId: 'g', name: 'bears' },
      classes: ['grizzly', 'black', 'teddy'],
      predictions: [{ name: 'cat.jpg', top: [{ class: 'teddy', p: 0.9 }], notSure: true, noneOfThese: true, reason: 'it is far from every image the model was trained on' }],
    });
    expect(text).toContain('this does not look like any of: **grizzly**, **black**, **teddy** (it is far from every image the model was trained on)');
  });
});
