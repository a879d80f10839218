// Downloads a backbone once, checks it, and caches it under DATA_DIR/models/<id>/. The files are
// written to a temporary folder and renamed into place only after the model loaded with the
// expected shapes, so an interrupted or wrong download never leaves a cache that looks valid.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { manifestBytes, parseModelJson, singleFileJson, toArtifacts, type ModelJson } from './artifacts.js';
import type { DownloadSpec } from './registry.js';

export interface DownloadOptions {
  dataDir: string;
  /** Replaces the origin: <mirror>/<id>/model.json. */
  mirrorUrl?: string;
  /** Optional sha256 (hex) of model.json. */
  sha256?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
}

export function cacheDirOf(dataDir: string, id: string): string {
  return path.join(dataDir, 'models', id);
}

export function modelUrlOf(spec: DownloadSpec, mirrorUrl?: string): string {
  return mirrorUrl ? `${mirrorUrl.replace(/\/+$/, '')}/${spec.id}/model.json` : spec.url;
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function fetchBytes(url: string, opts: DownloadOptions): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 120_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const res = await fetch(url, { signal, redirect: 'follow' });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const max = opts.maxBytes ?? 500 * 1024 * 1024;
  if (declared > max) throw new Error(`GET ${url}: ${declared} bytes is over the ${max} byte cap`);
  // Reading the body throws when the connection is cut before the end.
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (Number.isFinite(declared) && bytes.byteLength !== declared)
    throw new Error(`GET ${url}: got ${bytes.byteLength} of ${declared} bytes`);
  return bytes;
}

/** Weight file URLs relative to model.json, keeping its query string (TF Hub needs it). */
function weightUrls(modelUrl: string, json: ModelJson): string[] {
  const base = new URL(modelUrl);
  return json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const u = new URL(p, base);
      if (!u.search && base.search) u.search = base.search;
      return u.toString();
    }),
  );
}

function sameShape(actual: readonly (number | null)[], expected: readonly (number | null)[]): boolean {
  return actual.length === expected.length && actual.every((d, i) => expected[i] === null || d === expected[i]);
}

/** Loads the downloaded model and checks its input and output shapes against the spec. */
export async function checkShapes(spec: DownloadSpec, json: ModelJson, weights: Uint8Array): Promise<void> {
  const handler = tf.io.fromMemory(toArtifacts(json, weights));
  const expectedIn = [null, spec.inputSize, spec.inputSize, 3];
  if (spec.format === 'layers') {
    // Not strict: a model that ends elsewhere has surplus weights; its shape is the clearer error.
    const model = await tf.loadLayersModel(handler, { strict: false });
    try {
      const input = model.inputs[0]?.shape ?? [];
      const output = model.outputs[0]?.shape ?? [];
      if (!sameShape(input, expectedIn)) throw new Error(`input shape ${JSON.stringify(input)}, expected ${JSON.stringify(expectedIn)}`);
      if (!sameShape(output, spec.outputShape))
        throw new Error(`output shape ${JSON.stringify(output)}, expected ${JSON.stringify(spec.outputShape)}`);
    } finally {
      model.dispose();
    }
    return;
  }
  const model = await tf.loadGraphModel(handler);
  try {
    const out = tf.tidy(() => {
      const probe = tf.zeros([1, spec.inputSize, spec.inputSize, 3]);
      const y = (spec.featureNode ? model.execute(probe, spec.featureNode) : model.predict(probe)) as tf.Tensor;
      return y.shape;
    });
    if (!sameShape(out, spec.outputShape)) throw new Error(`output shape ${JSON.stringify(out)}, expected ${JSON.stringify(spec.outputShape)}`);
  } finally {
    model.dispose();
  }
}

async function cachedAndValid(dir: string, pin?: string): Promise<boolean> {
  const jsonPath = path.join(dir, 'model.json');
  if (!existsSync(jsonPath) || !existsSync(path.join(dir, 'weights.bin'))) return false;
  if (!pin) return true;
  const original = path.join(dir, 'original-model.json');
  return sha256Hex(await fs.readFile(existsSync(original) ? original : jsonPath)) === pin;
}

/** Returns the cache folder of the backbone, downloading and checking it first if needed. */
export async function ensureDownloaded(spec: DownloadSpec, opts: DownloadOptions): Promise<string> {
  const dir = cacheDirOf(opts.dataDir, spec.id);
  if (await cachedAndValid(dir, opts.sha256)) return dir;
  const modelUrl = modelUrlOf(spec, opts.mirrorUrl);
  const jsonBytes = await fetchBytes(modelUrl, opts);
  if (opts.sha256 && sha256Hex(jsonBytes) !== opts.sha256)
    throw new Error(`model.json from ${modelUrl} does not match BACKBONE_SHA256`);
  const json = parseModelJson(Buffer.from(jsonBytes).toString('utf8'));
  const parts: Uint8Array[] = [];
  for (const url of weightUrls(modelUrl, json)) parts.push(await fetchBytes(url, opts));
  const weights = Buffer.concat(parts);
  const expected = manifestBytes(json.weightsManifest);
  if (weights.byteLength !== expected) throw new Error(`weights are ${weights.byteLength} bytes, the manifest says ${expected}`);
  await checkShapes(spec, json, weights);
  await writeAtomically(dir, {
    'model.json': JSON.stringify(singleFileJson(json)),
    'original-model.json': jsonBytes,
    'weights.bin': weights,
    'source.json': JSON.stringify({ url: modelUrl, downloadedAt: new Date().toISOString(), sha256: sha256Hex(jsonBytes) }),
  });
  return dir;
}

/** Writes files into a fresh temporary folder, then renames it to `dir` in one step. */
async function writeAtomically(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const parent = path.dirname(dir);
  await fs.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.tmp-${path.basename(dir)}-${randomUUID().slice(0, 8)}`);
  await fs.mkdir(tmp);
  try {
    for (const [name, data] of Object.entries(files)) await fs.writeFile(path.join(tmp, name), data);
    // A stale (e.g. unpinned or mismatching) cache is replaced; a rename of a folder is atomic.
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(tmp, dir);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(dir, 'model.json'))) throw err; // another process won the race: fine
  }
}
