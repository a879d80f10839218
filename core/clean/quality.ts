// Image quality checks on the stored images (cleanvision's list, with sharp). Every image is
// decoded once, flattened onto white, turned to 8-bit luminance and resized to a fixed
// 256 x 256 ('fill'), so the statistics do not depend on the original size.
//
// | issue           | measure                                                  | flagged when  | score 0.5 at threshold -> 1 at |
// | --------------- | -------------------------------------------------------- | ------------- | ------------------------------ |
// | tiny            | shorter side of the stored image, px                     | < 100         | 0 px                           |
// | dark            | 99th percentile of luminance, 0-255                      | < 40          | 0 (black)                      |
// | bright          | 1st percentile of luminance, 0-255                       | > 215         | 255 (white)                    |
// | low-information | share of pixels within 4 levels of the commonest one     | > 98%         | 100% (one flat colour)         |
// | blurry          | variance of the 4-neighbour Laplacian at 256 px, over    | < 20          | 0 (no edges at all)            |
// |                 | the pixels outside flat areas                            |               |                                |
// | odd-aspect      | long side / short side                                   | > 2.5         | 5                              |
//
// Why these: collection keeps images of at least ~128 px, so under 100 is well below anything a
// 224 px backbone can use. Brightness goes by percentiles, not the mean: a clean cut-out on a
// white background has a bright mean but dark pixels on its object; "dark" and "washed out" mean
// that hardly any pixel (1%) escapes. Detail is the share of one flat shade rather than the
// histogram's entropy, which is low for every flat-coloured clip art. Blur ignores flat areas
// (a white background or a flat fill has a Laplacian of 0 and says nothing about focus). Checked
// on the real sets of bench/quality.ts (366 clean clip-art images and photo cut-outs): their
// Laplacian variance outside flat areas is at least 39 (median 1,600-6,300), their largest flat
// share 0.99, and a 2.5:1 aspect ratio is a banner or a strip, and the centre crop a 224 px
// model sees keeps less than half of it.
import sharp from 'sharp';
import pLimit from 'p-limit';

export type QualityIssueType = 'tiny' | 'dark' | 'bright' | 'low-information' | 'blurry' | 'odd-aspect';

export const QUALITY_THRESHOLDS = {
  minShortSide: 100,
  /** Dark: 99% of pixels under this luminance. */
  darkP99: 40,
  /** Bright: 99% of pixels over this luminance. */
  brightP01: 215,
  maxDominantShare: 0.98,
  minLaplacianVariance: 20,
  maxAspect: 2.5,
} as const;

const SIDE = 256;

export interface QualityStats {
  width: number;
  height: number;
  meanLuminance: number;
  stdLuminance: number;
  /** Luminance that 1% of pixels are darker than, and that 1% are brighter than. */
  p01Luminance: number;
  p99Luminance: number;
  entropy: number;
  /** Share of pixels within 4 levels of the most common luminance (a flat background counts). */
  dominantShare: number;
  /** Variance of the Laplacian over the pixels that are not in a flat area. */
  laplacianVariance: number;
  aspect: number;
}

export interface QualityIssue {
  type: QualityIssueType;
  /** In [0, 1]: 0.5 at the threshold, 1 at the extreme. */
  score: number;
  reason: string;
}

export interface QualityAssessment {
  stats: QualityStats;
  issues: QualityIssue[];
}

/** Luminance statistics of an 8-bit grayscale raster. */
export function grayStats(gray: Uint8Array | Buffer, width: number, height: number): Omit<QualityStats, 'width' | 'height' | 'aspect'> {
  const hist = new Float64Array(256);
  let sum = 0;
  for (const v of gray) {
    hist[v]!++;
    sum += v;
  }
  const n = gray.length;
  const mean = sum / n;
  let sq = 0;
  for (const v of gray) sq += (v - mean) ** 2;
  let entropy = 0;
  for (const h of hist) if (h > 0) entropy -= (h / n) * Math.log2(h / n);
  const percentile = (q: number) => {
    let seen = 0;
    for (let v = 0; v < 256; v++) if ((seen += hist[v]!) >= q * n) return v;
    return 255;
  };
  const mode = hist.indexOf(Math.max(...hist));
  let nearMode = 0;
  for (let v = Math.max(0, mode - 4); v <= Math.min(255, mode + 4); v++) nearMode += hist[v]!;
  // Variance of the Laplacian (Pech-Pacheco et al.): edges give large responses, blur spreads them out.
  let lapSum = 0;
  let lapSq = 0;
  let count = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const g = gray[i]!;
      // A flat area (white background, a flat fill in clip art) says nothing about focus.
      if (gray[i - 1] === g && gray[i + 1] === g && gray[i - width] === g && gray[i + width] === g) continue;
      const lap = gray[i - 1]! + gray[i + 1]! + gray[i - width]! + gray[i + width]! - 4 * g;
      lapSum += lap;
      lapSq += lap * lap;
      count++;
    }
  }
  const lapMean = count ? lapSum / count : 0;
  return {
    meanLuminance: mean,
    stdLuminance: Math.sqrt(sq / n),
    p01Luminance: percentile(0.01),
    p99Luminance: percentile(0.99),
    entropy,
    dominantShare: n ? nearMode / n : 1,
    laplacianVariance: count ? lapSq / count - lapMean * lapMean : 0,
  };
}

