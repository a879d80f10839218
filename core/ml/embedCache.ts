// Embeddings cached by (backbone id, image sha256) as small .f32 files, so retraining after a
// cleanup only embeds the images it has not seen. Writes are atomic (temp file + rename).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { asStorageError } from '../errors.js';

const SHA256 = /^[0-9a-f]{64}$/;

export class EmbeddingCache {
  readonly dir: string;

  constructor(dataDir: string, readonly backboneId: string, readonly featureSize: number) {
    if (!/^[\w.-]+$/.test(backboneId)) throw new Error(`bad backbone id ${backboneId}`);
    this.dir = path.join(dataDir, 'embeddings', backboneId);
  }

  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.dir, sha256.slice(0, 2), `${sha256}.f32`);
  }

  async get(sha256: string): Promise<Float32Array | undefined> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.pathOf(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    // A file of the wrong size (another backbone version) counts as missing.
    if (bytes.byteLength !== this.featureSize * 4) return undefined;
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  async put(sha256: string, features: Float32Array): Promise<void> {
    if (features.length !== this.featureSize) throw new Error(`expected ${this.featureSize} features, got ${features.length}`);
    const file = this.pathOf(sha256);
    const tmp = `${file}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(tmp, new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
      await fs.rename(tmp, file);
    } catch (err) {
      // A full or read-only disk fails the job as the machine's fault, saying so (core/errors.ts).
      throw asStorageError(err, path.dirname(file));
    }
  }

  /** The cached features of the given images; missing ones are absent from the map. */
  async getMany(sha256s: string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    const unique = [...new Set(sha256s)];
    for (let i = 0; i < unique.length; i += 64) {
      const part = unique.slice(i, i + 64);
      const values = await Promise.all(part.map((s) => this.get(s)));
      part.forEach((s, j) => values[j] && found.set(s, values[j]));
    }
    return found;
  }
}
