// `npm run bench -- quality [--folds 5] [--flip-seeds 1,2,3]`: learning on real third-party images
// (issue 10). Builds the two real sets with ../shared/realdata/build.sh when missing, into
// ${KODIAK_REALDATA:-<os tmp>/kodiak-realdata}, and prints one line per set on stdout:
//
//   quality: <set> accuracy <a> linear-probe <b>; flips precision <p> recall <r>; quality-flagged <q>; none-of-these out-of-domain <o> in-domain <i>
//
// - accuracy: the product's training (core/ml/train.ts trainModel) mean over 5 folds; the folds
//   are a hash of (set, image sha256), the product's split rule with 5 buckets; fold f trains
//   with seed 42 + f. linear-probe: a plain softmax head (core/ml/head.ts, hidden 0, its defaults)
//   on single-view features of the same backbone, same folds.
// - precision / recall: the cleaner's flagged label issues (core/clean/report.ts findSuspects,
//   kind labels, the product's defaults) on copies with 10% of labels moved to another class,
//   mean over 3 flip seeds.
// - quality-flagged: share of the clean set flagged by the quality checks (core/clean/quality.ts).
// - none-of-these: share refused (core/ml/novelty.ts with each fold's model) among all images of
//   the other set (out of domain) and among each fold's held-out images (in domain).
// Spread (min-max over folds and flip seeds) and timings go to stderr. Backbone: the ImageNet
// MobileNetV2-0.35 from test/fixtures/models, served on loopback; embeddings are cached in
// <realdata>/_bench, so a second run embeds nothing. IMAGE_VIEWS (default all four, as the
// product) sets the views of the product's training and of the cleaner.
//
// Measured 2026-12-02 on the 2-core machine, default views (spread over folds / flip seeds):
//   openclipart_food: accuracy 0.794 (0.698-0.854) linear-probe 0.753 (0.651-0.809); precision
//     0.562 (0.519-0.586) recall 0.681 (0.583-0.750) (F1 0.615); quality-flagged 0.034;
//     out-of-domain 0.705 (0.636-0.806), in-domain 0.076 (0.070-0.085); 100 s
//   tuxpaint_things: accuracy 0.873 (0.800-0.947) linear-probe 0.843 (0.794-0.895); precision
//     0.611 (0.500-0.733) recall 0.615 (0.462-0.846) (F1 0.613); quality-flagged 0.008;
//     out-of-domain 0.549 (0.426-0.667), in-domain 0.094 (0.087-0.105); 53 s
//   The steps there (same folds and seeds): accuracy with the original view only = the probe;
//   + mirror 0.758 / 0.876; all four views 0.794 / 0.873. Cleaner F1 single view (5 runs) 0.472
//   / 0.596; four views (5 runs) 0.536 / 0.623; + the 0.7 margin 0.608 / 0.630; with 2 runs (the
//   default for several views) 0.615 / 0.613. None of these with the old rule (distance or top
//   probability) 0.755 / 0.301.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findSuspects, type CleanItem } from '../core/clean/report.js';
import { headFitPredict } from '../core/clean/headFitPredict.js';
import { assessImages } from '../core/clean/quality.js';
import { initBackend } from '../core/ml/backend.js';
import { datasetFeatures, type DatasetFeatures } from '../core/ml/features.js';
import { loadHead, trainHead } from '../core/ml/head.js';
import { judgeNovelty, type Novelty } from '../core/ml/novelty.js';
import { averageViews, trainModel } from '../core/ml/train.js';
import type { TrainItem } from '../core/ml/types.js';
import { createRng } from '../core/random.js';
import { splitDraw } from '../core/store/split.js';
import { isView, VIEWS } from '../core/ml/views.js';
import { REPO_ROOT, startModelMirror } from '../test/fixtures/modelMirror.js';

const SETS = ['openclipart_food', 'tuxpaint_things'] as const;
const FLIP_RATE = 0.1;

