// Image quality checks on the stored images (cleanvision's list, with sharp). Every image is
// decoded once, flattened onto white, turned to 8-bit luminance and resized to a fixed
// 256 x 256 ('fill'), so the statistics do not depend on the original size.
//
// | issue           | measure                                          | flagged when      | score 0.5 at threshold -> 1 at |
// | --------------- | ------------------------------------------------ | ----------------- | ------------------------------ |
// | tiny            | shorter side of the stored image, px             | < 100             | 0 px                           |
// | dark            | mean luminance, 0-255                            | < 35              | 0 (black)                      |
// | bright          | mean luminance, 0-255                            | > 225             | 255 (white)                    |
// | low-information | Shannon entropy of the 256-bin histogram, bits   | < 3 (max 8)       | 0 bits (one flat colour)       |
// | blurry          | variance of the 4-neighbour Laplacian at 256 px  | < 20              | 0 (no edges at all)            |
// | odd-aspect      | long side / short side                           | > 2.5             | 5                              |
//
// Why these: collection keeps images of at least ~128 px, so under 100 is well below anything a
// 224 px backbone can use; photos average 90-140 luminance and a mean under 35 is mostly black;
// a natural photo at 256 px has a histogram entropy of 6-7.5 bits and a Laplacian variance in
// the hundreds, so 3 bits (a few flat colours) and 20 (edges smeared over many pixels) leave
// ordinary low-contrast photos alone; a 2.5:1 aspect ratio is a banner or a strip, and the
// centre crop a 224 px model sees keeps less than half of it.
import sharp from 'sharp';
import pLimit from 'p-limit';

export type QualityIssueType = 'tiny' | 'dark' | 'bright' | 'low-information' | 'blurry' | 'odd-aspect';

export const QUALITY_THRESHOLDS = {
  minShortSide: 100,
  darkMean: 35,
  brightMean: 225,
  minEntropy: 3,
  minLaplacianVariance: 20,
  maxAspect: 2.5,
} as const;

const SIDE = 256;

export interface QualityStats {
  width: number;
  height: number;
  meanLuminance: number;
  stdLuminance: number;
  entropy: number;
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
  // Variance of the Laplacian (Pech-Pacheco et al.): edges give large responses, blur spreads them out.
  let lapSum = 0;
  let lapSq = 0;
  let count = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const lap = gray[i - 1]! + gray[i + 1]! + gray[i - width]! + gray[i + width]! - 4 * gray[i]!;
      lapSum += lap;
      lapSq += lap * lap;
      count++;
    }
  }
  const lapMean = count ? lapSum / count : 0;
  return {
    meanLuminance: mean,
    stdLuminance: Math.sqrt(sq / n),
    entropy,
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
  if (s.meanLuminance < t.darkMean) {
    issues.push({ type: 'dark', score: ramp(t.darkMean - s.meanLuminance, t.darkMean), reason: `very dark: mean brightness ${round(s.meanLuminance)} of 255` });
  }
  if (s.meanLuminance > t.brightMean) {
    issues.push({ type: 'bright', score: ramp(s.meanLuminance - t.brightMean, 255 - t.brightMean), reason: `very bright: mean brightness ${round(s.meanLuminance)} of 255` });
  }
  if (s.entropy < t.minEntropy) {
    issues.push({ type: 'low-information', score: ramp(t.minEntropy - s.entropy, t.minEntropy), reason: `almost no detail: ${round(s.entropy, 1)} bits of brightness entropy (photos have 6-7.5)` });
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
