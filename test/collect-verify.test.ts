import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { gray32, hammingDistance, phashFromGray32 } from '../core/collect/phash.js';
import { RejectError } from '../core/collect/reasons.js';
import { normaliseImage } from '../core/collect/verify.js';
import * as images from './fakes/imagehost/images.js';

const opts = { maxSize: 500, maxPixels: 50_000_000 };

async function rejected(bytes: Uint8Array): Promise<string> {
  const err = await normaliseImage(bytes, opts).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RejectError);
  return (err as RejectError).reason;
}

async function channelsOf(jpeg: Buffer) {
  const m = await sharp(jpeg).metadata();
  return { format: m.format, channels: m.channels, space: m.space, exif: m.exif, icc: m.icc, width: m.width, height: m.height };
}

describe('normaliseImage', () => {
  it('shrinks to MAX_IMAGE_SIZE and re-encodes as a metadata-free sRGB JPEG', async () => {
    const big = await images.makeJpeg(1, { width: 1200, height: 800, grain: 5 });
    const out = await normaliseImage(big, opts);
    expect([out.width, out.height]).toEqual([500, 333]);
    expect(await channelsOf(out.jpeg)).toMatchObject({ format: 'jpeg', channels: 3, space: 'srgb', exif: undefined });
    expect(out.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out.phash).toMatch(/^[0-9a-f]{16}$/);
    // Deterministic: the same input gives the same identity.
    expect((await normaliseImage(big, opts)).sha256).toBe(out.sha256);
  });

  it('converts CMYK and grayscale JPEGs to 3-channel sRGB', async () => {
    for (const bytes of [await images.makeCmykJpeg(2), await images.makeGrayJpeg(3)]) {
      const out = await normaliseImage(bytes, opts);
      expect(await channelsOf(out.jpeg)).toMatchObject({ channels: 3, space: 'srgb' });
    }
  });

  it('flattens transparency on white', async () => {
    const out = await normaliseImage(await images.makeRgbaPng(4), opts);
    const { data } = await sharp(out.jpeg).raw().toBuffer({ resolveWithObject: true });
    // Top-left pixel was fully transparent.
    expect([...data.subarray(0, 3)].every((v) => v > 245)).toBe(true);
    expect((await channelsOf(out.jpeg)).channels).toBe(3);
  });

  it('applies EXIF rotation', async () => {
    const out = await normaliseImage(await images.makeExifRotatedJpeg(5), opts);
    expect([out.width, out.height]).toEqual([200, 300]);
    expect((await sharp(out.jpeg).metadata()).orientation).toBeUndefined();
  });

  it('keeps the first frame of an animated GIF', async () => {
    const gif = await images.makeAnimatedGif(6);
    const out = await normaliseImage(gif, opts);
    expect([out.width, out.height]).toEqual([120, 100]);
    expect((await sharp(out.jpeg).metadata()).pages).toBeUndefined();
  });

  it('refuses what is not a usable image, each with its reason', async () => {
    expect(await rejected(images.HTML_PAGE)).toBe('not-an-image');
    expect(await rejected(images.SVG_IMAGE)).toBe('svg');
    expect(await rejected(images.makeHugePngHeader())).toBe('too-many-pixels');
    expect(await rejected(await images.makeCorruptJpeg(7))).toBe('corrupt');
    expect(await rejected(await images.makeJpeg(8, { width: 40, height: 300 }))).toBe('too-small');
    expect(await rejected(Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj'))).toBe('not-an-image');
    // Long and thin: the minimum side is checked on the stored image (50000x1000 -> 500x10).
    const strip = await sharp({ create: { width: 50_000, height: 1000, channels: 3, background: '#8a6' } }).png({ compressionLevel: 1 }).toBuffer();
    expect(await rejected(strip)).toBe('too-small');
    // A progressive JPEG is decoded whole: 5000x4000 would cost 60 MB; the baseline one is fine.
    const flat = sharp({ create: { width: 5000, height: 4000, channels: 3, background: '#468' } });
    expect(await rejected(await flat.clone().jpeg({ progressive: true }).toBuffer())).toBe('too-many-pixels');
    expect((await normaliseImage(await flat.clone().jpeg().toBuffer(), opts)).width).toBe(500);
    const jpeg = await images.makeJpeg(9, { grain: 20 });
    expect(await rejected(jpeg.subarray(0, Math.floor(jpeg.length / 3)))).toBe('corrupt');
  });
});

describe('perceptual hash', () => {
  it('matches the same picture across formats and sizes, and tells pictures apart', async () => {
    const a = await normaliseImage(await images.makeJpeg(10, { width: 640, height: 480 }), opts);
    const aPng = await normaliseImage(await images.makePng(10), opts);
    const b = await normaliseImage(await images.makeJpeg(11), opts);
    expect(a.sha256).not.toBe(aPng.sha256);
    expect(hammingDistance(a.phash, aPng.phash)).toBeLessThanOrEqual(4);
    expect(hammingDistance(a.phash, b.phash)).toBeGreaterThan(10);
  });

  it('is computed from a 32x32 grayscale image', () => {
    const flat = new Uint8Array(1024).fill(128);
    expect(phashFromGray32(flat)).toMatch(/^[0-9a-f]{16}$/);
    expect(() => phashFromGray32(new Uint8Array(10))).toThrow();
    expect(hammingDistance('ffffffffffffffff', '0000000000000000')).toBe(64);
  });

  it('takes its 32x32 thumbnail as box means, the same at any size and for tiny images', async () => {
    const photo = await sharp(await images.makeJpeg(12, { width: 640, height: 480 })).raw().toBuffer({ resolveWithObject: true });
    const half = await sharp(photo.data, { raw: { width: 640, height: 480, channels: 3 } }).resize(320, 240).raw().toBuffer();
    const big = gray32(photo.data, 640, 480, 3);
    const small = gray32(half, 320, 240, 3);
    const worst = Math.max(...big.map((v, i) => Math.abs(v - small[i]!)));
    expect(worst).toBeLessThanOrEqual(6);
    expect(hammingDistance(phashFromGray32(big), phashFromGray32(small))).toBeLessThanOrEqual(2);
    // Fewer than 32 pixels a side: every box still gets a pixel.
    expect(new Set(gray32(new Uint8Array(10 * 7).fill(7), 10, 7, 1))).toEqual(new Set([7]));
    const ramp = new Uint8Array(64 * 64 * 3).map((_, i) => Math.floor(i / 3) % 64 * 4);
    const row = [...gray32(ramp, 64, 64, 3).subarray(0, 32)];
    expect(row).toEqual([...row].sort((x, y) => x - y));
    expect(row[31]! - row[0]!).toBeGreaterThan(200);
    expect(() => gray32(new Uint8Array(10), 10, 10, 3)).toThrow();
  });
});
