// The validation split, a pure function of (dataset name, image sha256).
//
// Each image gets a draw u in [0, 1) from sha256(name + "\n" + sha256); u < validPct holds it out
// for validation. Nothing else enters the draw, so the same images give the same split on any
// machine, in any order, and adding images never moves an existing one. With validPct = 0.2 each
// class gets about 20% of its images in validation (stratified in effect, by the law of large
// numbers rather than by counting).
//
// The one exception (`assignSplits`): a class of MIN_CLASS_FOR_VALID (5) or more active images
// none of which drew u < validPct (a chance of 0.8^n for n images: 33% at 5, 1% at 20) holds out
// its image with the lowest draw instead, so that every class of 5+ images is validated. That
// stand-in goes back to training when an image of the class draws u < validPct, or when an image
// with a lower draw arrives. No rule can avoid this: a rule under which adding images never moves
// one is a property of each image alone, and any such property that holds for ~20% of images
// leaves some sets of 5 images without it. We chose a rare, documented move over a class that
// accuracy and the cleaner cannot see.
import { createHash } from 'node:crypto';
import type { Split } from './types.js';

/** Classes with at least this many active images always have a validation image. */
export const MIN_CLASS_FOR_VALID = 5;

/** A uniform number in [0, 1) from (dataset name, sha256), stable across runs and machines. */
export function splitDraw(datasetName: string, sha256: string): number {
  const digest = createHash('sha256').update(`${datasetName}\n${sha256}`).digest();
  // 48 bits is plenty of resolution and stays an exact integer in a double.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** The split an image draws on its own (what the store records when the image is added). */
export function drawnSplit(datasetName: string, sha256: string, validPct: number): Split {
  return splitDraw(datasetName, sha256) < validPct ? 'valid' : 'train';
}

/**
 * The split of every image of a dataset: its own draw, plus the stand-in rule above for a class
 * of 5+ images that drew no validation image. Depends only on the set of (id, label) given, never
 * on their order.
 */
export function assignSplits(datasetName: string, items: readonly { id: string; label: string }[], validPct: number): Map<string, Split> {
  const out = new Map<string, Split>();
  const byClass = new Map<string, { id: string; u: number }[]>();
  for (const it of items) {
    const u = splitDraw(datasetName, it.id);
    out.set(it.id, u < validPct ? 'valid' : 'train');
    let members = byClass.get(it.label);
    if (!members) byClass.set(it.label, (members = []));
    members.push({ id: it.id, u });
  }
  for (const members of byClass.values()) {
    if (members.length < MIN_CLASS_FOR_VALID || members.some((m) => m.u < validPct)) continue;
    const lowest = members.reduce((a, b) => (b.u < a.u || (b.u === a.u && b.id < a.id) ? b : a));
    out.set(lowest.id, 'valid');
  }
  return out;
}
