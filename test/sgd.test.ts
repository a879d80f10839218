import { describe, expect, it } from 'vitest';
import { createRng, mulberry32 } from '../core/random.js';
import {
  INITIAL_PARAMS,
  NOISE_STD,
  TRUE_PARAMS,
  criticalLearningRate,
  judgeDescent,
  leastSquares,
  makeLessonData,
  mse,
  mseGradient,
  numericalGradient,
  resolveSgdOptions,
  runDescent,
  runSgdLesson,
  summaryJson,
  summaryMarkdown,
} from '../core/sgd/index.js';

describe('createRng', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
    expect(mulberry32(7)()).toBe(seqA[0]);
  });

  it('draws uniforms in [0, 1), integers in range, and normals with mean 0 and variance 1', () => {
    const rng = createRng(123);
    const n = 20000;
    let sum = 0;
    let sumSq = 0;
    let uniformsInRange = true;
    const faces = new Set<number>();
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      uniformsInRange &&= u >= 0 && u < 1;
      faces.add(rng.int(6));
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    expect(uniformsInRange).toBe(true);
    expect([...faces].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.05);
    expect(() => rng.int(0)).toThrow(RangeError);
  });

  it('shuffles in place into a permutation, reproducibly', () => {
    const a = createRng('s').shuffle(Array.from({ length: 50 }, (_, i) => i));
    const b = createRng('s').shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('lesson data and model', () => {
  it('draws x in [-1, 1] and y around 3x + 2 with noise sd 0.25', () => {
    const data = makeLessonData(1000, 5);
    expect(data.x.every((x) => x >= -1 && x <= 1)).toBe(true);
    const residuals = Array.from(data.x, (x, i) => (data.y[i] as number) - (TRUE_PARAMS[0] * x + TRUE_PARAMS[1]));
    const sd = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / residuals.length);
    expect(sd).toBeGreaterThan(NOISE_STD * 0.9);
    expect(sd).toBeLessThan(NOISE_STD * 1.1);
    expect(makeLessonData(1000, 5).y).toEqual(data.y);
  });

  it('hand-written gradient matches finite differences to 1e-4', () => {
    const data = makeLessonData(100, 42);
    for (const a of [INITIAL_PARAMS, [3, 2], [0.3, -7], [12, 4.5]] as const) {
      const analytic = mseGradient(data, a);
      const numeric = numericalGradient(data, a);
      expect(Math.abs(analytic[0] - numeric[0])).toBeLessThan(1e-4);
      expect(Math.abs(analytic[1] - numeric[1])).toBeLessThan(1e-4);
    }
  });

  it('the gradient is zero at the least-squares fit', () => {
    const data = makeLessonData(100, 42);
    const { params, loss } = leastSquares(data);
    const g = mseGradient(data, params);
    expect(Math.hypot(g[0], g[1])).toBeLessThan(1e-9);
    expect(loss).toBeCloseTo(mse(data, params), 12);
  });

  it('finds the full-batch stability limit near 1 for x uniform in [-1, 1]', () => {
    // Hessian ≈ diag(2/3, 2), so 2 / largest eigenvalue ≈ 1.
    expect(criticalLearningRate(makeLessonData(1000, 1))).toBeGreaterThan(0.9);
    expect(criticalLearningRate(makeLessonData(1000, 1))).toBeLessThan(1.05);
  });
});

describe('gradient descent', () => {
  it('lr 0.1, 100 full-batch steps: parameters within 0.1 of (3, 2), loss within 20% of the noise variance', () => {
    const run = runSgdLesson({ lr: 0.1, steps: 100, points: 100, seed: 42 });
    const final = run.history.params.at(-1)!;
    expect(Math.abs(final[0] - 3)).toBeLessThan(0.1);
    expect(Math.abs(final[1] - 2)).toBeLessThan(0.1);
    const noiseVariance = NOISE_STD ** 2;
    expect(Math.abs(run.verdict.finalLoss - noiseVariance) / noiseVariance).toBeLessThan(0.2);
    expect(run.verdict.kind).toBe('converged');
    // History: the start plus one entry per step, and the loss falls overall.
    expect(run.history.params).toHaveLength(101);
    expect(run.history.loss).toHaveLength(101);
    expect(run.history.params[0]).toEqual(INITIAL_PARAMS);
    expect(run.verdict.startLoss).toBeGreaterThan(5);
    expect(run.history.epochs.at(-1)).toBe(100);
  });

  it('full-batch steps each lower the loss at a small learning rate', () => {
    const data = makeLessonData(100, 3);
    const { loss } = runDescent(data, { lr: 0.1, steps: 50 });
    for (let k = 1; k < loss.length; k++) expect(loss[k]).toBeLessThan(loss[k - 1] as number);
  });

  it('mini-batch SGD converges too, counting epochs as passes over the data', () => {
    const run = runSgdLesson({ lr: 0.1, steps: 200, batch: 10, points: 100, seed: 42 });
    const final = run.history.params.at(-1)!;
    expect(run.history.batchSize).toBe(10);
    expect(run.history.epochs.at(-1)).toBe(20);
    expect(Math.abs(final[0] - 3)).toBeLessThan(0.15);
    expect(Math.abs(final[1] - 2)).toBeLessThan(0.15);
    expect(run.verdict.kind).toBe('converged');
  });

  it('mini-batches cover every point once per epoch', () => {
    const data = makeLessonData(30, 9);
    // With lr 0 the parameters stay put, so only the bookkeeping is tested.
    const history = runDescent(data, { lr: 0, steps: 3, batchSize: 10, seed: 9 });
    expect(history.epochs).toEqual([0, 1 / 3, 2 / 3, 1]);
  });

  it('lr 1.5 is reported as diverging, with the learning rate named as the cause', () => {
    const run = runSgdLesson({ lr: 1.5, steps: 100, seed: 42 });
    expect(run.verdict.kind).toBe('diverged');
    expect(run.verdict.finalLoss).toBeGreaterThan(run.verdict.startLoss);
    expect(run.verdict.explanation).toMatch(/learning rate 1\.5 is too high/);
    expect(run.verdict.divergedAtStep).toBeGreaterThan(0);
  });

  it('stops at the first non-finite step when the numbers overflow', () => {
    const run = runSgdLesson({ lr: 100, steps: 1000, seed: 42 });
    expect(run.history.overflowed).toBe(true);
    expect(run.history.loss.length).toBeLessThan(1001);
    expect(run.verdict.kind).toBe('diverged');
    expect(summaryMarkdown(run)).toMatch(/overflowed/);
  });

  it('a learning rate too small is reported as not converged, with advice', () => {
    const run = runSgdLesson({ lr: 0.01, steps: 100, seed: 42 });
    expect(run.verdict.kind).toBe('not-converged');
    expect(run.verdict.explanation).toMatch(/more steps or a higher learning rate/);
    expect(run.verdict.explanation).toMatch(/still falling/);
  });

  it('judges a hand-made history that rises at the end as diverging even below its start', () => {
    const data = makeLessonData(100, 42);
    const base = runDescent(data, { lr: 0.1, steps: 40 });
    const rising = base.loss.map((l, k) => (k < 20 ? l : (base.loss[19] as number) * 1.1 ** (k - 19)));
    expect(rising.at(-1)!).toBeLessThan(rising[0] as number);
    expect(judgeDescent(data, { ...base, loss: rising }).kind).toBe('diverged');
  });
});

describe('options and summary', () => {
  it('applies defaults and refuses out-of-range options with a UserError', () => {
    expect(resolveSgdOptions({})).toEqual({ lr: 0.1, steps: 100, batch: 0, points: 100, seed: 42 });
    expect(() => resolveSgdOptions({ steps: 0 })).toThrow(/steps must be/);
    expect(() => resolveSgdOptions({ points: 5 })).toThrow(/points must be/);
    expect(() => resolveSgdOptions({ steps: 2.5 })).toThrow(/whole number/);
    expect(() => resolveSgdOptions({ lr: Number.NaN })).toThrow(/lr must be/);
    try {
      resolveSgdOptions({ batch: -1 });
    } catch (err) {
      expect((err as Error).name).toBe('UserError');
    }
  });

  it('summary names every vocabulary term and the true parameters, within embed limits', () => {
    const run = runSgdLesson({ batch: 10, steps: 30 });
    const text = summaryMarkdown(run);
    for (const term of ['learning rate', 'epoch', 'mini-batch', 'SGD', 'parameters', 'loss']) expect(text).toContain(`**${term}**`);
    expect(text).toContain('true a = (3, 2)');
    expect(text).toContain('3 epochs in 30 steps');
    expect(text.length).toBeLessThan(4096);
    expect(summaryJson(run)).toMatchObject({ verdict: run.verdict.kind, stepsRun: 30, batchSize: 10, trueParams: [3, 2] });
  });
});
