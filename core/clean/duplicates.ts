// Near-duplicates, two ways: embeddings that point the same way (the lesson's "most similar
// pairs", which also catches crops and re-encodes) and perceptual hashes that differ in few bits
// (collection's 64-bit pHash, which catches resizes and recompressions). Pairs across classes
// are the same picture under two labels: a label issue, so they are marked. A pair of one class
// with an image on each side of the validation split is a leak (types.ts), and says so.
import type { SimilarityScan } from './similarity.js';

/** Cosine similarity at or above which two embeddings count as the same picture. */
export const DEFAULT_COSINE_THRESHOLD = 0.95;
/** pHash Hamming distance (of 64 bits) at or below which two images count as the same picture. */
export const DEFAULT_HAMMING_THRESHOLD = 6;

export interface DuplicatePair {
  a: number;
  b: number;
  /** Cosine similarity of the embeddings, when both are known. */
  similarity?: number;
  /** pHash Hamming distance, when both hashes are known. */
  hamming?: number;
  via: 'embedding' | 'phash' | 'both';
  crossClass: boolean;
  /** In [0, 1], higher = more surely the same picture; the sort key. */
  score: number;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Splits a 16-hex-digit hash into two 32-bit halves; undefined when it is not one. */
export function parsePhash(hex: string | undefined): [number, number] | undefined {
  if (!hex || !/^[0-9a-f]{16}$/i.test(hex)) return undefined;
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8), 16) >>> 0];
}

export function hammingDistance(a: [number, number], b: [number, number]): number {
  return popcount32((a[0] ^ b[0]) >>> 0) + popcount32((a[1] ^ b[1]) >>> 0);
}

/** All pairs of images whose pHashes differ in at most `maxDistance` bits (images without a hash are skipped). */
export function phashPairs(hashes: (string | undefined)[], maxDistance = DEFAULT_HAMMING_THRESHOLD): { a: number; b: number; hamming: number }[] {
  const parsed = hashes.map(parsePhash);
  const pairs: { a: number; b: number; hamming: number }[] = [];
  for (let a = 0; a < parsed.length; a++) {
    const ha = parsed[a];
    if (!ha) continue;
    for (let b = a + 1; b < parsed.length; b++) {
      const hb = parsed[b];
      if (!hb) continue;
      const d = hammingDistance(ha, hb);
      if (d <= maxDistance) pairs.push({ a, b, hamming: d });
    }
  }
  return pairs;
}

/**
 * Merges embedding pairs (from a similarity scan) and pHash pairs into one list, most similar
 * first. The score is the cosine similarity when known, else 1 - hamming/64; a pair found both
 * ways gets the larger of the two.
 */
export function findDuplicates(input: {
  labels: ArrayLike<number>;
  scan?: SimilarityScan;
  phashes?: (string | undefined)[];
  hammingThreshold?: number;
}): DuplicatePair[] {
  const byKey = new Map<string, DuplicatePair>();
  const key = (a: number, b: number) => `${Math.min(a, b)}:${Math.max(a, b)}`;
  const crossClass = (a: number, b: number) => input.labels[a] !== input.labels[b];
  for (const p of input.scan?.pairs ?? []) {
    const similarity = Math.min(1, p.similarity);
    byKey.set(key(p.a, p.b), { a: p.a, b: p.b, similarity, via: 'embedding', crossClass: crossClass(p.a, p.b), score: similarity });
  }
  if (input.phashes) {
    for (const p of phashPairs(input.phashes, input.hammingThreshold)) {
      const hashScore = 1 - p.hamming / 64;
      const existing = byKey.get(key(p.a, p.b));
      if (existing) {
        existing.hamming = p.hamming;
        existing.via = 'both';
        existing.score = Math.max(existing.score, hashScore);
      } else {
        byKey.set(key(p.a, p.b), { a: p.a, b: p.b, hamming: p.hamming, via: 'phash', crossClass: crossClass(p.a, p.b), score: hashScore });
      }
    }
  }
  return [...byKey.values()].sort((p, q) => q.score - p.score || p.a - q.a || p.b - q.b);
}

/**
 * "near-duplicate: 94% similar embeddings and perceptual hashes 2 bits apart; both labelled X";
 * `crossSplit` (one image in training, the other in validation) turns a same-class pair into the
 * leak sentence, and is noted on a cross-class pair.
 */
export function describePair(pair: DuplicatePair, labelA: string, labelB: string, crossSplit = false): string {
  const how: string[] = [];
  if (pair.similarity !== undefined) how.push(`${Math.round(pair.similarity * 1000) / 10}% similar embeddings`);
  if (pair.hamming !== undefined) how.push(`perceptual hashes ${pair.hamming} bit${pair.hamming === 1 ? '' : 's'} apart`);
  if (crossSplit && !pair.crossClass) {
    return `the same picture is in training and validation: it inflates the accuracy (${how.join(' and ')}; both labelled "${labelA}")`;
  }
  const labels = pair.crossClass
    ? `the same picture labelled both "${labelA}" and "${labelB}" (a label issue)`
    : `both labelled "${labelA}"`;
  return `near-duplicate: ${how.join(' and ')}; ${labels}${crossSplit ? '; one in training, one in validation' : ''}`;
}
