import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { initBackend } from '../core/ml/backend.js';
import { createRng } from '../core/random.js';
import { headFitPredict } from '../core/clean/headFitPredict.js';
import { findSuspects, KIND_ORDER, type CleanItem } from '../core/clean/report.js';
import type { FitPredict } from '../core/clean/types.js';
import type { Split } from '../core/store/types.js';

const classes = ['grizzly', 'black', 'teddy'];
const dim = 48;

/**
 * 90 images in 3 blobs; 7 labels flipped to a random other class; image 90 is a copy of image 0 labelled differently
 * (a cross-class duplicate); image 91 lies far from every class; image 92 is trashed.
 */
function dataset() {
  const rng = createRng(9);
  const centres = classes.map(() => Float32Array.from({ length: dim }, () => rng.normal() * 1.3));
  const rows: Float32Array[] = [];
  const items: CleanItem[] = [];
  const flipped = new Set<number>();
  for (let i = 0; i < 90; i++) {
    const truth = i % 3;
    rows.push(centres[truth]!.map((v) => v + rng.normal()));
    let label = truth;
    if (i % 13 === 7) {
      label = (truth + 1 + (i % 2)) % 3;
      flipped.add(i);
    }
    items.push({ id: `id${i}`, label: classes[label]!, source: { kind: 'search', url: `http://x/${i}.jpg` }, status: 'active', phash: hashOf(i) });
  }
  rows.push(rows[0]!.map((v) => v + 0.01 * rng.normal()));
  items.push({ id: 'id90', label: 'black', source: { kind: 'upload', path: 'bears/copy.jpg' }, status: 'active', phash: hashOf(90) });
  rows.push(Float32Array.from({ length: dim }, () => 6 * rng.normal()));
  items.push({ id: 'id91', label: 'teddy', source: { kind: 'search', url: 'http://x/logo.png' }, status: 'active', phash: hashOf(91) });
  rows.push(rows[1]!.slice());
  items.push({ id: 'id92', label: 'teddy', source: { kind: 'search', url: 'http://x/gone.jpg' }, status: 'trashed', phash: hashOf(92) });
  const embeddings = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => embeddings.set(r, i * dim));
  return { items, embeddings, flipped };
}

function hashOf(i: number): string {
  // Distinct hashes far apart: a different byte pattern per image.
  return (((i * 2654435761) >>> 0).toString(16).padStart(8, '0') + ((i * 40503 + 12345) >>> 0).toString(16).padStart(8, '0')).slice(0, 16);
}

const fitPredict = headFitPredict({ epochs: 15, lr: 1e-2 });

beforeAll(async () => {
  await initBackend('wasm');
});

