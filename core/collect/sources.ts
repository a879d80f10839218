// Inputs other than search: a URL list (.csv/.txt, one URL per line as in the lesson, or any
// CSV with URLs in its cells), a .zip of images or of class folders, and a folder on disk.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { Unzip, UnzipInflate, UnzipPassThrough } from 'fflate';
import { UserError } from '../errors.js';

export const MAX_URLS = 5000;

/** The http(s) URLs in a .csv or .txt list, in order, without repeats. */
export function parseUrlList(text: string): string[] {
  const rows = parse(text.replace(/^\uFEFF/, ''), { relax_column_count: true, skip_empty_lines: true, relax_quotes: true, trim: true }) as string[][];
  const urls: string[] = [];
  const seen = new Set<string>();
  for (const cell of rows.flat()) {
    if (!/^https?:\/\//i.test(cell) || !URL.canParse(cell) || seen.has(cell)) continue;
    seen.add(cell);
    urls.push(cell);
  }
  if (urls.length === 0) throw new UserError('that list has no http(s) URLs in it (one URL per line, or a CSV with URLs in a column)');
  if (urls.length > MAX_URLS) throw new UserError(`that list has ${urls.length} URLs; at most ${MAX_URLS} at a time`);
  return urls;
}

export interface ArchiveFile {
  /** The path inside the archive or folder, with forward slashes. */
  path: string;
  /** The class folder it sits in, when the archive is organised by class. */
  folder?: string;
  bytes: Uint8Array;
}

export interface ZipLimits {
  maxEntries: number;
  maxTotalBytes: number;
  maxEntryBytes: number;
}

/** JPEGs barely compress, so a zip unpacks to about its own size; this bounds memory too. */
export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 5000, maxTotalBytes: 200 * 1024 * 1024, maxEntryBytes: 20 * 1024 * 1024 };

const IMAGE_EXT = /\.(jpe?g|png|gif|webp|avif|tiff?|bmp|svg)$/i;
/** Feeding the inflater small slices bounds how much one push can expand (deflate: ~1000x). */
const SLICE = 16 * 1024;

/** Refuse names that could escape a folder: `..` segments, absolute or drive paths. */
export function unsafeArchivePath(name: string): boolean {
  const n = name.replace(/\\/g, '/');
  return n.startsWith('/') || /^[a-zA-Z]:/.test(n) || n.split('/').includes('..') || n.includes('\0');
}

function classFolder(p: string): { folder?: string; skip: boolean } {
  const parts = p.split('/').filter(Boolean);
  const hidden = parts.some((s) => s.startsWith('.') || s === '__MACOSX');
  return { folder: parts.length > 1 ? parts[parts.length - 2] : undefined, skip: hidden };
}

/**
 * The image files of a zip, refusing unsafe names and zip bombs: the entry count and the
 * declared sizes are checked first, and the bytes actually inflated are counted as they come.
 * Throws UserError; nothing is returned unless the whole archive is acceptable.
 */
export function readZip(data: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ArchiveFile[] {
  const files: ArchiveFile[] = [];
  let entries = 0;
  let total = 0;
  let failure: UserError | undefined;
  const fail = (message: string) => {
    failure ??= new UserError(message);
  };
  const unzip = new Unzip((file) => {
    if (failure) return;
    if (++entries > limits.maxEntries) return fail(`that zip has more than ${limits.maxEntries} files`);
    if (unsafeArchivePath(file.name)) return fail(`that zip contains an unsafe file name (${file.name.slice(0, 80)}); nothing was added`);
    if (file.name.endsWith('/') || !IMAGE_EXT.test(file.name)) return;
    const { folder, skip } = classFolder(file.name);
    if (skip) return;
    if ((file.originalSize ?? 0) > limits.maxEntryBytes) return fail(`${file.name} in that zip is larger than ${limits.maxEntryBytes} bytes`);
    if (total + (file.originalSize ?? 0) > limits.maxTotalBytes) return fail(`that zip unpacks to more than ${limits.maxTotalBytes} bytes`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) return fail(`that zip is damaged (${err.message})`);
      size += chunk.length;
      total += chunk.length;
      if (size > limits.maxEntryBytes || total > limits.maxTotalBytes) {
        file.terminate();
        return fail(`that zip unpacks to more than its sizes say (a zip bomb?); nothing was added`);
      }
      chunks.push(chunk);
      if (final) files.push({ path: file.name, folder, bytes: Buffer.concat(chunks) });
    };
    try {
      file.start();
    } catch {
      fail(`${file.name} in that zip uses a compression method we cannot read`);
    }
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);
  try {
    for (let i = 0; i < data.length && !failure; i += SLICE) unzip.push(data.subarray(i, i + SLICE), i + SLICE >= data.length);
  } catch (err) {
    fail(`that file is not a readable zip (${(err as Error).message})`);
  }
  if (failure) throw failure;
  if (files.length === 0 && entries === 0) throw new UserError('that file is not a zip, or it is empty');
  return files;
}

/** Image files under `root`: `root/<class>/<file>` (ImageFolder layout) or directly in root. */
export async function listImageFolder(root: string): Promise<{ path: string; folder?: string }[]> {
  let entries;
  try {
    entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  } catch {
    throw new UserError(`cannot read the folder ${root}`);
  }
  const out: { path: string; folder?: string }[] = [];
  for (const e of entries) {
    if (!e.isFile() || !IMAGE_EXT.test(e.name)) continue;
    const full = path.join(e.parentPath, e.name);
    const rel = path.relative(root, full).split(path.sep).join('/');
    const { folder, skip } = classFolder(rel);
    if (!skip) out.push({ path: full, folder });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
