// The cleaner's one entry point: runs the requested checks over a dataset's active images and
// returns one list of suspects, grouped by kind (label issues first) and ranked within each, plus
// a summary. Pure computation: the caller loads items (with the split training uses) and cached
// embeddings, and stores the report (decisions.ts) for the buttons to page through.
import { randomUUID } from 'node:crypto';
import type { DatasetItem, DatasetRef, Split } from '../store/types.js';
import type { CleanKind } from '../jobs.js';
import { defaultRepeats, findLabelIssues, inSampleProbabilities, outOfFoldProbabilities, topLosses, type FilterBy, type RankBy } from './confident.js';
import { describePair, findDuplicates, DEFAULT_COSINE_THRESHOLD, DEFAULT_HAMMING_THRESHOLD } from './duplicates.js';
import { describeOutlier, findOutliers } from './outliers.js';
import { assessImages } from './quality.js';
import { scanSimilarities } from './similarity.js';
import { multiViewFitPredict, sideBySide } from './multiView.js';
import type { CleanReport, CleanSummary, FitPredict, LabelView, Suspect, SuspectKind } from './types.js';

/**
 * `split` must be the one training uses: datasets.items() recomputes it (assignSplits, with its
 * stand-in rule), so it can differ from the draw stored with the item. Without it (the bench's
 * generated items) no pair can be told to straddle the split, and none is reported as a leak.
 */
export type CleanItem = Pick<DatasetItem, 'id' | 'label' | 'source' | 'status' | 'phash'> & { split?: Split };

export interface FindSuspectsInput {
  /** The dataset's items; trashed ones are ignored. */
  items: CleanItem[];
  /** Row-major embeddings aligned with `items` (items.length x dim). */
  embeddings: Float32Array;
  classes: string[];
  kind?: CleanKind;
  /**
   * More views of the same images (core/ml/views.ts), each aligned with `items` like
   * `embeddings` (the original view): the label model trains on all and averages over them.
   * Duplicates and outliers use the original view.
   */
  moreViews?: Float32Array[];
  /** Trains a head and predicts; needed for label issues (and sharpens outliers). */
  fitPredict?: FitPredict;
  seed?: number;
  /** k of the k-fold (default 5). */
  folds?: number;
  /** How many differently seeded k-fold runs are averaged (default: defaultRepeats of the views). */
  repeats?: number;
  /** Called after each head trained for out-of-fold probabilities (for progress messages). */
  onFold?: (done: number, total: number) => void;
  labelView?: LabelView;
  filterBy?: FilterBy;
  rankBy?: RankBy;
  /** See confident.ts MIN_MARGIN. */
  minMargin?: number;
  /** How many top-loss images the 'top-losses' view lists (default: 10% of the images, at least 10). */
  topLossCount?: number;
  /** Items a user kept, with the label they had: not flagged again while it is unchanged. */
  keptLabels?: Map<string, string>;
  /** Reads a stored image (a blob path or its bytes); needed for quality checks. */
  readImage?: (id: string) => Promise<string | Buffer>;
  cosineThreshold?: number;
  hammingThreshold?: number;
  outlierZ?: number;
  /** Nearest neighbours per image for the outlier distance (default 5). */
  neighbours?: number;
  dataset?: DatasetRef;
  reportId?: string;
  now?: number;
}

/**
 * The report lists the kinds in this order, each ranked by its own score. Label issues come first:
 * they are what the cleaner is for, and the scores of different kinds are not comparable (a
 * duplicate's 0.99 similarity is not "more suspect" than a label issue's 0.8).
 */
export const KIND_ORDER: readonly SuspectKind[] = ['label', 'leak', 'duplicate', 'outlier', 'quality'];

/** Kind (KIND_ORDER), then score (most suspect first), then ids: the same report in any run. */
export function compareSuspects(a: Suspect, b: Suspect): number {
  return (
    KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    b.score - a.score ||
    a.id.localeCompare(b.id) ||
    (a.pairWith?.id ?? '').localeCompare(b.pairWith?.id ?? '')
  );
}

export function sourceOf(item: Pick<DatasetItem, 'source'>): string {
  const s = item.source;
  return s.url ?? s.path ?? s.pageUrl ?? `(${s.kind})`;
}

function probsOf(probs: Float32Array | undefined, i: number, classes: string[]): Record<string, number> | undefined {
  if (!probs) return undefined;
  return Object.fromEntries(classes.map((c, j) => [c, Math.round(probs[i * classes.length + j]! * 1e4) / 1e4]));
}

const percent = (p: number) => `${Math.round(p * 100)}%`;

function wants(kind: CleanKind, what: CleanKind): boolean {
  return kind === 'all' || kind === what;
}