describe('findSuspects', () => {
  it('ranks label issues, a cross-class duplicate and an outlier in one report', async () => {
    const { items, embeddings, flipped } = dataset();
    // Quality needs the images: asked for explicitly it is an error, within 'all' it is skipped with a note.
    await expect(findSuspects({ items, embeddings, classes, kind: 'quality' })).rejects.toThrow(/need readImage/);
    const partial = await findSuspects({ items, embeddings, classes, kind: 'all' });
    expect(partial.summary.notes).toEqual(['label issues skipped: no head to train', 'quality checks skipped: the images were not available']);
    expect(partial.summary.counts).toMatchObject({ label: 0, quality: 0, duplicate: 1, outlier: 1 });

    const r = await findSuspects({ items, embeddings, classes, kind: 'labels', fitPredict, seed: 1 });
    const labelIds = r.suspects.map((s) => Number(s.id.slice(2)));
    const found = labelIds.filter((i) => flipped.has(i)).length;
    // Confident learning is conservative (a suspect must be confidently another class), so it
    // flags most flipped labels, and little else: the copy of image 0 under another label is
    // a real label error too.
    expect(found).toBeGreaterThanOrEqual(4);
    expect(labelIds.filter((i) => !flipped.has(i) && i !== 90).length).toBeLessThanOrEqual(1);
    expect(r.summary.counts.label).toBe(r.suspects.length);
    expect(r.summary.folds).toBe(5);
    expect(Object.keys(r.summary.noiseRate)).toEqual(classes);
    const first = r.suspects.find((s) => flipped.has(Number(s.id.slice(2))))!;
    expect(first.reason).toMatch(/^labelled "\w+" \(\d+%\); looks like "\w+" \(\d+%\)/);
    expect(first.suggested).not.toBe(first.label);
    expect(Object.keys(first.probs!)).toEqual(classes);
    expect(r.suspects.map((s) => s.id)).not.toContain('id92');

    const d = await findSuspects({ items, embeddings, classes, kind: 'duplicates' });
    expect(d.summary.counts.duplicate).toBe(1);
    expect(d.suspects[0]).toMatchObject({ id: 'id0', kind: 'duplicate', label: 'grizzly', pairWith: { id: 'id90', label: 'black', source: 'bears/copy.jpg' } });
    expect(d.suspects[0]!.detail).toMatchObject({ crossClass: true });
    // The trashed copy of image 1 is not a duplicate any more.
    expect(d.suspects.some((s) => s.pairWith?.id === 'id92' || s.id === 'id92')).toBe(false);

    const o = await findSuspects({ items, embeddings, classes, kind: 'outliers', fitPredict, seed: 1, repeats: 1 });
    expect(o.suspects[0]).toMatchObject({ id: 'id91', kind: 'outlier', source: 'http://x/logo.png' });
    expect(o.suspects[0]!.reason).toMatch(/far from every class/);
  });

  it('checks quality through readImage and lists every kind, label issues first', async () => {
    const { items, embeddings } = dataset();
    const normal = await sharp({ create: { width: 200, height: 160, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 50 } } }).jpeg().toBuffer();
    const dark = await sharp({ create: { width: 200, height: 160, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 10, sigma: 8 } } }).jpeg().toBuffer();
    const r = await findSuspects({
      items,
      embeddings,
      classes,
      kind: 'all',
      fitPredict,
      seed: 2,
      readImage: async (id) => (id === 'id5' ? dark : normal),
    });
    const quality = r.suspects.filter((s) => s.kind === 'quality');
    expect(quality.map((s) => s.id)).toEqual(['id5']);
    expect(quality[0]!.reason).toMatch(/very dark/);
    // Grouped by kind, label issues first, and ranked by score within each kind.
    const kinds = r.suspects.map((s) => KIND_ORDER.indexOf(s.kind));
    expect([...kinds].sort((a, b) => a - b)).toEqual(kinds);
    expect(r.suspects[0]!.kind).toBe('label');
    for (let i = 1; i < r.suspects.length; i++) {
      if (r.suspects[i - 1]!.kind === r.suspects[i]!.kind) expect(r.suspects[i - 1]!.score).toBeGreaterThanOrEqual(r.suspects[i]!.score);
    }
    for (const kind of ['label', 'duplicate', 'outlier', 'quality'] as const) expect(r.summary.counts[kind]).toBe(r.suspects.filter((s) => s.kind === kind).length);
    expect(r.summary.counts.label).toBeGreaterThan(0);
    expect(r.summary.nItems).toBe(92);
  });

  it('does not flag kept images again while their label stays the same', async () => {
    const { items, embeddings } = dataset();
    const before = await findSuspects({ items, embeddings, classes, kind: 'labels', fitPredict, seed: 3 });
    const kept = before.suspects[0]!;
    const keptLabels = new Map([[kept.id, kept.label]]);
    const after = await findSuspects({ items, embeddings, classes, kind: 'labels', fitPredict, seed: 3, keptLabels });
    expect(after.suspects.map((s) => s.id)).not.toContain(kept.id);
    expect(after.summary.skippedKept).toBe(1);
    // Kept at another label (it was relabelled since): flagged again.
    const relabelled = await findSuspects({ items, embeddings, classes, kind: 'labels', fitPredict, seed: 3, keptLabels: new Map([[kept.id, 'other']]) });
    expect(relabelled.suspects.map((s) => s.id)).toContain(kept.id);
  });

  it('offers the lesson\'s in-sample top losses as a selectable view', async () => {
    const { items, embeddings } = dataset();
    const r = await findSuspects({ items, embeddings, classes, kind: 'labels', fitPredict, seed: 4, labelView: 'top-losses', topLossCount: 12 });
    expect(r.summary.labelView).toBe('top-losses');
    expect(r.suspects).toHaveLength(12);
    expect(r.suspects[0]!.reason).toMatch(/^labelled "\w+"; top loss \d+\.\d\d \(in-sample/);
    const losses = r.suspects.map((s) => Number(s.detail!.loss));
    for (let i = 1; i < losses.length; i++) expect(losses[i - 1]!).toBeGreaterThanOrEqual(losses[i]!);
  });

  it('puts label issues before a more similar duplicate pair', async () => {
    const { items, embeddings } = oneHotDataset();
    const r = await findSuspects({ items, embeddings, classes: ['a', 'b'], kind: 'all', fitPredict: probsFromFeatures, seed: 1 });
    const duplicate = r.suspects.find((s) => s.kind === 'duplicate')!;
    expect(duplicate).toMatchObject({ id: 'a1', pairWith: { id: 'a2' } });
    expect(duplicate.score).toBeGreaterThan(0.99);
    const label = r.suspects.find((s) => s.kind === 'label')!;
    expect(label).toMatchObject({ id: 'a0', suggested: 'b' });
    expect(label.score).toBeLessThan(duplicate.score);
    // Less suspect by score, yet first: the kinds' scores do not compare.
    expect(r.suspects[0]).toBe(label);
  });

  it('reports a near-duplicate pair with one image in training and one in validation as a leak', async () => {
    const run = async (splits: Record<string, Split>, relabel?: string) => {
      const { items, embeddings } = oneHotDataset(splits);
      if (relabel) items.find((it) => it.id === 'a2')!.label = relabel;
      return findSuspects({ items, embeddings, classes: ['a', 'b'], kind: 'duplicates' });
    };
    // Both in training: a plain duplicate.
    const same = await run({ a1: 'train', a2: 'train' });
    expect(same.suspects).toMatchObject([{ kind: 'duplicate', id: 'a1', pairWith: { id: 'a2' }, detail: { crossSplit: false } }]);
    expect(same.summary.counts).toMatchObject({ leak: 0, duplicate: 1 });

    // Across the split: a leak, the training image first (left), whichever index it has.
    const leak = await run({ a1: 'valid', a2: 'train' });
    expect(leak.suspects).toMatchObject([{ kind: 'leak', id: 'a2', pairWith: { id: 'a1' }, detail: { crossSplit: true, crossClass: false } }]);
    expect(leak.suspects[0]!.reason).toMatch(/^the same picture is in training and validation: it inflates the accuracy \(100% similar embeddings; both labelled "a"\)$/);
    expect(leak.summary.counts).toMatchObject({ leak: 1, duplicate: 0 });

    // Across the split and across classes: still a duplicate, as its labels disagree; the split is noted.
    const cross = await run({ a1: 'train', a2: 'valid' }, 'b');
    expect(cross.suspects).toMatchObject([{ kind: 'duplicate', detail: { crossSplit: true, crossClass: true } }]);
    expect(cross.suspects[0]!.reason).toMatch(/a label issue\); one in training, one in validation$/);

    // Splits unknown (the bench's items): never a leak.
    expect((await run({})).suspects).toMatchObject([{ kind: 'duplicate' }]);
  });
});

