import { describe, expect, it } from 'vitest';
import { createRng } from '../core/random.js';
import { describePair, findDuplicates, hammingDistance, parsePhash, phashPairs } from '../core/clean/duplicates.js';
import { findOutliers, knnDistances, mad, median } from '../core/clean/outliers.js';
import { normaliseRows, scanSimilarities } from '../core/clean/similarity.js';

const dim = 64;

/** Two classes of 40 points around their centres; optionally extra rows appended. */
function embeddings(seed: number, extra: Float32Array[] = []) {
  const rng = createRng(seed);
  const centres = [0, 1].map(() => Float32Array.from({ length: dim }, () => rng.normal()));
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 80; i++) {
    const c = i % 2;
    rows.push(centres[c]!.map((v) => v + 0.6 * rng.normal()));
    labels.push(c);
  }
  const X = new Float32Array((rows.length + extra.length) * dim);
  [...rows, ...extra].forEach((r, i) => X.set(r, i * dim));
  return { X, labels, rows, rng };
}

describe('similarity scan', () => {
  it('finds the same neighbours and pairs as a brute-force comparison, whatever the block size', () => {
    const { X } = embeddings(1);
    const U = normaliseRows(X, dim);
    const n = X.length / dim;
    const cos = (a: number, b: number) => U.subarray(a * dim, (a + 1) * dim).reduce((s, v, c) => s + v * U[b * dim + c]!, 0);
    const scan = scanSimilarities(X, dim, { k: 3, pairThreshold: 0.8, block: 7 });
    for (const i of [0, 17, 79]) {
      const brute = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => cos(i, b) - cos(i, a)).slice(0, 3);
      expect(Array.from(scan.neighbours.subarray(i * 3, i * 3 + 3))).toEqual(brute);
    }
    let expected = 0;
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (cos(a, b) >= 0.8) expected++;
    expect(scan.pairs.length).toBe(expected);
    expect(scanSimilarities(X, dim, { k: 3, pairThreshold: 0.8, block: 64 }).pairs).toEqual(scan.pairs);
  });
});

describe('near-duplicates', () => {
  it('pairs planted duplicates, most similar first, and marks the cross-class one', () => {
    const base = embeddings(2);
    const { rows, rng } = base;
    // Row 80: a near copy of row 3 (class 1, same class). Row 81: a near copy of row 10
    // (class 0) but labelled 1: the same picture under two labels.
    const copy = (r: Float32Array, noise: number) => r.map((v) => v + noise * rng.normal());
    const { X } = embeddings(2, [copy(rows[3]!, 0.05), copy(rows[10]!, 0.02)]);
    const labels = [...base.labels, 1, 1];
    const pairs = findDuplicates({ labels, scan: scanSimilarities(X, dim, { k: 1, pairThreshold: 0.95 }) });
    expect(pairs.map((p) => [p.a, p.b])).toEqual([[10, 81], [3, 80]]);
    expect(pairs[0]).toMatchObject({ crossClass: true, via: 'embedding' });
    expect(pairs[1]).toMatchObject({ crossClass: false });
    expect(pairs[0]!.score).toBeGreaterThan(pairs[1]!.score);
    expect(describePair(pairs[0]!, 'black bear', 'teddy bear')).toMatch(/labelled both "black bear" and "teddy bear" \(a label issue\)/);
  });

  it('pairs perceptual hashes a few bits apart and merges them with embedding pairs', () => {
    expect(hammingDistance(parsePhash('ffffffff00000000')!, parsePhash('fffffffe00000001')!)).toBe(2);
    expect(parsePhash('xyz')).toBeUndefined();
    const hashes = ['0f0f0f0f0f0f0f0f', '0f0f0f0f0f0f0f0e', 'f0f0f0f0f0f0f0f0', undefined, '0f0f0f0f0f0f0fff'];
    expect(phashPairs(hashes, 6)).toEqual([
      { a: 0, b: 1, hamming: 1 },
      { a: 0, b: 4, hamming: 4 },
      { a: 1, b: 4, hamming: 5 },
    ]);
    const scan = { neighbours: new Int32Array(), neighbourSims: new Float32Array(), k: 1, pairs: [{ a: 0, b: 1, similarity: 0.97 }] };
    const merged = findDuplicates({ labels: [0, 1, 0, 0, 0], scan, phashes: hashes, hammingThreshold: 4 });
    expect(merged[0]).toMatchObject({ a: 0, b: 1, via: 'both', hamming: 1, similarity: 0.97, crossClass: true });
    expect(merged[0]!.score).toBeCloseTo(1 - 1 / 64);
    expect(merged[1]).toMatchObject({ a: 0, b: 4, via: 'phash', hamming: 4, crossClass: false });
    expect(merged).toHaveLength(2);
  });
});

describe('outliers', () => {
  it('robust statistics: median and MAD ignore one wild value', () => {
    expect(median([1, 2, 3, 100])).toBe(2.5);
    expect(mad([1, 2, 3, 4, 1000])).toBe(1);
  });

  it('flags an image planted far from every class, and only it', () => {
    const { rng } = embeddings(3);
    const far = Float32Array.from({ length: dim }, () => 4 * rng.normal());
    const { X } = embeddings(3, [far]);
    const scan = scanSimilarities(X, dim, { k: 5, pairThreshold: 2 });
    const dist = knnDistances(scan);
    expect(dist[80]).toBeGreaterThan(Math.max(...dist.subarray(0, 80)));
    const found = findOutliers({ scan, nClasses: 2 });
    expect(found.outliers.map((o) => o.index)).toEqual([80]);
    expect(found.outliers[0]).toMatchObject({ far: true, unsure: false });
    expect(found.outliers[0]!.score).toBeGreaterThan(0.5);
  });

  it('also flags an image the model is unsure of when it is farther than usual', () => {
    const { X } = embeddings(4);
    const scan = scanSimilarities(X, dim, { k: 5, pairThreshold: 2 });
    const dist = knnDistances(scan);
    const center = median(dist);
    const probs = new Float32Array(80 * 2);
    for (let i = 0; i < 80; i++) probs.set([0.9, 0.1], i * 2);
    // Two unsure images: one farther than the median image, one closer.
    const farther = dist.findIndex((d) => d > center);
    const closer = dist.findIndex((d) => d < center);
    probs.set([0.52, 0.48], farther * 2);
    probs.set([0.52, 0.48], closer * 2);
    const found = findOutliers({ scan, probs, nClasses: 2 });
    expect(found.outliers.map((o) => o.index)).toEqual([farther]);
    expect(found.outliers[0]).toMatchObject({ unsure: true, maxProb: expect.closeTo(0.52, 5) });
  });
});
