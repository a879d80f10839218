// Out-of-fold probabilities for confident learning: every row is predicted by a head that never
// saw it, trained on the other folds. Folds are stratified by label and seeded.
import { trainHead, type HeadOptions } from './head.js';
import { permutation, seededRandom } from './random.js';

/** Fold index (0..k-1) of every row: each class is dealt round-robin over the folds after a seeded shuffle. */
export function stratifiedFolds(y: Int32Array, k: number, seed: number): Int32Array {
  const fold = new Int32Array(y.length);
  const order = permutation(y.length, seededRandom(seed));
  const nextFold = new Map<number, number>();
  for (const row of order) {
    const label = y[row]!;
    const f = nextFold.get(label) ?? 0;
    fold[row] = f;
    nextFold.set(label, (f + 1) % k);
  }
  return fold;
}

function selectRows(X: Float32Array, dim: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(X.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

export interface OutOfFoldOptions extends Omit<HeadOptions, 'valid' | 'onEpoch'> {
  folds?: number;
  onFold?: (done: number, total: number) => void;
}

/** Row-major n x nClasses probabilities, each row from the head trained without its fold. */
export async function outOfFoldProba(X: Float32Array, y: Int32Array, opts: OutOfFoldOptions): Promise<Float32Array> {
  const { folds = 5, onFold, ...headOpts } = opts;
  const k = Math.max(2, Math.min(folds, y.length));
  const fold = stratifiedFolds(y, k, headOpts.seed ?? 42);
  const out = new Float32Array(y.length * opts.nClasses);
  for (let f = 0; f < k; f++) {
    const held: number[] = [];
    const kept: number[] = [];
    fold.forEach((fi, row) => (fi === f ? held : kept).push(row));
    if (held.length === 0 || kept.length === 0) continue;
    const head = await trainHead(selectRows(X, opts.dim, kept), Int32Array.from(kept, (r) => y[r]!), { ...headOpts, seed: (headOpts.seed ?? 42) + f });
    try {
      const p = head.predictProba(selectRows(X, opts.dim, held));
      held.forEach((row, i) => out.set(p.subarray(i * opts.nClasses, (i + 1) * opts.nClasses), row * opts.nClasses));
    } finally {
      head.dispose();
    }
    onFold?.(f + 1, k);
  }
  return out;
}