/** Runs the checks `kind` asks for and orders the suspects by compareSuspects: label issues first. */
export async function findSuspects(input: FindSuspectsInput): Promise<CleanReport> {
  const kind = input.kind ?? 'all';
  const seed = input.seed ?? 42;
  const classes = input.classes;
  const K = classes.length;
  if (kind === 'labels' && !input.fitPredict) throw new Error('findSuspects: label issues need a fitPredict');
  if (kind === 'quality' && !input.readImage) throw new Error('findSuspects: quality checks need readImage');
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const dim = input.items.length > 0 ? input.embeddings.length / input.items.length : 0;
  if (!Number.isInteger(dim)) throw new Error(`embeddings length ${input.embeddings.length} does not fit ${input.items.length} items`);
  for (const item of input.items) {
    if (!classIndex.has(item.label)) throw new Error(`item ${item.id} has label "${item.label}", which is not one of the classes`);
  }

  // Only active images take part; keep their rows of the embedding matrix.
  const active = input.items.map((item, i) => ({ item, row: i })).filter(({ item }) => item.status === 'active');
  const items = active.map((a) => a.item);
  const activeRows = (E: Float32Array) => {
    if (E.length !== input.embeddings.length) throw new Error('every view needs a row for every item');
    const out = new Float32Array(active.length * dim);
    active.forEach(({ row }, i) => out.set(E.subarray(row * dim, (row + 1) * dim), i * dim));
    return out;
  };
  const X = activeRows(input.embeddings);
  // What the label model sees: every view of an image side by side, kept together in the folds.
  const views = [X, ...(input.moreViews ?? []).map(activeRows)];
  const model = {
    X: views.length > 1 ? sideBySide(views, dim) : X,
    dim: views.length * dim,
    fitPredict: input.fitPredict && multiViewFitPredict(input.fitPredict, views.length),
  };
  const labels = Int32Array.from(items, (item) => classIndex.get(item.label)!);
  const n = items.length;

  const suspects: Suspect[] = [];
  const notes: string[] = [];
  const summary: CleanSummary = { nItems: n, counts: { label: 0, leak: 0, duplicate: 0, outlier: 0, quality: 0 }, noiseRate: {}, skippedKept: 0, notes };
  const base = (i: number) => ({ id: items[i]!.id, source: sourceOf(items[i]!), label: items[i]!.label });

  let oof: Float32Array | undefined;
  const needsModel = wants(kind, 'labels') || wants(kind, 'outliers');
  const classesPresent = new Set(labels).size;
  if (needsModel && model.fitPredict && n >= 4 && classesPresent >= 2 && input.labelView !== 'top-losses') {
    const r = await outOfFoldProbabilities({
      X: model.X, labels, nClasses: K, dim: model.dim, fitPredict: model.fitPredict, seed, folds: input.folds, repeats: input.repeats ?? defaultRepeats(views.length), onFold: input.onFold,
    });
    oof = r.probs;
    summary.folds = r.folds;
    summary.repeats = r.repeats;
    summary.outOfFoldAccuracy = labels.reduce((acc, l, i) => {
      const row = oof!.subarray(i * K, (i + 1) * K);
      return acc + (row.indexOf(Math.max(...row)) === l ? 1 : 0);
    }, 0) / n;
  } else if (needsModel && (n < 4 || classesPresent < 2)) {
    notes.push('label issues need at least 4 images in at least 2 classes');
  }

  if (kind === 'all' && !input.fitPredict) notes.push('label issues skipped: no head to train');
  if (kind === 'all' && !input.readImage) notes.push('quality checks skipped: the images were not available');

  if (wants(kind, 'labels') && input.fitPredict) {
    summary.labelView = input.labelView ?? 'confident';
    if (summary.labelView === 'top-losses' && n >= 2) {
      const inSample = await inSampleProbabilities({ X: model.X, labels, nClasses: K, dim: model.dim, fitPredict: model.fitPredict!, seed });
      const count = input.topLossCount ?? Math.max(10, Math.ceil(0.1 * n));
      for (const t of topLosses(inSample, labels, K).slice(0, count)) {
        const row = inSample.subarray(t.index * K, (t.index + 1) * K);
        const predicted = row.indexOf(Math.max(...row));
        suspects.push({
          ...base(t.index),
          suggested: classes[t.suggested],
          score: 1 - Math.exp(-t.loss),
          kind: 'label',
          reason: `labelled "${classes[labels[t.index]!]}"; top loss ${t.loss.toFixed(2)} (in-sample, as the lesson ranks them); the model says "${classes[predicted]}" (${percent(row[predicted]!)})`,
          probs: probsOf(inSample, t.index, classes),
          detail: { loss: t.loss, view: 'top-losses' },
        });
      }
      notes.push('top losses are in-sample: the model was trained on these very labels, so it has partly learnt the wrong ones');
    } else if (oof) {
      const cl = findLabelIssues(oof, labels, K, { filterBy: input.filterBy, rankBy: input.rankBy, minMargin: input.minMargin });
      classes.forEach((c, j) => (summary.noiseRate[c] = cl.noiseRate[j]!));
      summary.estimatedLabelErrors = cl.estimatedErrors;
      for (const issue of cl.issues) {
        const pGiven = oof[issue.index * K + issue.given]!;
        const pSuggested = oof[issue.index * K + issue.suggested]!;
        suspects.push({
          ...base(issue.index),
          suggested: classes[issue.suggested],
          score: 1 - issue.quality,
          kind: 'label',
          reason: `labelled "${classes[issue.given]}" (${percent(pGiven)}); looks like "${classes[issue.suggested]}" (${percent(pSuggested)}) to a model that never saw this image's label`,
          probs: probsOf(oof, issue.index, classes),
          detail: { selfConfidence: pGiven, threshold: cl.thresholds[issue.given]! },
        });
      }
    }
  }

  const wantsScan = (wants(kind, 'duplicates') || wants(kind, 'outliers')) && n >= 2 && dim > 0;
  const cosineThreshold = input.cosineThreshold ?? DEFAULT_COSINE_THRESHOLD;
  const scan = wantsScan ? scanSimilarities(X, dim, { k: Math.min(input.neighbours ?? 5, n - 1), pairThreshold: cosineThreshold }) : undefined;

  if (wants(kind, 'duplicates') && n >= 2) {
    const pairs = findDuplicates({
      labels,
      scan,
      phashes: items.map((item) => item.phash),
      hammingThreshold: input.hammingThreshold ?? DEFAULT_HAMMING_THRESHOLD,
    });
    for (const pair of pairs) {
      const splitA = items[pair.a]!.split;
      const splitB = items[pair.b]!.split;
      const crossSplit = splitA !== undefined && splitB !== undefined && splitA !== splitB;
      const kind: SuspectKind = crossSplit && !pair.crossClass ? 'leak' : 'duplicate';
      // A leak shows its training image on the left and its validation image on the right.
      const [first, second] = kind === 'leak' && splitA === 'valid' ? [pair.b, pair.a] : [pair.a, pair.b];
      suspects.push({
        ...base(first),
        kind,
        score: pair.score,
        reason: describePair(pair, items[first]!.label, items[second]!.label, crossSplit),
        pairWith: base(second),
        probs: probsOf(oof, first, classes),
        detail: {
          crossClass: pair.crossClass,
          ...(splitA !== undefined && splitB !== undefined ? { crossSplit } : {}),
          via: pair.via,
          ...(pair.similarity !== undefined ? { similarity: pair.similarity } : {}),
          ...(pair.hamming !== undefined ? { hamming: pair.hamming } : {}),
        },
      });
    }
  }

  if (wants(kind, 'outliers') && scan) {
    const found = findOutliers({ scan, probs: oof, nClasses: K, zThreshold: input.outlierZ });
    for (const o of found.outliers) {
      const row = oof?.subarray(o.index * K, (o.index + 1) * K);
      const best = row ? classes[row.indexOf(Math.max(...row))] : undefined;
      suspects.push({
        ...base(o.index),
        kind: 'outlier',
        score: o.score,
        reason: describeOutlier(o, scan.k, found.medianDistance, best),
        probs: probsOf(oof, o.index, classes),
        detail: { knnDistance: o.knnDistance, z: o.z, far: o.far, unsure: o.unsure },
      });
    }
  }

  if (wants(kind, 'quality') && input.readImage) {
    const assessed = await assessImages(items.map((i) => i.id), input.readImage);
    items.forEach((item, i) => {
      const a = assessed.get(item.id);
      if (!a) return;
      if ('error' in a) {
        suspects.push({ ...base(i), kind: 'quality', score: 1, reason: `cannot be read: ${a.error}`, detail: { issue: 'unreadable' } });
        return;
      }
      if (a.issues.length === 0) return;
      suspects.push({
        ...base(i),
        kind: 'quality',
        score: a.issues[0]!.score,
        reason: a.issues.map((q) => q.reason).join('; '),
        detail: { issue: a.issues[0]!.type, issues: a.issues.map((q) => q.type).join(','), ...a.stats },
      });
    });
  }

  const kept = input.keptLabels ?? new Map<string, string>();
  const isKept = (s: { id: string; label: string }) => kept.get(s.id) === s.label;
  const shown = suspects.filter((s) => {
    const skip = s.pairWith ? isKept(s) && isKept(s.pairWith) : isKept(s);
    if (skip) summary.skippedKept++;
    return !skip;
  });
  shown.sort(compareSuspects);
  for (const s of shown) summary.counts[s.kind]++;

  return {
    id: input.reportId ?? randomUUID(),
    ...(input.dataset ? { dataset: input.dataset } : {}),
    createdAt: input.now ?? Date.now(),
    kind,
    classes,
    suspects: shown,
    summary,
  };
}
