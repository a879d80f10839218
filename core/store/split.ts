// The validation split. Each image gets a number u in [0, 1) from a hash of (seed, sha256), so
// the assignment depends only on the image, never on which other images exist: adding images
// never moves earlier ones between train and valid. u < validPct puts it in valid, except
// that the store nudges the choice to keep each class within one image of validPct
// (see `decideSplit`), which stratifies small classes too.
import { createHash } from 'node:crypto';
import type { Split } from './types.js';

/** A uniform number in [0, 1) from (seed, sha256), stable across runs and machines. */
export function splitDraw(seed: number, sha256: string): number {
  const digest = createHash('sha256').update(`${seed}:${sha256}`).digest();
  // 48 bits is plenty of resolution and stays an exact integer in a double.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The split for a new image of a class that has `nValid` of `nTotal` active images in valid.
 * Follows the hash draw unless that would leave the class a whole image away from
 * validPct * (nTotal + 1). Keeping |valid - validPct * n| < 1 at every step is the
 * stratification. The Lua script in datasets.ts implements exactly this rule atomically.
 */
export function decideSplit(u: number, validPct: number, nValid: number, nTotal: number): Split {
  const target = validPct * (nTotal + 1);
  if (u < validPct) return nValid + 1 - target >= 1 ? 'train' : 'valid';
  return target - nValid >= 1 ? 'valid' : 'train';
}
