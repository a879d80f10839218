// Content-addressed files: DATA_DIR/blobs/ab/cd/<sha256>. Written to a temporary file and
// renamed, so readers never see half a file and concurrent writers of the same bytes agree.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { asStorageError } from '../errors.js';
import type { BlobStore } from './types.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class FileBlobStore implements BlobStore {
  /** Fan-out folders known to exist, to save a mkdir per write. */
  private readonly madeDirs = new Set<string>();

  constructor(readonly root: string) {}

  path(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 blob key: ${sha256}`);
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const key = sha256Hex(bytes);
    const file = this.path(key);
    if (await this.has(key)) {
      // Touched, so the sweep of unreferenced files (gc.ts) sees it as new until its item exists.
      const now = new Date();
      await fs.utimes(file, now, now).catch(() => undefined);
      return key;
    }
    const dir = path.dirname(file);
    if (!this.madeDirs.has(dir)) {
      await fs.mkdir(dir, { recursive: true }).catch((err: unknown) => {
        throw asStorageError(err, dir);
      });
      this.madeDirs.add(dir);
    }
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw asStorageError(err, file);
    }
    return key;
  }

  async get(sha256: string): Promise<Buffer> {
    return fs.readFile(this.path(sha256));
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await fs.access(this.path(sha256));
      return true;
    } catch {
      return false;
    }
  }
}