interface RealSet {
  name: string;
  classes: string[];
  items: TrainItem[];
}

function realDataDir(): string {
  const dir = process.env.KODIAK_REALDATA ?? path.join(os.tmpdir(), 'kodiak-realdata');
  if (!SETS.every((s) => existsSync(path.join(dir, s)))) {
    process.stderr.write(`building the real sets into ${dir} (about a minute)\n`);
    execFileSync('bash', [path.join(REPO_ROOT, '../shared/realdata/build.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return dir;
}

function readSet(root: string, name: string): RealSet {
  const classes = readdirSync(path.join(root, name), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const items = classes.flatMap((label) =>
    readdirSync(path.join(root, name, label)).sort().map((file) => {
      const p = path.join(root, name, label, file);
      return { id: createHash('sha256').update(readFileSync(p)).digest('hex'), label, split: 'train' as const, path: p };
    }),
  );
  return { name, classes, items };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: number[]) => `${mean(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`;
const f3 = (x: number) => x.toFixed(3);

/** Row-major features of `ids` in view `view` (0: the original) from a features set. */
function featureRows(feats: DatasetFeatures, ids: string[], view = 0): Float32Array {
  const rows = new Map<string, Float32Array>();
  const v = feats.views[view]!;
  for (const s of [v.train, v.valid]) s.ids.forEach((id, i) => rows.set(id, s.X.subarray(i * feats.dim, (i + 1) * feats.dim)));
  const X = new Float32Array(ids.length * feats.dim);
  ids.forEach((id, i) => X.set(rows.get(id)!, i * feats.dim));
  return X;
}

/** Share refused, as the Predictor judges: the original view's features, probabilities averaged over every view. */
function refusedShare(novelty: Novelty | undefined, head: ReturnType<typeof loadHead>, views: Float32Array[], nClasses: number): number {
  if (!novelty) return NaN;
  const evidence = { proba: averageViews(...views.map((X) => head.predictProba(X))), logits: averageViews(...views.map((X) => head.predictLogits(X))) };
  const verdicts = judgeNovelty(novelty, views[0]!, evidence, nClasses);
  return verdicts.filter((v) => v.refused).length / verdicts.length;
}

function accuracyOf(proba: Float32Array, y: Int32Array, k: number): number {
  let right = 0;
  y.forEach((c, i) => {
    const row = proba.subarray(i * k, (i + 1) * k);
    if (row.indexOf(Math.max(...row)) === c) right++;
  });
  return right / y.length;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { folds: { type: 'string', default: '5' }, 'flip-seeds': { type: 'string', default: '1,2,3' } } });
  const nFolds = Number(values.folds);
  const views = (process.env.IMAGE_VIEWS?.split(',').filter(isView) ?? [...VIEWS]);
  const flipSeeds = values['flip-seeds']!.split(',').map(Number);
  const root = realDataDir();
  const dataDir = path.join(root, '_bench');
  const mirror = await startModelMirror();
  await initBackend('wasm');
  try {
    const sets = SETS.map((s) => readSet(root, s));
    const common = { dataDir, mirrorUrl: mirror.url, backend: 'wasm' as const, threads: 2, backbone: 'mobilenet_v2_035' };
    // Every image of both sets embedded once (cached), for the probe, the cleaner and "none of these".
    const feats = new Map<string, DatasetFeatures>();
    for (const s of sets) feats.set(s.name, await datasetFeatures(s.items, { ...common, classes: s.classes, views }));
    const allViews = (set: RealSet, ids: string[]) => feats.get(set.name)!.views.map((_, v) => featureRows(feats.get(set.name)!, ids, v));

    for (const s of sets) {
      const t0 = performance.now();
      const other = sets.find((o) => o !== s)!;
      const otherX = allViews(other, other.items.map((it) => it.id));
      const dim = feats.get(s.name)!.dim;
      const K = s.classes.length;
      const fold = new Map(s.items.map((it) => [it.id, Math.floor(splitDraw(s.name, it.id) * nFolds)]));
      const acc: number[] = [];
      const probe: number[] = [];
      const outDomain: number[] = [];
      const inDomain: number[] = [];
      for (let f = 0; f < nFolds; f++) {
        const items = s.items.map((it) => ({ ...it, split: fold.get(it.id) === f ? ('valid' as const) : ('train' as const) }));
        const r = await trainModel(items, { ...common, classes: s.classes, seed: 42 + f, views });
        acc.push(r.accuracy);
        const head = loadHead(r.head);
        const validIds = items.filter((it) => it.split === 'valid').map((it) => it.id);
        inDomain.push(refusedShare(r.novelty, head, allViews(s, validIds), K));
        outDomain.push(refusedShare(r.novelty, head, otherX, K));
        head.dispose();
        // The plain linear probe on the same folds.
        const trainIds = items.filter((it) => it.split === 'train').map((it) => it.id);
        const y = (ids: string[]) => Int32Array.from(ids, (id) => s.classes.indexOf(s.items.find((it) => it.id === id)!.label));
        const linear = await trainHead(featureRows(feats.get(s.name)!, trainIds), y(trainIds), { nClasses: K, dim, seed: 42 + f, hidden: 0 });
        probe.push(accuracyOf(linear.predictProba(featureRows(feats.get(s.name)!, validIds)), y(validIds), K));
        linear.dispose();
      }

      // The cleaner on copies with 10% of labels moved to another class.
      const [allX, ...moreViews] = allViews(s, s.items.map((it) => it.id));
      const precision: number[] = [];
      const recall: number[] = [];
      for (const seed of flipSeeds) {
        const rng = createRng(seed);
        const order = s.items.map((_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const flipped = new Set(order.slice(0, Math.round(FLIP_RATE * s.items.length)));
        const items: CleanItem[] = s.items.map((it, i) => {
          let label = it.label;
          if (flipped.has(i)) {
            const others = s.classes.filter((c) => c !== it.label);
            label = others[Math.floor(rng.next() * others.length)]!;
          }
          return { id: it.id, label, status: 'active', source: { kind: 'import', path: it.path }, phash: '0'.repeat(16) };
        });
        const report = await findSuspects({ items, embeddings: allX!, moreViews, classes: s.classes, kind: 'labels', fitPredict: headFitPredict(), seed: 42 });
        const flaggedIdx = new Set(report.suspects.filter((x) => x.kind === 'label').map((x) => s.items.findIndex((it) => it.id === x.id)));
        const hits = [...flaggedIdx].filter((i) => flipped.has(i)).length;
        precision.push(flaggedIdx.size ? hits / flaggedIdx.size : 0);
        recall.push(hits / flipped.size);
      }

      const quality = await assessImages(s.items.map((it) => it.id), async (id) => s.items.find((it) => it.id === id)!.path);
      const flaggedQuality = [...quality.values()].filter((q) => 'error' in q || q.issues.length > 0).length / s.items.length;

      const p = mean(precision);
      const rc = mean(recall);
      process.stderr.write(
        `${s.name}: ${s.items.length} images, ${K} classes, ${nFolds} folds, flip seeds ${flipSeeds.join(',')}; ` +
          `accuracy ${spread(acc)}, linear-probe ${spread(probe)}, precision ${spread(precision)}, recall ${spread(recall)}, ` +
          `F1 ${f3(p + rc ? (2 * p * rc) / (p + rc) : 0)}, out-of-domain ${spread(outDomain)}, in-domain ${spread(inDomain)}; ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
      );
      console.log(
        `quality: ${s.name} accuracy ${f3(mean(acc))} linear-probe ${f3(mean(probe))}; flips precision ${f3(p)} recall ${f3(rc)}; quality-flagged ${f3(flaggedQuality)}; none-of-these out-of-domain ${f3(mean(outDomain))} in-domain ${f3(mean(inDomain))}`,
      );
    }
  } finally {
    await mirror.close();
  }
}
