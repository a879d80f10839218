// `npm run bench -- clean [--seeds 1,2,3] [--per-class 100] [--classes 3] [--repeats 5] [--images | --synthetic]`:
// how well confident learning finds flipped labels, against the lesson's in-sample top losses,
// on the same data.
//
// Data: both sets below, one after the other, unless --images or --synthetic names one.
// Synthetic: 1280-d embeddings (the size of MobileNetV2's features), NOT
// embeddings of real images: no labelled photos are available offline. Each class is a mixture of 4 sub-clusters (a
// class has several looks: poses, backgrounds), every image also carries 16 shared nuisance
// factors (lighting, background, camera) that do not depend on the class, and the features are
// rectified (x -> max(x, 0)) like the post-ReLU averages a CNN produces. The class separation is
// fixed (below), chosen once so that a linear head on CLEAN labels reaches roughly 90-95%
// out-of-fold accuracy, i.e. the classes overlap; each run prints that accuracy so the
// difficulty is visible. 10% of labels are then flipped to a random other class.
// With --images: generated pictures (test/fixtures/images.ts: red circles, blue stripes, green
// squares, 3 classes) embedded by the real ImageNet MobileNetV2-0.35 (served on loopback from
// test/fixtures/models); real backbone features, but of drawings that are easy to tell apart.
//
// Both methods use core/ml's head with its training defaults (nothing tuned here):
//  - confident learning: out-of-fold probabilities (5-fold, averaged over DEFAULT_REPEATS
//    differently seeded runs, as findSuspects does), per-class thresholds, cleanlab's
//    prune-by-noise-rate filter, ranked by self-confidence (core/clean/confident.ts);
//  - top losses: one head trained on all images, ranked by loss on those same images.
// precision / recall: of the images confident learning flags. precision@k: of the first k
// images of each ranking (k = number flipped); for confident learning the ranking is the
// flagged images first, then the rest by self-confidence (what a user pages through).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../core/ml/backend.js';
import { createRng, type Rng } from '../core/random.js';
import { DEFAULT_REPEATS, findLabelIssues, inSampleProbabilities, outOfFoldProbabilities, suspectRanking, topLosses } from '../core/clean/confident.js';
import { headFitPredict } from '../core/clean/headFitPredict.js';
import { resolveBackbone, type BackboneSource } from '../core/ml/backbones/index.js';
import { embedItems } from '../core/ml/embedPool.js';
import { SYNTHETIC_CLASSES, syntheticImages } from '../test/fixtures/images.js';
import { startModelMirror } from '../test/fixtures/modelMirror.js';

const DIM = 1280;
const SUBCLUSTERS = 4;
const NUISANCE_FACTORS = 16;
/**
 * Scale of class centres, sub-cluster offsets, nuisance factors and per-image noise (per
 * feature). The class-centre scale was set once, on clean labels and seeds (101, 102) that the
 * benchmark does not use, to where the head's clean out-of-fold accuracy is ~92%
 * (0.20 -> 0.89, 0.21 -> 0.92, 0.22 -> 0.95); it was not adjusted to the cleaning results.
 */
export const SCALE = { classCentre: 0.21, subCluster: 0.16, nuisance: 0.35, noise: 1 };
const FLIP_RATE = 0.1;

interface Generated {
  /** Row-major n x DIM features. */
  X: Float32Array;
  truth: Int32Array;
  labels: Int32Array;
  flipped: Set<number>;
}

function gaussianVector(rng: Rng, scale: number): Float32Array {
  return Float32Array.from({ length: DIM }, () => rng.normal() * scale);
}

export function generateDataset(seed: number, nClasses: number, perClass: number, scale = SCALE): Generated {
  const rng = createRng(seed);
  const loadings = Array.from({ length: NUISANCE_FACTORS }, () => gaussianVector(rng, scale.nuisance));
  const subCentres = Array.from({ length: nClasses }, () => {
    const centre = gaussianVector(rng, scale.classCentre);
    return Array.from({ length: SUBCLUSTERS }, () => centre.map((c) => c + rng.normal() * scale.subCluster));
  });
  const n = nClasses * perClass;
  const X = new Float32Array(n * DIM);
  const truth = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const cls = r % nClasses;
    truth[r] = cls;
    const sub = subCentres[cls]![rng.int(SUBCLUSTERS)]!;
    const factors = Array.from({ length: NUISANCE_FACTORS }, () => rng.normal());
    for (let d = 0; d < DIM; d++) {
      let v = sub[d]! + rng.normal() * scale.noise;
      for (let f = 0; f < NUISANCE_FACTORS; f++) v += factors[f]! * loadings[f]![d]!;
      X[r * DIM + d] = Math.max(v, 0);
    }
  }
  return { X, truth, ...flipLabels(truth, nClasses, rng) };
}

/** Flips FLIP_RATE of the labels, each to a random other class. */
function flipLabels(truth: Int32Array, nClasses: number, rng: Rng): { labels: Int32Array; flipped: Set<number> } {
  const labels = Int32Array.from(truth);
  const flips = rng.shuffle(Array.from({ length: truth.length }, (_, i) => i)).slice(0, Math.round(FLIP_RATE * truth.length));
  for (const i of flips) labels[i] = (truth[i]! + 1 + rng.int(nClasses - 1)) % nClasses;
  return { labels, flipped: new Set(flips) };
}

