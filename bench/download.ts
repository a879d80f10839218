// `npm run bench -- download [--n 1000] [--latency 200] [--baseline 200]`
// Downloads n photo-sized JPEGs (50-300 KB, 800-1600 px, generated once into a cache under the
// OS temp dir) from loopback hosts that add `latency` ms to every request, verifies and stores
// them (temporary DATA_DIR and Redis prefix), and prints one line comparing the rate with the
// latency-bound limit (concurrency / latency, or the measured verify-only rate if lower) and
// with the lesson's 8 parallel downloads.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { addFromUrls } from '../core/collect/collect.js';
import { Downloader } from '../core/collect/download.js';
import { configureSharpForWorkers, VERIFY_CONCURRENCY, verifyOptions } from '../core/collect/pipeline.js';
import { normaliseImage } from '../core/collect/verify.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { createRedis } from '../core/redis.js';
import { createServices, type Services } from '../core/services.js';
import { rng } from '../test/fakes/imagehost/images.js';
import { fileURLToPath } from 'node:url';

const CACHE = path.join(os.tmpdir(), 'kodiak-bench-download-v1');
/** Eight loopback addresses, so the per-host limit (8) times hosts equals the global limit (64). */
const HOSTS = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** A photo-like JPEG: smooth colour fields plus sensor-like grain, 800-1600 px wide. */
async function photo(seed: number): Promise<Buffer> {
  const r = rng(seed);
  const width = 800 + Math.floor(r() * 801);
  const height = Math.round(width * (0.6 + r() * 0.4));
  const grid = Buffer.from(Array.from({ length: 6 * 6 * 3 }, () => Math.floor(r() * 256)));
  const pixels = await sharp(grid, { raw: { width: 6, height: 6, channels: 3 } }).resize(width, height, { kernel: 'cubic' }).raw().toBuffer();
  const grain = randomBytes(pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, pixels[i]! + (grain[i]! & 31) - 16));
  let quality = 75;
  for (;;) {
    const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
    if (jpeg.length >= 50 * 1024 || quality >= 95) return jpeg;
    quality += 10;
  }
}

export async function ensureCache(n: number): Promise<string[]> {
  await fs.mkdir(CACHE, { recursive: true });
  const files = Array.from({ length: n }, (_, i) => path.join(CACHE, `${i}.jpg`));
  const limit = pLimit(4);
  await Promise.all(
    files.map((file, i) =>
      limit(async () => {
        if (await fs.access(file).then(() => true, () => false)) return;
        const tmp = `${file}.${process.pid}.tmp`;
        await fs.writeFile(tmp, await photo(i + 1));
        await fs.rename(tmp, file);
      }),
    ),
  );
  return files;
}

/**
 * The fake host in a process of its own: its copy of every picture and its event loop are not
 * the pipeline's, so they stay out of the measured RSS and main thread (it shares the cores).
 */
async function startHostProcess(n: number, latencyMs: number): Promise<{ urls: string[]; close(): Promise<void> }> {
  const script = fileURLToPath(new URL('../test/fakes/imagehost/serve.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--dir', CACHE, '--n', String(n), '--latency', String(latencyMs), '--hosts', HOSTS.join(',')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise<string[]>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]!) as { urls: string[] }).urls);
    });
    child.once('exit', (code) => reject(new Error(`the fake image host exited (${code}) before listening`)));
  });
  const urls = await ready;
  return {
    urls,
    async close() {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** Peak resident set size while `fn` runs, sampled every 20 ms. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const value = await fn();
    return { value, peakMb: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

async function verifyOnlyRate(services: Services, files: string[]): Promise<number> {
  const limit = pLimit(VERIFY_CONCURRENCY);
  const opts = verifyOptions(services.config);
  const start = performance.now();
  await Promise.all(files.map((f) => limit(async () => normaliseImage(await fs.readFile(f), opts))));
  return files.length / ((performance.now() - start) / 1000);
}

async function timedRun(services: Services, name: string, urls: string[], concurrency: number, perHost: number) {
  const c = services.config;
  const downloader = new Downloader({ concurrency, perHost, timeoutMs: c.DOWNLOAD_TIMEOUT_MS, retries: c.DOWNLOAD_RETRIES, maxBytes: c.DOWNLOAD_MAX_BYTES, allowPrivate: true });
  const ref = { guildId: 'bench', name };
  await services.datasets.create(ref, ['photos'], 'bench');
  try {
    const start = performance.now();
    const summary = await addFromUrls({ services, dataset: ref, className: 'photos', urls, downloader });
    const seconds = (performance.now() - start) / 1000;
    if (summary.kept !== urls.length) throw new Error(`${name}: kept ${summary.kept} of ${urls.length}: ${JSON.stringify(summary.failed)} dup ${summary.duplicates}`);
    return { n: summary.kept, seconds };
  } finally {
    await downloader.close();
  }
}

export async function run(args: string[]): Promise<void> {
  // Every image is new: libvips' operation cache would only hold memory.
  configureSharpForWorkers(); // as the collect worker runs
  const n = option(args, 'n', 1000);
  const latencyMs = option(args, 'latency', 200);
  const baselineN = Math.min(n, option(args, 'baseline', 200));
  const files = await ensureCache(n);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-bench-data-'));
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({ ...process.env, QUEUE_PREFIX: prefix, DATA_DIR: dataDir, ALLOW_PRIVATE_URLS: 'true' });
  const redis = createRedis(config.REDIS_URL);
  const services = createServices(config, redis, createLogger('silent'));
  const host = await startHostProcess(n, latencyMs);
  try {
    const urlFor = (i: number) => `${host.urls[i % host.urls.length]}/img/${i}.jpg`;
    const verifyRate = await verifyOnlyRate(services, files);
    const limit = Math.min(config.DOWNLOAD_CONCURRENCY / (latencyMs / 1000), verifyRate);
    const main = await withPeakRss(() => timedRun(services, 'main', files.map((_, i) => urlFor(i)), config.DOWNLOAD_CONCURRENCY, config.DOWNLOAD_PER_HOST));
    const rate = main.value.n / main.value.seconds;
    // The lesson's download_images: 8 workers. Same code, 8 concurrent downloads, a subset.
    const base = await timedRun(services, 'baseline', files.slice(0, baselineN).map((_, i) => urlFor(i)), 8, 8);
    const baseRate = base.n / base.seconds;
    console.log(
      `download: ${main.value.n} images in ${main.value.seconds.toFixed(1)} s = ${rate.toFixed(1)} img/s; ` +
        `latency-bound limit ${limit.toFixed(1)} img/s; ratio ${(rate / limit).toFixed(2)}; ` +
        `8-worker baseline ${baseRate.toFixed(1)} img/s; speedup ${(rate / baseRate).toFixed(1)}; peak RSS ${Math.round(main.peakMb)} MB`,
    );
  } finally {
    await host.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
