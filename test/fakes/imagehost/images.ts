// Deterministic test images: a seeded grid of coloured blocks (so different seeds have very
// different perceptual hashes) with optional grain (so JPEG sizes look like real photos), and
// the awkward kinds the verifier must handle.
import { deflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';
import { mulberry32 } from '../../../core/random.js';

/** The project's seeded PRNG: the same seed gives the same image on every machine. */
export const rng = mulberry32;

export interface GenerateOptions {
  width?: number;
  height?: number;
  /** Amplitude of per-pixel noise, 0-127; more grain makes bigger JPEGs. */
  grain?: number;
  quality?: number;
}

/**
 * Raw RGB pixels of picture `seed`: a 6x6 grid of random colours blended smoothly (bilinear),
 * like the soft colour fields of a photo, so the same picture at other sizes or in other
 * formats keeps its perceptual hash.
 */
export function pictureRaw(seed: number, width: number, height: number, grain = 0): Buffer {
  const rand = rng(seed * 7919 + 1);
  const grid = 6;
  const colours = Array.from({ length: grid * grid * 3 }, () => rand() * 255);
  const noise = rng(seed + 12345);
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const fy = Math.min(grid - 1.001, Math.max(0, ((y + 0.5) * grid) / height - 0.5));
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(grid - 1.001, Math.max(0, ((x + 0.5) * grid) / width - 0.5));
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const n = grain ? (noise() - 0.5) * 2 * grain : 0;
      for (let c = 0; c < 3; c++) {
        const at = (gx: number, gy: number) => colours[(gy * grid + gx) * 3 + c]!;
        const top = at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx;
        const bottom = at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx;
        out[(y * width + x) * 3 + c] = top * (1 - ty) + bottom * ty + n;
      }
    }
  }
  return out;
}

export async function makeJpeg(seed: number, opts: GenerateOptions = {}): Promise<Buffer> {
  const { width = 320, height = 240, grain = 0, quality = 85 } = opts;
  return sharp(pictureRaw(seed, width, height, grain), { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

export async function makePng(seed: number, width = 320, height = 240): Promise<Buffer> {
  return sharp(pictureRaw(seed, width, height), { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function makeCmykJpeg(seed: number): Promise<Buffer> {
  return sharp(await makeJpeg(seed)).toColourspace('cmyk').jpeg().toBuffer();
}

export async function makeGrayJpeg(seed: number): Promise<Buffer> {
  return sharp(await makeJpeg(seed)).greyscale().toColourspace('b-w').jpeg().toBuffer();
}

/** A PNG whose left half is transparent. */
export async function makeRgbaPng(seed: number, width = 200, height = 160): Promise<Buffer> {
  const rgb = pictureRaw(seed, width, height);
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgb.copy(rgba, p * 4, p * 3, p * 3 + 3);
    rgba[p * 4 + 3] = p % width < width / 2 ? 0 : 255;
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

/** A 300x200 picture stored with EXIF orientation 6 (display rotated 90°: 200x300). */
export async function makeExifRotatedJpeg(seed: number): Promise<Buffer> {
  return sharp(pictureRaw(seed, 300, 200), { raw: { width: 300, height: 200, channels: 3 } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

export async function makeAnimatedGif(seed: number, frames = 3, width = 120, height = 100): Promise<Buffer> {
  const frameBytes = width * height * 4;
  const all = Buffer.alloc(frameBytes * frames);
  for (let f = 0; f < frames; f++) {
    const rgb = pictureRaw(seed + f * 1000, width, height);
    for (let p = 0; p < width * height; p++) {
      rgb.copy(all, f * frameBytes + p * 4, p * 3, p * 3 + 3);
      all[f * frameBytes + p * 4 + 3] = 255;
    }
  }
  return sharp(all, { raw: { width, height: height * frames, channels: 4, pageHeight: height } })
    .gif({ loop: 0, delay: Array(frames).fill(100) })
    .toBuffer();
}

/** A JPEG whose entropy-coded data is garbage after the headers. */
export async function makeCorruptJpeg(seed: number): Promise<Buffer> {
  const good = await makeJpeg(seed, { grain: 20 });
  const bad = Buffer.from(good);
  const rand = rng(seed);
  for (let i = 700; i < bad.length - 2; i++) bad[i] = Math.floor(rand() * 256);
  return bad;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A tiny file that claims to be a width x height PNG: a decompression bomb if decoded. */
export function makeHugePngHeader(width = 30000, height = 30000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const idat = deflateSync(Buffer.alloc(64 * 1024)); // a sliver of (black) rows
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

export const SVG_IMAGE = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="red"/></svg>');
export const HTML_PAGE = Buffer.from('<!doctype html><html><head><title>Not found</title></head><body><h1>Sorry</h1></body></html>');
