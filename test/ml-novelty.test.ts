// "None of these" on features: calibrated on validation images, an image far from every training
// image is refused, and only a small share of new in-domain images is.
import { describe, expect, it } from 'vitest';
import { calibrateNovelty, judgeNovelty, knnDistances, normaliseRows, quantile } from '../core/ml/novelty.js';
import { predictionText } from '../bot/predictions.js';
import { gaussianClusters } from './fixtures/features.js';

const dim = 32;
const nClasses = 3;

/** Probabilities that favour each row's own class (what a good head gives in-domain). */
function confident(y: Int32Array, p = 0.9): Float32Array {
  const out = new Float32Array(y.length * nClasses).fill((1 - p) / (nClasses - 1));
  y.forEach((c, i) => (out[i * nClasses + c] = p));
  return out;
}

describe('none of these', () => {
  // One draw of the clusters (same centres), split into training, validation and fresh images.
  const all = gaussianClusters({ n: 900, dim, nClasses, spread: 0.8, seed: 3 });
  const rows = (from: number, to: number) => ({ X: all.X.slice(from * dim, to * dim), y: all.y.slice(from, to) });
  const train = rows(0, 300);
  const valid = rows(300, 400);
  const fresh = rows(400, 900);
  const novelty = calibrateNovelty(train.X, valid.X, confident(valid.y), dim, nClasses);

  it('refuses few new in-domain images', () => {
    const verdicts = judgeNovelty(novelty, fresh.X, confident(fresh.y), nClasses);
    const refused = verdicts.filter((v) => v.refused).length / verdicts.length;
    expect(refused).toBeLessThan(0.1);
  });

  it('refuses images far from every training image, however sure the head is of them', () => {
    const elsewhere = gaussianClusters({ n: 60, dim, nClasses, spread: 0.8, seed: 99 }); // other centres
    const verdicts = judgeNovelty(novelty, elsewhere.X, confident(elsewhere.y, 0.99), nClasses);
    expect(verdicts.filter((v) => v.refused && v.reason === 'far').length).toBeGreaterThan(54);
  });

  it('refuses in-domain images the head is much less sure of than of its validation images', () => {
    const unsure = new Float32Array(fresh.y.length * nClasses).fill(1 / nClasses);
    expect(judgeNovelty(novelty, fresh.X, unsure, nClasses).every((v) => v.refused)).toBe(true);
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
