// Inputs other than search: a URL list (.csv/.txt, one URL per line as in the lesson, or any
// CSV with URLs in its cells) and a folder on disk; zip.ts reads a .zip of images or of class folders.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../errors.js';
import { normaliseUrl } from '../render/markdown.js';
import type { ItemSource } from '../store/types.js';

export const MAX_URLS = 5000;

/** A source as stored: its URLs normalised (a search result's too), or left out when they are no URLs. */
export function storedSource(source: ItemSource): ItemSource {
  const { url, pageUrl, ...rest } = source;
  const u = url === undefined ? undefined : normaliseUrl(url);
  const p = pageUrl === undefined ? undefined : normaliseUrl(pageUrl);
  return { ...rest, ...(u ? { url: u } : {}), ...(p ? { pageUrl: p } : {}) };
}

/**
 * The http(s) URLs in a .csv or .txt list, in order, without repeats, normalised. A cell with
 * whitespace (a quoted cell spanning lines), `<` or `>` is not a URL: skipped, never stored.
 */
export function parseUrlList(text: string): string[] {
  const rows = parse(text.replace(/^\uFEFF/, ''), { relax_column_count: true, skip_empty_lines: true, relax_quotes: true, trim: true }) as string[][];
  const urls = new Set<string>();
  for (const cell of rows.flat()) {
    const url = normaliseUrl(cell);
    if (url) urls.add(url);
  }
  if (urls.size === 0) throw new UserError('that list has no http(s) URLs in it (one URL per line, or a CSV with URLs in a column)');
  if (urls.size > MAX_URLS) throw new UserError(`that list has ${urls.size} URLs; at most ${MAX_URLS} at a time`);
  return [...urls];
}

export const IMAGE_EXT = /\.(jpe?g|png|gif|webp|avif|tiff?|bmp|svg)$/i;

/** Refuse names that could escape a folder: `..` segments, absolute or drive paths. */
export function unsafeArchivePath(name: string): boolean {
  const n = name.replace(/\\/g, '/');
  return n.startsWith('/') || /^[a-zA-Z]:/.test(n) || n.split('/').includes('..') || n.includes('\0');
}

/**
 * The class folder of a path inside an archive or folder, and whether it is hidden (dot files,
 * macOS resource forks). `.` segments are no folder at all: `zip -r x.zip .` names entries `./cats/a.jpg`.
 */
export function classFolder(p: string): { folder?: string; skip: boolean } {
  const parts = p.split('/').filter((s) => s && s !== '.');
  const hidden = parts.some((s) => s.startsWith('.') || s === '__MACOSX');
  return { folder: parts.length > 1 ? parts[parts.length - 2] : undefined, skip: hidden };
}

/**
 * Every file under `dir`, following symbolic links to folders and files (a class folder is often
 * a link to where the pictures already are); a link back up the tree is not followed twice.
 */
async function walkFiles(dir: string, seen: Set<string>): Promise<string[]> {
  const real = await fs.realpath(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const files: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    // A link is followed to what it points at; a broken one is skipped.
    const kind = e.isSymbolicLink() ? await fs.stat(full).catch(() => undefined) : e;
    if (kind?.isDirectory()) files.push(...(await walkFiles(full, seen)));
    else if (kind?.isFile()) files.push(full);
  }
  return files;
}

/** Image files under `root`: `root/<class>/<file>` (ImageFolder layout) or directly in root. */
export async function listImageFolder(root: string): Promise<{ path: string; folder?: string }[]> {
  let files;
  try {
    files = await walkFiles(root, new Set());
  } catch {
    throw new UserError(`cannot read the folder ${root}`);
  }
  const out: { path: string; folder?: string }[] = [];
  for (const full of files) {
    if (!IMAGE_EXT.test(full)) continue;
    const rel = path.relative(root, full).split(path.sep).join('/');
    const { folder, skip } = classFolder(rel);
    if (!skip) out.push({ path: full, folder });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
