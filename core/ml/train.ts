// trainModel: the whole "train" job in core. Stages: backbone (download once) -> embedding n/N
// (cached, worker threads) -> head epochs (one-cycle) -> evaluation on the validation split
// -> optional fine-tuning of the backbone where the backend has the backward kernels.
import { UserError } from '../errors.js';
import { loadBackbone } from './backbones/index.js';
import type { BackendChoice } from './backend.js';
import { curvesOf, evaluate, type Curves, type Evaluation } from './evaluate.js';
import { datasetFeatures } from './features.js';
import { fineTuneBackbone, fineTuneUnavailable, type FineTuneResult } from './finetune.js';
import { HEAD_DEFAULTS, lrFind, trainHead, type EpochStats, type HeadJSON, type LrFindResult } from './head.js';
import { calibrateNovelty, type Novelty } from './novelty.js';
import type { Preprocessing, TrainItem, TrainStage } from './types.js';
import type { View } from './views.js';

export interface TrainModelOptions {
  dataDir: string;
  classes: string[];
  backbone?: string;
  /** See FeatureOptions.backboneNamed. */
  backboneNamed?: boolean;
  mirrorUrl?: string;
  backboneSha256?: string;
  backend?: BackendChoice;
  threads?: number;
  epochs?: number;
  /** Peak learning rate; 'find' runs the learning-rate finder first and uses its suggestion. */
  lr?: number | 'find';
  seed?: number;
  hidden?: number;
  dropout?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  batchSize?: number;
  /**
   * Views to embed each image in (views.ts): the head trains on all of them and its probabilities
   * are averaged over them. Each view is an embedding of every image (cached like the first).
   * Default: the original only; VIEWS sets it for trainDataset.
   */
  views?: readonly View[];
  /** Unfreeze and fine-tune the backbone after the head (TensorFlow backends only). */
  fineTune?: boolean | { epochs?: number; lr?: number };
  maxPixels?: number;
  signal?: AbortSignal;
  onProgress?: (stage: TrainStage, done: number, total: number, epoch?: EpochStats) => void;
}

export interface TrainModelResult extends Omit<Evaluation, 'n'> {
  classes: string[];
  backbone: string;
  backboneNote?: string;
  backend: string;
  nTrain: number;
  nValid: number;
  seconds: number;
  /** What happened to fine-tuning when asked for: "done: ..." or "skipped: <why>". */
  fineTune?: string;
  /** Fine-tuned backbone files to save with the model (only when fine-tuning ran). */
  backboneArtifacts?: FineTuneResult['backboneArtifacts'];
  history: EpochStats[];
  curves: Curves;
  head: HeadJSON;
  lr: number;
  epochs: number;
  seed: number;
  preprocessing: Preprocessing;
  lrFinder?: LrFindResult;
  skipped: { id: string; reason: string }[];
  embedding: { cached: number; computed: number };
  /** "None of these" calibration (novelty.ts); absent after fine-tuning, whose features differ. */
  novelty?: Novelty;
}

