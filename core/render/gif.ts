// Animated GIFs from raw RGBA frames, assembled by sharp (cgif), kept under Discord's upload limit.
import sharp from 'sharp';

/** Discord refuses uploads over 10 MiB; leave room for the other attachments of the message. */
export const DEFAULT_MAX_GIF_BYTES = 8 * 1024 * 1024;

export interface GifOptions {
  /** Upper bound on the encoded size; the encoder degrades colours, then frames, then size to fit. */
  maxBytes?: number;
  /** Palette size to start with (2..256). */
  colours?: number;
  /** How long the last frame stays before the loop restarts, so the result can be read. */
  lastFrameDelayMs?: number;
}

/**
 * Picks at most `cap` indices out of 0..total-1, evenly spaced, always keeping the first and the
 * last (the start and the result are the frames that matter most).
 */
export function sampleFrameIndices(total: number, cap: number): number[] {
  if (total <= 0) return [];
  if (total <= cap) return Array.from({ length: total }, (_, i) => i);
  if (cap <= 1) return [total - 1];
  const picked = new Set<number>();
  for (let k = 0; k < cap; k++) picked.add(Math.round((k * (total - 1)) / (cap - 1)));
  return [...picked].sort((a, b) => a - b);
}

function delays(count: number, delayMs: number | readonly number[], lastFrameDelayMs?: number): number[] {
  const list = Array.from({ length: count }, (_, i) => (typeof delayMs === 'number' ? delayMs : (delayMs[i] ?? delayMs[delayMs.length - 1] ?? 100)));
  if (lastFrameDelayMs !== undefined && count > 0) list[count - 1] = lastFrameDelayMs;
  // GIF delays are in centiseconds; browsers clamp anything under 20 ms to 100 ms.
  return list.map((d) => Math.max(20, Math.round(d / 10) * 10));
}

async function encode(frames: readonly Buffer[], width: number, height: number, delay: number[], colours: number): Promise<Buffer> {
  const input = Buffer.concat(frames as Buffer[]);
  return sharp(input, { raw: { width, height: height * frames.length, channels: 4, pageHeight: height } })
    .gif({ loop: 0, delay, colours, effort: 1, dither: 0, keepDuplicateFrames: true })
    .toBuffer();
}

/** Halves a raw RGBA frame in both directions (used only when a GIF is still too big). */
async function halve(frame: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(frame, { raw: { width, height, channels: 4 } })
    .resize(Math.max(1, Math.floor(width / 2)), Math.max(1, Math.floor(height / 2)))
    .raw()
    .toBuffer();
}

/**
 * Encodes raw RGBA frames (each width*height*4 bytes) as a looping GIF. When the result exceeds
 * `maxBytes` it retries with fewer colours, then every other frame (twice the delay, so the
 * animation keeps its length), then half the size; it throws only if nothing fits.
 */
export async function framesToGif(frames: readonly Buffer[], width: number, height: number, delayMs: number | readonly number[], options: GifOptions = {}): Promise<Buffer> {
  if (frames.length === 0) throw new Error('framesToGif needs at least one frame');
  const frameBytes = width * height * 4;
  for (const [i, f] of frames.entries()) {
    if (f.length !== frameBytes) throw new Error(`frame ${i} has ${f.length} bytes, expected ${frameBytes} (${width}x${height} RGBA)`);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_GIF_BYTES;
  let colours = Math.min(256, Math.max(2, options.colours ?? 128));
  let current = [...frames];
  let w = width;
  let h = height;
  let baseDelays = delays(current.length, delayMs);
  for (let attempt = 0; attempt < 12; attempt++) {
    const withHold = options.lastFrameDelayMs === undefined ? baseDelays : delays(current.length, baseDelays, options.lastFrameDelayMs);
    const gif = await encode(current, w, h, withHold, colours);
    if (gif.length <= maxBytes) return gif;
    if (colours > 32) {
      colours = Math.max(32, Math.floor(colours / 2));
    } else if (current.length > 8) {
      const keep = sampleFrameIndices(current.length, Math.ceil(current.length / 2));
      current = keep.map((i) => current[i] as Buffer);
      baseDelays = keep.map((i) => (baseDelays[i] ?? 100) * 2);
    } else if (w > 32 && h > 32) {
      const halved = await Promise.all(current.map((f) => halve(f, w, h)));
      current = halved;
      w = Math.floor(w / 2);
      h = Math.floor(h / 2);
    } else {
      break;
    }
  }
  throw new Error(`could not fit the animation into ${maxBytes} bytes`);
}
