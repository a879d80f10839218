import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../core/ml/backend.js';
import { foldedLayers, loadHead, lrFind, trainHead, type EpochStats } from '../core/ml/head.js';
import { valleyIndex } from '../core/ml/lrFind.js';
import { oneCycle } from '../core/ml/schedule.js';
import { gaussianClusters } from './fixtures/features.js';

const dim = 32;
const nClasses = 3;
const train = gaussianClusters({ n: 240, dim, nClasses, spread: 1.5, seed: 1 });
// Same centres (same seed), fresh noise: draw more and keep the tail.
const more = gaussianClusters({ n: 480, dim, nClasses, spread: 1.5, seed: 1 });
const valid = { X: more.X.slice(240 * dim), y: more.y.slice(240) };

function argmaxRows(p: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < p.length / k; r++) {
    const row = Array.from(p.subarray(r * k, (r + 1) * k));
    out.push(row.indexOf(Math.max(...row)));
  }
  return out;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('one-cycle schedule', () => {
  it('warms up to the peak, then anneals far below it', () => {
    const lrs = Array.from({ length: 100 }, (_, s) => oneCycle(s, 100, 1e-2).lr);
    const peak = lrs.indexOf(Math.max(...lrs));
    expect(peak).toBeGreaterThan(15);
    expect(peak).toBeLessThan(35);
    expect(lrs[0]).toBeCloseTo(1e-2 / 25, 8);
    expect(lrs[99]!).toBeLessThan(1e-6);
    expect(oneCycle(peak, 100, 1e-2).beta1).toBeLessThan(oneCycle(0, 100, 1e-2).beta1);
  });
});

describe('trainHead', () => {
  it('learns separable clusters, reports every epoch and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const epochs: EpochStats[] = [];
    const head = await trainHead(train.X, train.y, { nClasses, dim, epochs: 8, lr: 1e-2, valid, onEpoch: (e) => epochs.push(e) });
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(head.history).toEqual(epochs);
    expect(epochs.at(-1)!.validAccuracy!).toBeGreaterThanOrEqual(0.95);
    expect(epochs.at(-1)!.trainLoss).toBeLessThan(epochs[0]!.trainLoss);
    const p = head.predictProba(valid.X);
    expect(p.length).toBe(valid.y.length * nClasses);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 5);
    head.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const opts = { nClasses, dim, epochs: 3, hidden: 16, dropout: 0.3, seed: 7 };
    const a = await trainHead(train.X, train.y, opts);
    const b = await trainHead(train.X, train.y, opts);
    const c = await trainHead(train.X, train.y, { ...opts, seed: 8 });
    const [pa, pb, pc] = [a.predictProba(valid.X), b.predictProba(valid.X), c.predictProba(valid.X)];
    expect(Array.from(pa)).toEqual(Array.from(pb));
    expect(Array.from(pa)).not.toEqual(Array.from(pc));
    [a, b, c].forEach((h) => h.dispose());
  });

  it('round-trips through JSON, and folded layers give the same logits', async () => {
    const head = await trainHead(train.X, train.y, { nClasses, dim, epochs: 3, hidden: 8, labelSmoothing: 0.1 });
    const json = JSON.parse(JSON.stringify(head.toJSON()));
    const loaded = loadHead(json);
    const p1 = head.predictProba(valid.X);
    const p2 = loaded.predictProba(valid.X);
    expect(Array.from(p2)).toEqual(Array.from(p1));
    const layers = foldedLayers(json);
    const folded = tf.tidy(() => {
      let h: tf.Tensor2D = tf.tensor2d(valid.X, [valid.y.length, dim]);
      layers.forEach((l, i) => {
        h = tf.matMul(h, tf.tensor2d(l.kernel, [l.inputs, l.units])).add(tf.tensor1d(l.bias));
        if (i + 1 < layers.length) h = tf.relu(h);
      });
      return tf.softmax(h).dataSync() as Float32Array;
    });
    folded.forEach((v, i) => expect(v).toBeCloseTo(p1[i]!, 4));
    head.dispose();
    loaded.dispose();
    expect(() => head.predictProba(valid.X)).toThrow(/disposed/);
  });

  it('stops when its signal is aborted and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = trainHead(train.X, train.y, {
      nClasses, dim, epochs: 50, signal: controller.signal,
      onEpoch: (e) => e.epoch === 2 && controller.abort(new Error('cancelled by test')),
    });
    await expect(run).rejects.toThrow('cancelled by test');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the event loop a turn between batches, so the job lock can be renewed while it trains', async () => {
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const epochs = 3;
    const batchSize = 32;
    await trainHead(train.X, train.y, { nClasses, dim, epochs, batchSize, yieldBudgetMs: 0 });
    ticking = false;
    // One turn per step at least (once per epoch was the old rhythm: 3 turns for 24 steps).
    expect(turns).toBeGreaterThanOrEqual(epochs * Math.ceil(240 / batchSize));
  });

  it('rejects labels outside the classes', async () => {
    await expect(trainHead(train.X, Int32Array.from(train.y, () => 5), { nClasses, dim })).rejects.toThrow(/label 5/);
  });
});

describe('lrFind', () => {
  it('sweeps exponentially and suggests a rate inside the sweep', async () => {
    const r = await lrFind(train.X, train.y, { nClasses, dim, steps: 60 });
    expect(r.points.length).toBeGreaterThan(20);
    for (let i = 1; i < r.points.length; i++) expect(r.points[i]!.lr).toBeGreaterThan(r.points[i - 1]!.lr);
    expect(r.suggested).toBeGreaterThan(1e-6);
    expect(r.suggested).toBeLessThan(1);
    const head = await trainHead(train.X, train.y, { nClasses, dim, epochs: 5, lr: r.suggested, valid });
    expect(head.history.at(-1)!.validAccuracy!).toBeGreaterThan(0.9);
    head.dispose();
    const { lrFinderChart } = await import('../core/ml/charts.js');
    expect((await lrFinderChart(r)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('valley picks the middle of the longest descent', () => {
    expect(valleyIndex([5, 4, 3, 2, 1, 0.5, 3, 9])).toBeGreaterThan(0);
    expect(valleyIndex([5, 4, 3, 2, 1, 0.5, 3, 9])).toBeLessThan(5);
  });
});
