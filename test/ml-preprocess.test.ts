import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MINUS_ONE_TO_ONE } from '../core/ml/backbones/registry.js';
import { augmentedRgb, decodeRgb, normalise } from '../core/ml/preprocess.js';
import { seededRandom } from '../core/ml/random.js';

/** 300x100: red | green | blue thirds, so the centre crop must be all green. */
async function thirds(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100"><rect width="100" height="100" fill="#f00"/><rect x="100" width="100" height="100" fill="#0f0"/><rect x="200" width="100" height="100" fill="#00f"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

const pixel = (rgb: Uint8Array, size: number, x: number, y: number) => Array.from(rgb.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

describe('preprocessing', () => {
  it('resizes the shorter side and centre-crops', async () => {
    const rgb = await decodeRgb(await thirds(), 32);
    expect(rgb.length).toBe(32 * 32 * 3);
    for (const [x, y] of [[0, 0], [31, 31], [16, 16]] as const) {
      const [r, g, b] = pixel(rgb, 32, x, y);
      expect(g).toBeGreaterThan(200);
      expect(r! + b!).toBeLessThan(40);
    }
  });

  it('flattens transparency on white and turns grey into three channels', async () => {
    const transparent = await sharp({ create: { width: 20, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    expect(pixel(await decodeRgb(transparent, 8), 8, 4, 4)).toEqual([255, 255, 255]);
    const grey = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#808080' } }).toColourspace('b-w').png().toBuffer();
    const g = await decodeRgb(grey, 8);
    expect(g.length).toBe(8 * 8 * 3);
  });

  it('refuses what is not an image, and images over the pixel cap', async () => {
    await expect(decodeRgb(Buffer.from('plain text'), 8)).rejects.toThrow();
    await expect(decodeRgb(await thirds(), 8, { maxPixels: 1000 })).rejects.toThrow(/pixel limit/i);
  });

  it('augments with seeded random crops and flips', async () => {
    const image = await thirds();
    const a = await augmentedRgb(image, 16, seededRandom(1));
    const b = await augmentedRgb(image, 16, seededRandom(1));
    expect(Array.from(a)).toEqual(Array.from(b));
    const variants = new Set<string>();
    const random = seededRandom(2);
    for (let i = 0; i < 8; i++) variants.add(Buffer.from(await augmentedRgb(image, 16, random, { minScale: 0.5 })).toString('base64'));
    expect(variants.size).toBeGreaterThan(1);
  });

  it('normalises to [-1, 1]', () => {
    const [lo, hi, mid] = normalise(Uint8Array.from([0, 255, 128]), MINUS_ONE_TO_ONE);
    expect(lo).toBeCloseTo(-1, 6);
    expect(hi).toBeCloseTo(1, 6);
    expect(mid).toBeCloseTo(0.5 / 127.5, 6);
  });
});