/** Generated pictures embedded by the real backbone; one pool of embedding threads for all seeds. */
async function imageDataset(seed: number, perClass: number, source: BackboneSource, featureSize: number): Promise<Generated> {
  const images = await syntheticImages(perClass, { size: 112, seed });
  const items = images.map((im, i) => ({ id: `bench-${seed}-${i}`, input: { kind: 'bytes' as const, bytes: im.bytes } }));
  const { features, failed } = await embedItems(items, { source, featureSize, threads: 2 });
  if (failed.size) throw new Error(`could not embed ${failed.size} generated images`);
  const X = new Float32Array(items.length * featureSize);
  items.forEach((it, i) => X.set(features.get(it.id)!, i * featureSize));
  const truth = Int32Array.from(images, (im) => im.classIndex);
  return { X, truth, ...flipLabels(truth, SYNTHETIC_CLASSES.length, createRng(seed)) };
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

const f2 = (v: number) => v.toFixed(2);

interface Totals {
  precision: number;
  recall: number;
  pk: number;
  tk: number;
}

/** One seed: confident learning and top losses on the same features; prints the per-seed row. */
async function evaluate(seed: number, data: Generated, nClasses: number, dim: number, repeats: number, totals: Totals): Promise<void> {
  const started = Date.now();
  const fitPredict = headFitPredict();
  const k = data.flipped.size;
  const base = { X: data.X, nClasses, dim, fitPredict, seed };
  // The difficulty of the data: how well a head does when no label is wrong.
  const clean = await outOfFoldProbabilities({ ...base, labels: data.truth });
  const cleanAccuracy = accuracy(clean.probs, data.truth, nClasses);

  const { probs } = await outOfFoldProbabilities({ ...base, labels: data.labels, repeats });
  const result = findLabelIssues(probs, data.labels, nClasses);
  const hits = result.issues.filter((i) => data.flipped.has(i.index)).length;
  const precision = result.issues.length ? hits / result.issues.length : 0;
  const recall = hits / k;
  const pk = suspectRanking(result).slice(0, k).filter((i) => data.flipped.has(i)).length / k;
  const inSample = await inSampleProbabilities({ ...base, labels: data.labels });
  const tk = topLosses(inSample, data.labels, nClasses).slice(0, k).filter((t) => data.flipped.has(t.index)).length / k;
  console.log(
    `  seed ${seed}: n ${data.labels.length}, flipped ${k}, clean-label out-of-fold accuracy ${f2(cleanAccuracy)}, ` +
      `flagged ${result.issues.length}, precision ${f2(precision)}, recall ${f2(recall)}, precision@${k} ${f2(pk)}; ` +
      `top losses precision@${k} ${f2(tk)} (in-sample accuracy ${f2(accuracy(inSample, data.labels, nClasses))}); ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  totals.precision += precision;
  totals.recall += recall;
  totals.pk += pk;
  totals.tk += tk;
}

/** Both data sets unless one is named: generated images (real backbone), then synthetic embeddings. */
export async function run(args: string[]): Promise<void> {
  const only = args.includes('--images') ? [true] : args.includes('--synthetic') ? [false] : [true, false];
  for (const images of only) await runOne(args, images);
}

async function runOne(args: string[], images: boolean): Promise<void> {
  const seeds = option(args, 'seeds', '1,2,3').split(',').map(Number);
  const perClass = Number(option(args, 'per-class', '100'));
  const repeats = Number(option(args, 'repeats', String(DEFAULT_REPEATS)));
  const nClasses = images ? SYNTHETIC_CLASSES.length : Number(option(args, 'classes', '3'));
  const backend = await initBackend((process.env.TF_BACKEND as Parameters<typeof initBackend>[0]) ?? 'auto');
  const setup = `${nClasses} classes x ${perClass} images, ${FLIP_RATE * 100}% of labels flipped, head = core/ml defaults, out-of-fold = 5-fold x ${repeats} runs, backend ${backend.name}`;
  const totals: Totals = { precision: 0, recall: 0, pk: 0, tk: 0 };
  if (images) {
    const mirror = await startModelMirror();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kodiak-bench-clean-'));
    try {
      const { source } = await resolveBackbone('mobilenet_v2_035', { dataDir, mirrorUrl: mirror.url, allowFallback: false });
      const featureSize = source.spec.featureSize;
      console.log(`clean benchmark: generated images (${SYNTHETIC_CLASSES.join(', ')}) embedded by ${source.spec.title} (${featureSize}-d), ${setup}`);
      for (const seed of seeds) await evaluate(seed, await imageDataset(seed, perClass, source, featureSize), nClasses, featureSize, repeats, totals);
    } finally {
      await mirror.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  } else {
    console.log(
      `clean benchmark: synthetic ${DIM}-d embeddings (Gaussian mixtures, ${SUBCLUSTERS} sub-clusters per class, ` +
        `${NUISANCE_FACTORS} shared nuisance factors, rectified; not real images), ${setup}`,
    );
    for (const seed of seeds) await evaluate(seed, generateDataset(seed, nClasses, perClass), nClasses, DIM, repeats, totals);
  }
  const m = seeds.length;
  console.log(
    `clean: confident learning precision ${f2(totals.precision / m)} recall ${f2(totals.recall / m)} precision@k ${f2(totals.pk / m)}; top losses precision@k ${f2(totals.tk / m)}`,
  );
}

function accuracy(probs: Float32Array, labels: Int32Array, nClasses: number): number {
  let correct = 0;
  labels.forEach((l, i) => {
    const row = probs.subarray(i * nClasses, (i + 1) * nClasses);
    if (row.indexOf(Math.max(...row)) === l) correct++;
  });
  return correct / labels.length;
}
