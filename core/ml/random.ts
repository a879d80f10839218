// Small seeded randomness, so every split, shuffle and initialisation is reproducible from a seed.
import { mulberry32 } from '../random.js';

/** Floats in [0, 1) from a seed: the project's one PRNG (mulberry32, core/random.ts). */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** Fisher-Yates shuffle in place with the given random source. */
export function shuffleInPlace<T>(items: T[] | Int32Array, random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
}

/** 0..n-1 in a seeded random order. */
export function permutation(n: number, random: () => number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  shuffleInPlace(idx, random);
  return idx;
}
