// Reading a user's .zip. yauzl reads the central directory (the zip's table of contents at its
// end) and then each entry at the offset the directory gives, from a buffer or from a file on
// disk. A streaming reader instead has to guess where an entry written with a data descriptor
// ends, and fflate's streaming Unzip guessed wrong whenever the compressed bytes happened to
// contain the local-header signature PK\x03\x04 ("that zip is damaged" for a valid zip).
//
// Nothing is kept in memory beyond the entry being read: the archive is checked whole first
// (names, entry count, declared sizes, then every image entry inflated and counted), so a bad
// zip refuses the request before anything is stored, and then entries are read one at a time.
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { UserError } from '../errors.js';
import { classFolder, IMAGE_EXT, unsafeArchivePath } from './sources.js';

export interface ZipLimits {
  maxEntries: number;
  maxTotalBytes: number;
  maxEntryBytes: number;
}

/** JPEGs barely compress, so a zip unpacks to about its own size. */
export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 5000, maxTotalBytes: 500 * 1024 * 1024, maxEntryBytes: 20 * 1024 * 1024 };

export interface ZipImage {
  /** The path inside the archive, with forward slashes. */
  path: string;
  /** The class folder it sits in, when the archive is organised by class. */
  folder?: string;
  size: number;
}

export interface ZipArchive {
  images: ZipImage[];
  read(image: ZipImage): Promise<Buffer>;
  close(): void;
}

const OPTIONS = { lazyEntries: true, autoClose: false, validateEntrySizes: true, decodeStrings: true, strictFileNames: false };

/** yauzl's own refusals of names that could escape a folder. */
const UNSAFE_NAME = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/;

function unsafeName(name: string): UserError {
  return new UserError(`that zip contains an unsafe file name (${name.slice(0, 80)}); nothing was added`);
}

function listEntries(zip: ZipFile, maxEntries: number): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      if (entries.length > maxEntries) reject(new UserError(`that zip has more than ${maxEntries} files`));
      else zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

function entryBytes(zip: ZipFile, entry: Entry, keep: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (keep) chunks.push(chunk);
      });
      stream.once('error', reject);
      stream.once('end', () => resolve(keep ? Buffer.concat(chunks, size) : Buffer.alloc(0)));
    });
  });
}

/** A zip error in words a user can act on. */
function readable(err: unknown, name?: string): Error {
  if (err instanceof UserError) return err;
  const message = (err as Error).message ?? String(err);
  const unsafe = UNSAFE_NAME.exec(message);
  if (unsafe) return unsafeName(unsafe[2]!);
  if (/too many bytes|too few bytes/.test(message)) return new UserError('that zip unpacks to more than its sizes say (a zip bomb?); nothing was added');
  if (/encrypted/.test(message)) return new UserError(`${name ?? 'a file'} in that zip is encrypted; nothing was added`);
  if (/compression method/.test(message)) return new UserError(`${name ?? 'a file'} in that zip uses a compression method we cannot read`);
  return new UserError(`that file is not a readable zip (${message.split('\n')[0]})`);
}

/**
 * Open a zip (bytes, or the path of a file holding it) and check it whole. Throws UserError
 * when any part of it is unacceptable; the caller must close() what it gets.
 */
export async function openZip(source: Uint8Array | string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipArchive> {
  let zip: ZipFile;
  try {
    zip = typeof source === 'string' ? await yauzl.openPromise(source, OPTIONS) : await yauzl.fromBufferPromise(Buffer.from(source.buffer, source.byteOffset, source.byteLength), OPTIONS);
  } catch (err) {
    throw source.length === 0 ? new UserError('that file is not a zip, or it is empty') : readable(err);
  }
  try {
    const entries = await listEntries(zip, limits.maxEntries).catch((err: unknown) => Promise.reject(readable(err)));
    const byPath = new Map<string, Entry>();
    const images: ZipImage[] = [];
    let total = 0;
    for (const entry of entries) {
      const name = entry.fileName;
      if (unsafeArchivePath(name)) throw unsafeName(name);
      if (name.endsWith('/') || !IMAGE_EXT.test(name)) continue;
      const { folder, skip } = classFolder(name);
      if (skip) continue;
      if (entry.uncompressedSize > limits.maxEntryBytes) throw new UserError(`${name.slice(0, 80)} in that zip is larger than ${limits.maxEntryBytes} bytes`);
      total += entry.uncompressedSize;
      if (total > limits.maxTotalBytes) throw new UserError(`that zip unpacks to more than ${limits.maxTotalBytes} bytes`);
      images.push({ path: name, folder, size: entry.uncompressedSize });
      byPath.set(name, entry);
    }
    if (entries.length === 0) throw new UserError('that file is not a zip, or it is empty');
    // Inflate everything once, keeping nothing: yauzl counts the bytes against the declared
    // sizes, so a forged size or a damaged entry is found before a single image is stored.
    for (const image of images) await entryBytes(zip, byPath.get(image.path)!, false).catch((err: unknown) => Promise.reject(readable(err, image.path)));
    return {
      images,
      read: (image) => entryBytes(zip, byPath.get(image.path)!, true).catch((err: unknown) => Promise.reject(readable(err, image.path))),
      close: () => zip.close(),
    };
  } catch (err) {
    zip.close();
    throw err;
  }
}
