// Verification and normalisation of downloaded or uploaded bytes: sniff the real type, refuse
// what is not a raster image, decode with a pixel limit, then auto-rotate, flatten alpha on
// white, convert to sRGB, keep the first frame, shrink to MAX_IMAGE_SIZE and re-encode as a
// metadata-free JPEG. The sha256 of that JPEG is the image's identity.
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { sha256Hex } from '../store/blobs.js';
import { gray32, phashFromGray32 } from './phash.js';
import { RejectError } from './reasons.js';

export const MIN_SIDE = 64;
export const JPEG_QUALITY = 90;

const RASTER_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/tiff']);

export interface VerifyOptions {
  /** Longest side of the stored image (MAX_IMAGE_SIZE). */
  maxSize: number;
  /** Refuse images with more pixels than this before decoding (MAX_IMAGE_PIXELS). */
  maxPixels: number;
  /**
   * Progressive JPEGs are decoded whole before any shrink (libjpeg's scaled decode does not
   * apply), so they get a lower pixel limit (MAX_PROGRESSIVE_PIXELS, default 16 MP: ~48 MB).
   */
  maxProgressivePixels?: number;
  minSide?: number;
}

export interface NormalisedImage {
  jpeg: Buffer;
  sha256: string;
  phash: string;
  width: number;
  height: number;
  /** What the bytes were before normalisation (jpeg, png, gif, ...). */
  format: string;
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 2048)).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return /^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/.test(head);
}

/** Check the bytes are a raster image we accept; returns the sniffed MIME type. */
export async function sniffImage(bytes: Uint8Array): Promise<string> {
  // SVG is text (file-type calls it XML or nothing), so look for it first.
  if (looksLikeSvg(bytes)) throw new RejectError('svg');
  const type = await fileTypeFromBuffer(bytes);
  if (type?.mime === 'image/svg+xml') throw new RejectError('svg');
  if (!type) throw new RejectError('not-an-image', 'unrecognised bytes');
  if (!RASTER_TYPES.has(type.mime)) throw new RejectError('not-an-image', type.mime);
  return type.mime;
}

function decodeFailure(err: unknown): RejectError {
  const message = (err as Error).message ?? String(err);
  if (/pixel limit/i.test(message)) return new RejectError('too-many-pixels');
  return new RejectError('corrupt', message.split('\n')[0]);
}

/**
 * The longest side to store. Images over the cap are shrunk; when a size the JPEG decoder
 * reaches by itself (1/2, 1/4, 1/8 scale) lands between 80% of the cap and the cap, that size
 * is used: decoding at reduced scale costs a fraction of a full decode followed by a resize,
 * and verification is what bounds collection throughput.
 */
export function storedLongestSide(longest: number, cap: number): number {
  if (longest <= cap) return longest;
  for (const scale of [8, 4, 2]) {
    const side = Math.ceil(longest / scale);
    if (side <= cap && side >= 0.8 * cap) return side;
  }
  return cap;
}

/** The short side of a width x height image once it fits inside side x side (never enlarged). */
export function storedShortSide(width: number, height: number, side: number): number {
  const scale = Math.min(1, side / Math.max(width, height));
  return Math.round(Math.min(width, height) * scale);
}

/** Verify and normalise one image; throws RejectError with the reason when it is refused. */
export async function normaliseImage(bytes: Uint8Array, opts: VerifyOptions): Promise<NormalisedImage> {
  const mime = await sniffImage(bytes);
  // failOn 'warning': libjpeg only *warns* about corrupt entropy data and truncation, and
  // decodes garbage; a dataset is better without those images.
  const input = { failOn: 'warning' as const, limitInputPixels: opts.maxPixels };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, input).metadata();
  } catch (err) {
    throw decodeFailure(err);
  }
  const { width = 0, height = 0 } = meta;
  // Headers are cheap to read: refuse decompression bombs before decoding a single pixel.
  if (width * height > opts.maxPixels) throw new RejectError('too-many-pixels', `${width}x${height}`);
  if (meta.format === 'jpeg' && meta.isProgressive && width * height > (opts.maxProgressivePixels ?? 16_000_000)) {
    throw new RejectError('too-many-pixels', `${width}x${height}, progressive`);
  }
  const side = meta.format === 'jpeg' ? storedLongestSide(Math.max(width, height), opts.maxSize) : opts.maxSize;
  // The minimum side is a property of the stored image: a 50000x1000 strip would shrink to 500x10.
  const minSide = opts.minSide ?? MIN_SIDE;
  const stored = storedShortSide(width, height, side);
  if (stored < minSide) throw new RejectError('too-small', `${width}x${height}${stored < Math.min(width, height) ? ` (${stored} px once resized)` : ''}`);

  let pixels: { data: Buffer; info: OutputInfo };
  try {
    let pipeline = sharp(bytes, input)
      .autoOrient()
      // Shrink-on-load lets libjpeg decode big JPEGs at 1/2, 1/4 or 1/8 scale directly; the
      // rest is bilinear, as the lesson's resize_images (and 15-25% cheaper than lanczos3).
      .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: true, kernel: 'linear' });
    if (meta.hasAlpha) pipeline = pipeline.flatten({ background: '#ffffff' });
    // CMYK, grayscale and 16-bit inputs become 8-bit sRGB; sRGB input (embedded ICC profiles
    // are applied by default) skips the extra step.
    if (meta.space !== 'srgb' || (meta.channels ?? 0) < 3 || meta.depth !== 'uchar') pipeline = pipeline.toColourspace('srgb');
    pixels = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeFailure(err);
  }
  // One decode serves both the stored JPEG and the perceptual hash: hashing the encoded JPEG
  // instead meant decoding it again, a quarter of the verification time.
  const { data, info } = pixels;
  if (Math.min(info.width, info.height) < minSide) throw new RejectError('too-small', `${width}x${height} (${info.width}x${info.height} once resized)`);
  const jpeg = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    // Huffman optimisation is a second pass over the image for ~8% smaller files; collection
    // throughput is bound by this CPU, so it is left out.
    .jpeg({ quality: JPEG_QUALITY, optimiseCoding: false })
    .toBuffer();
  return {
    jpeg,
    sha256: sha256Hex(jpeg),
    phash: phashFromGray32(gray32(data, info.width, info.height, info.channels)),
    width: info.width,
    height: info.height,
    format: mime.replace('image/', ''),
  };
}