const ramp = (distancePastThreshold: number, span: number) => Math.min(1, 0.5 + (0.5 * distancePastThreshold) / span);

/** Turns statistics into issues, using QUALITY_THRESHOLDS (see the table at the top). */
export function qualityIssues(s: QualityStats, t = QUALITY_THRESHOLDS): QualityIssue[] {
  const issues: QualityIssue[] = [];
  const short = Math.min(s.width, s.height);
  const round = (v: number, d = 0) => Math.round(v * 10 ** d) / 10 ** d;
  if (short < t.minShortSide) {
    issues.push({ type: 'tiny', score: ramp(t.minShortSide - short, t.minShortSide), reason: `very small: ${s.width} x ${s.height} px (under ${t.minShortSide} px)` });
  }
  if (s.p99Luminance < t.darkP99) {
    issues.push({ type: 'dark', score: ramp(t.darkP99 - s.p99Luminance, t.darkP99), reason: `very dark: 99% of the image is under brightness ${round(s.p99Luminance)} of 255` });
  }
  if (s.p01Luminance > t.brightP01) {
    issues.push({ type: 'bright', score: ramp(s.p01Luminance - t.brightP01, 255 - t.brightP01), reason: `washed out: 99% of the image is over brightness ${round(s.p01Luminance)} of 255` });
  }
  if (s.dominantShare > t.maxDominantShare) {
    issues.push({ type: 'low-information', score: ramp(s.dominantShare - t.maxDominantShare, 1 - t.maxDominantShare), reason: `almost no detail: ${round(s.dominantShare * 100)}% of the image is one flat shade` });
  }
  if (s.laplacianVariance < t.minLaplacianVariance) {
    issues.push({ type: 'blurry', score: ramp(t.minLaplacianVariance - s.laplacianVariance, t.minLaplacianVariance), reason: `blurry: edge sharpness ${round(s.laplacianVariance, 1)} (sharp photos have hundreds)` });
  }
  if (s.aspect > t.maxAspect) {
    issues.push({ type: 'odd-aspect', score: ramp(s.aspect - t.maxAspect, t.maxAspect), reason: `odd shape: ${round(s.aspect, 1)}:1 (a ${s.width} x ${s.height} strip)` });
  }
  return issues.sort((a, b) => b.score - a.score);
}

/** Decodes one image (a path or bytes) and assesses it. */
export async function assessImage(input: string | Buffer): Promise<QualityAssessment> {
  const meta = await sharp(input, { failOn: 'none' }).metadata();
  // EXIF orientations 5-8 swap width and height.
  const rotated = (meta.orientation ?? 1) >= 5;
  const width = (rotated ? meta.height : meta.width) ?? 0;
  const height = (rotated ? meta.width : meta.height) ?? 0;
  const { data, info } = await sharp(input, { failOn: 'none' })
    .rotate()
    .flatten({ background: '#ffffff' })
    .grayscale()
    .resize(SIDE, SIDE, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const stats: QualityStats = {
    width,
    height,
    aspect: Math.max(width, height) / Math.max(1, Math.min(width, height)),
    ...grayStats(data, info.width, info.height),
  };
  return { stats, issues: qualityIssues(stats) };
}

/**
 * Assesses many images, a few at a time (sharp uses its own threads; two at once keeps a
 * 2-core machine responsive). An image that cannot be read is reported with `error`.
 */
export async function assessImages(
  ids: string[],
  readImage: (id: string) => Promise<string | Buffer>,
  concurrency = 2,
): Promise<Map<string, QualityAssessment | { error: string }>> {
  const limit = pLimit(concurrency);
  const out = new Map<string, QualityAssessment | { error: string }>();
  await Promise.all(
    ids.map((id) =>
      limit(async () => {
        try {
          out.set(id, await assessImage(await readImage(id)));
        } catch (err) {
          out.set(id, { error: err instanceof Error ? err.message : String(err) });
        }
      }),
    ),
  );
  return out;
}
