import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { createRng } from '../core/random.js';
import { assessImage, assessImages, grayStats, qualityIssues, QUALITY_THRESHOLDS } from '../core/clean/quality.js';

/** An RGB JPEG of random texture with values in [lo, hi]. */
async function noiseJpeg(width: number, height: number, lo = 0, hi = 255, seed = 1): Promise<Buffer> {
  const rng = createRng(seed);
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = lo + rng.int(hi - lo + 1);
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** Big dark and light squares over a gradient: contrast and many grey levels, so only blur hides the edges. */
async function checkerboard(width: number, height: number, cell: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const square = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? 120 : 0;
      raw[y * width + x] = square + Math.round(((x + y) / (width + height)) * 130);
    }
  return sharp(raw, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

const types = (a: { issues: { type: string }[] }) => a.issues.map((i) => i.type);

describe('image quality', () => {
  it('passes an ordinary, detailed image', async () => {
    const a = await assessImage(await noiseJpeg(320, 240));
    expect(a.issues).toEqual([]);
    expect(a.stats).toMatchObject({ width: 320, height: 240 });
    expect(a.stats.meanLuminance).toBeGreaterThan(100);
    expect(a.stats.entropy).toBeGreaterThan(6);
  });

  it('flags a dark image', async () => {
    const a = await assessImage(await noiseJpeg(320, 240, 0, 25, 2));
    expect(types(a)).toContain('dark');
    expect(a.issues.find((i) => i.type === 'dark')!.reason).toMatch(/very dark: 99% of the image is under brightness \d+ of 255/);
  });

  it('leaves a sharp cut-out on a white background and a flat-coloured clip art alone', async () => {
    // A dark, detailed object on three quarters of white: a bright mean, a low histogram entropy.
    const object = await sharp(await noiseJpeg(100, 100, 0, 200, 5)).toBuffer();
    const cutout = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#ffffff' } }).composite([{ input: object, left: 78, top: 78 }]).png().toBuffer();
    const a = await assessImage(cutout);
    expect(a.stats.meanLuminance).toBeGreaterThan(225);
    expect(a.issues).toEqual([]);
    // Clip art: a few flat fills with crisp edges.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="#fff"/><circle cx="128" cy="140" r="70" fill="#d22"/><rect x="122" y="50" width="12" height="30" fill="#552"/><ellipse cx="150" cy="60" rx="22" ry="10" fill="#2a2"/></svg>`;
    const clipArt = await assessImage(await sharp(Buffer.from(svg)).png().toBuffer());
    expect(clipArt.stats.entropy).toBeLessThan(3);
    expect(clipArt.issues).toEqual([]);
  });

  it('flags a blurry image but not the same image sharp', async () => {
    const sharpBoard = await checkerboard(320, 320, 40);
    expect(types(await assessImage(sharpBoard))).toEqual([]);
    const blurred = await sharp(sharpBoard).blur(12).png().toBuffer();
    const a = await assessImage(blurred);
    expect(types(a)).toContain('blurry');
    expect(a.stats.laplacianVariance).toBeLessThan(QUALITY_THRESHOLDS.minLaplacianVariance);
  });

  it('flags a tiny image and an odd aspect ratio, with scores that grow past the threshold', async () => {
    const tiny = await assessImage(await noiseJpeg(40, 30, 0, 255, 3));
    expect(types(tiny)).toContain('tiny');
    expect(tiny.issues.find((i) => i.type === 'tiny')!.score).toBeCloseTo(0.5 + 0.5 * (70 / 100));
    const strip = await assessImage(await noiseJpeg(800, 200, 0, 255, 4));
    expect(types(strip)).toEqual(['odd-aspect']);
  });

  it('flags flat, low-information and very bright images from their statistics', () => {
    const flat = Buffer.alloc(64 * 64, 250);
    const stats = { width: 300, height: 300, aspect: 1, ...grayStats(flat, 64, 64) };
    expect(stats.entropy).toBe(0);
    expect(qualityIssues(stats).map((i) => i.type).sort()).toEqual(['blurry', 'bright', 'low-information']);
  });

  it('reports unreadable images instead of failing the batch', async () => {
    const good = await noiseJpeg(200, 200);
    const out = await assessImages(['good', 'bad'], async (id) => (id === 'good' ? good : Buffer.from('not an image')));
    expect(out.get('good')).toMatchObject({ issues: [] });
    expect(out.get('bad')).toHaveProperty('error');
  });
});