/**
 * A head stand-in that reads the class probabilities off the first two features, so the
 * out-of-fold probabilities are known exactly (and no head is trained).
 */
const probsFromFeatures: FitPredict = async (_trainX, _trainY, testX, nClasses, dim) => {
  const n = testX.length / dim;
  const out = new Float32Array(n * nClasses);
  for (let i = 0; i < n; i++) out.set(testX.subarray(i * dim, i * dim + nClasses), i * nClasses);
  return out;
};

/**
 * Twelve images of classes a and b: features (p(a), p(b)) then a one-hot of the image's own, so
 * no two are alike; a0 is labelled a but reads as b (95%); a2 is a copy of a1 (same features).
 */
function oneHotDataset(splits: Record<string, Split> = {}) {
  const ids = [...Array.from({ length: 6 }, (_, i) => `a${i}`), ...Array.from({ length: 6 }, (_, i) => `b${i}`)];
  const dim = 2 + ids.length;
  const embeddings = new Float32Array(ids.length * dim);
  const items: CleanItem[] = ids.map((id, i) => {
    const isA = id.startsWith('a');
    const p = id === 'a0' ? [0.05, 0.95] : isA ? [0.9, 0.1] : [0.1, 0.9];
    embeddings.set([...p, ...ids.map((_, j) => (j === (id === 'a2' ? 1 : i) ? 1 : 0))], i * dim);
    return { id, label: isA ? 'a' : 'b', source: { kind: 'upload', path: `${id}.jpg` }, status: 'active', phash: hashOf(i), ...(splits[id] ? { split: splits[id] } : {}) };
  });
  return { items, embeddings };
}
