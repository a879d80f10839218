// Perceptual hash (pHash): the signs of the lowest 8x8 DCT frequencies of a 32x32 grayscale
// thumbnail, against their median. Resizing, re-encoding and small edits move few bits, so a
// Hamming distance <= 4 means "the same picture".
const N = 32;
const K = 8;

// cos((2x + 1) u pi / 2N) for the K lowest frequencies u, precomputed once.
const COS: Float64Array = (() => {
  const t = new Float64Array(K * N);
  for (let u = 0; u < K; u++) for (let x = 0; x < N; x++) t[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  return t;
})();

/** The 64-bit pHash of a 32x32 grayscale image (1024 bytes, row-major) as 16 hex characters. */
export function phashFromGray32(gray: Uint8Array): string {
  if (gray.length !== N * N) throw new Error(`phash wants ${N}x${N} grayscale pixels, got ${gray.length} bytes`);
  // Separable DCT: rows first (only K output frequencies), then columns.
  const rows = new Float64Array(N * K);
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < K; u++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += gray[y * N + x]! * COS[u * N + x]!;
      rows[y * K + u] = s;
    }
  }
  const coeffs = new Float64Array(K * K);
  for (let v = 0; v < K; v++) {
    for (let u = 0; u < K; u++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += rows[y * K + u]! * COS[v * N + y]!;
      coeffs[v * K + u] = s;
    }
  }
  // The DC term only says how bright the image is: leave it out of the median.
  const median = [...coeffs.subarray(1)].sort((a, b) => a - b)[(K * K - 1) >> 1]!;
  let hex = '';
  for (let nibble = 0; nibble < 16; nibble++) {
    let v = 0;
    for (let b = 0; b < 4; b++) v = (v << 1) | (coeffs[nibble * 4 + b]! > median ? 1 : 0);
    hex += v.toString(16);
  }
  return hex;
}

export function hammingDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}