function concat<T extends Float32Array | Int32Array>(a: T, b: T): T {
  const out = new (a.constructor as { new (n: number): T })(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The mean of several views' probabilities, element by element. */
export function averageViews(...views: Float32Array[]): Float32Array {
  const out = new Float32Array(views[0]!.length);
  for (const p of views) for (let i = 0; i < out.length; i++) out[i]! += p[i]! / views.length;
  return out;
}

/** Every view's rows of a split, one after another (each image is one row per view). */
function allViewRows(sets: { X: Float32Array; y: Int32Array; ids: string[] }[]) {
  return sets.slice(1).reduce((acc, s) => ({ X: concat(acc.X, s.X), y: concat(acc.y, s.y), ids: [...acc.ids, ...s.ids] }), sets[0]!);
}

export async function trainModel(items: TrainItem[], opts: TrainModelOptions): Promise<TrainModelResult> {
  const started = performance.now();
  const { classes, signal } = opts;
  if (classes.length < 2) throw new UserError('training needs at least two classes');
  const feats = await datasetFeatures(items, { ...opts, onProgress: (stage, done, total) => opts.onProgress?.(stage, done, total) });
  const { valid, dim } = feats;
  // Every view of every training image is a training row.
  const train = allViewRows(feats.views.map((v) => v.train));
  const present = new Set(train.y);
  if (present.size < 2) throw new UserError('training needs images of at least two classes in the training split');
  if (valid.y.length === 0) throw new UserError('the validation split is empty: add more images (20% of each class is held out)');

  const seed = opts.seed ?? HEAD_DEFAULTS.seed;
  const epochs = opts.epochs ?? HEAD_DEFAULTS.epochs;
  const headOpts = {
    nClasses: classes.length, dim, seed, hidden: opts.hidden, dropout: opts.dropout,
    weightDecay: opts.weightDecay, labelSmoothing: opts.labelSmoothing, batchSize: opts.batchSize, signal,
  };
  let lrFinder: LrFindResult | undefined;
  let lr = typeof opts.lr === 'number' ? opts.lr : HEAD_DEFAULTS.lr;
  if (opts.lr === 'find') {
    lrFinder = await lrFind(train.X, train.y, headOpts);
    lr = lrFinder.suggested;
  }
  opts.onProgress?.('training', 0, epochs);
  const head = await trainHead(train.X, train.y, {
    ...headOpts, epochs, lr, valid,
    onEpoch: (e) => opts.onProgress?.('training', e.epoch, e.epochs, e),
  });
  try {
    let headJson = head.toJSON();
    let history = head.history;
    opts.onProgress?.('evaluation', 0, 1);
    let proba = averageViews(...feats.views.map((v) => head.predictProba(v.valid.X)));
    let preprocessing = feats.preprocessing;

    let fineTune: string | undefined;
    let backboneArtifacts: FineTuneResult['backboneArtifacts'] | undefined;
    if (opts.fineTune) {
      const why = fineTuneUnavailable(feats.backend);
      if (why) fineTune = `skipped: ${why}`;
      else {
        const ft = typeof opts.fineTune === 'object' ? opts.fineTune : {};
        const backbone = await loadBackbone(feats.source);
        try {
          if (!backbone.featureModel) fineTune = `skipped: ${feats.source.spec.id} is a graph model, which cannot be trained`;
          else {
            const byId = new Map(items.map((it) => [it.id, it]));
            const r = await fineTuneBackbone({
              backbone, head: headJson, classes, seed, signal,
              train: feats.train.ids.map((id, i) => ({ path: byId.get(id)!.path, y: feats.train.y[i]! })),
              valid: valid.ids.map((id, i) => ({ path: byId.get(id)!.path, y: valid.y[i]! })),
              epochs: ft.epochs ?? 3, lr: ft.lr ?? lr / 10,
              onEpoch: (e) => opts.onProgress?.('fine-tuning', e.epoch, e.epochs, e),
            });
            headJson = r.head;
            history = [...history, ...r.history];
            proba = r.validProba;
            backboneArtifacts = r.backboneArtifacts;
            // The tuned backbone and head are scored on the original view only.
            preprocessing = { ...preprocessing, views: undefined };
            fineTune = `done: ${r.history.length} epochs, discriminative learning rates ${r.lrs.map((x) => x.toExponential(1)).join(' / ')}`;
          }
        } finally {
          backbone.dispose();
        }
      }
    }
    const ev = evaluate(proba, valid.y, classes);
    const validLogits = averageViews(...feats.views.map((v) => head.predictLogits(v.valid.X)));
    const novelty = backboneArtifacts ? undefined : calibrateNovelty(feats.train.X, valid.X, validLogits, dim, classes.length);
    opts.onProgress?.('evaluation', 1, 1);
    const { n: _n, ...metrics } = ev;
    return {
      ...metrics,
      classes,
      backbone: feats.source.spec.id,
      backboneNote: feats.backboneNote,
      backend: feats.backend.name,
      nTrain: feats.train.y.length,
      nValid: valid.y.length,
      seconds: (performance.now() - started) / 1000,
      fineTune,
      backboneArtifacts,
      history,
      curves: curvesOf(history),
      head: headJson,
      lr,
      epochs,
      seed,
      preprocessing,
      lrFinder,
      skipped: feats.skipped,
      embedding: feats.embedding,
      novelty,
    };
  } finally {
    head.dispose();
  }
}
