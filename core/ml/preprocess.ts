// Image -> backbone input with sharp: resize the shorter side and centre-crop to the input size
// (fit: cover), EXIF-rotated, alpha flattened on white, sRGB. Augmented variants (random crop,
// horizontal flip) for fine-tuning. Pixels stay uint8 until they become a tensor: 4x smaller
// to hold and to post between threads.
import sharp, { type Sharp } from 'sharp';
import * as tf from '@tensorflow/tfjs';
import type { Normalisation } from './backbones/registry.js';

export type ImageInput = string | Buffer | Uint8Array;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
}

const toSharpInput = (input: ImageInput) => (typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength));

function base(input: ImageInput, opts: DecodeOptions) {
  return sharp(toSharpInput(input), { limitInputPixels: opts.maxPixels ?? 50_000_000 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb');
}

async function rawRgb(pipeline: Sharp, size: number): Promise<Uint8Array> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size)
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The same size x size x 3 RGB picture flipped left to right. */
export function mirrorRgb(rgb: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * 3;
      const to = (y * size + (size - 1 - x)) * 3;
      out[to] = rgb[from]!;
      out[to + 1] = rgb[from + 1]!;
      out[to + 2] = rgb[from + 2]!;
    }
  return out;
}

/** size x size x 3 RGB bytes: shorter side resized to `size`, then centre-cropped. */
export async function decodeRgb(input: ImageInput, size: number, opts: DecodeOptions = {}): Promise<Uint8Array> {
  return rawRgb(base(input, opts).resize(size, size, { fit: 'cover', position: 'centre' }), size);
}

/**
 * A random crop covering `minScale`..1 of the shorter side at a random position, resized to
 * size x size and flipped horizontally half of the time (fast.ai's RandomResizedCrop + flip).
 */
export async function augmentedRgb(input: ImageInput, size: number, random: () => number, opts: DecodeOptions & { minScale?: number } = {}): Promise<Uint8Array> {
  const { minScale = 0.75 } = opts;
  // Orientation first, so the crop is chosen on the image as seen.
  const { data, info } = await base(input, opts).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const side = Math.min(info.width, info.height);
  const crop = Math.max(1, Math.round(side * (minScale + (1 - minScale) * random())));
  const left = Math.floor(random() * (info.width - crop + 1));
  const top = Math.floor(random() * (info.height - crop + 1));
  let pipeline = sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .extract({ left, top, width: crop, height: crop })
    .resize(size, size, { fit: 'fill' });
  if (random() < 0.5) pipeline = pipeline.flop();
  return rawRgb(pipeline, size);
}

/** uint8 RGB images (concatenated) -> normalised float32 values. */
export function normalise(rgb: Uint8Array, norm: Normalisation): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = rgb[i]! * norm.scale + norm.offset;
  return out;
}

/** A normalised [n, size, size, 3] batch tensor from n concatenated RGB images. */
export function toBatchTensor(rgb: Uint8Array, size: number, norm: Normalisation): tf.Tensor4D {
  const n = rgb.length / (size * size * 3);
  if (!Number.isInteger(n)) throw new Error(`${rgb.length} bytes is not a whole number of ${size}x${size} RGB images`);
  return tf.tensor4d(normalise(rgb, norm), [n, size, size, 3]);
}

/** Preprocesses one image straight to a normalised [1, size, size, 3] tensor. */
export async function imageToTensor(input: ImageInput, size: number, norm: Normalisation, opts: DecodeOptions = {}): Promise<tf.Tensor4D> {
  return toBatchTensor(await decodeRgb(input, size, opts), size, norm);
}
