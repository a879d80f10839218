// Embeds images on worker threads, one tfjs backend per thread, so both cores infer while
// sharp decodes the next batches. Cached embeddings are reused; new ones are cached.
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from './backend.js';
import type { BackboneSource } from './backbones/index.js';
import type { EmbeddingCache } from './embedCache.js';
import type { EmbedTask, EmbedTaskInput, WorkerReply } from './embedProtocol.js';
import './preprocess.js'; // loads sharp in the main thread first, as sharp asks for worker-thread use

export interface EmbedItem {
  /** The image's sha256: the cache key. */
  id: string;
  input: EmbedTaskInput;
}

export interface PoolOptions {
  source: BackboneSource;
  featureSize: number;
  threads?: number;
  backend?: BackendChoice;
  maxPixels?: number;
}

export interface EmbedCallOptions {
  /** Images per task; two tasks are in flight per thread. */
  batchSize?: number;
  cache?: EmbeddingCache;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export type EmbedOptions = PoolOptions & EmbedCallOptions;

export interface EmbedResult {
  features: Map<string, Float32Array>;
  /** Images that could not be decoded, with the reason. */
  failed: Map<string, string>;
  cached: number;
  computed: number;
}

/** How to start the worker: its .ts source through a tsx bootstrap (tests, `tsx` runs) or the built .js. */
function workerEntry(): { url: URL; data: Record<string, string> } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) return { url: new URL('./tsWorker.mjs', self), data: { tsEntry: new URL('./embedWorker.ts', self).href } };
  return { url: new URL('./embedWorker.js', self), data: {} };
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

type ReplyHandler = (w: PoolWorker, r: Extract<WorkerReply, { type: 'result' }>) => void;

/** A set of embedding threads, each with its backend and backbone loaded. One embed() at a time. */
export class EmbedPool {
  private onResult: ReplyHandler = () => {};
  private onFailure: (err: unknown) => void = () => {};
  private closed = false;

  private constructor(private readonly workers: PoolWorker[], private readonly featureSize: number) {
    for (const w of workers) {
      w.worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'result') this.onResult(w, reply);
        else if (reply.type === 'fatal') this.onFailure(new Error(`embedding worker failed: ${reply.message}`));
      });
      w.worker.on('error', (err) => this.onFailure(err));
      w.worker.on('exit', (code) => !this.closed && this.onFailure(new Error(`embedding worker exited with code ${code}`)));
    }
  }

  /** Starts the threads and waits until each has loaded its backend and backbone (and warmed up). */
  static async start(opts: PoolOptions, signal?: AbortSignal): Promise<EmbedPool> {
    signal?.throwIfAborted();
    const { url, data } = workerEntry();
    const started = Array.from({ length: Math.max(1, opts.threads ?? 2) }, () => {
      const worker = new Worker(url, { workerData: { ...data, source: opts.source, backend: opts.backend ?? 'auto', maxPixels: opts.maxPixels } });
      return new Promise<PoolWorker>((resolve, reject) => {
        const onAbort = () => reject(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        worker.once('error', reject);
        worker.once('message', (reply: WorkerReply) => {
          signal?.removeEventListener('abort', onAbort);
          if (reply.type === 'ready') resolve({ worker, inFlight: 0 });
          else reject(new Error(`embedding worker failed: ${reply.type === 'fatal' ? reply.message : reply.type}`));
        });
      }).catch((err: unknown) => {
        void worker.terminate();
        throw err;
      });
    });
    const settled = await Promise.allSettled(started);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failure) {
      await Promise.all(ok.map((w) => w.worker.terminate()));
      throw failure.reason;
    }
    return new EmbedPool(ok, opts.featureSize);
  }

  get threads(): number {
    return this.workers.length;
  }

  async embed(items: EmbedItem[], opts: EmbedCallOptions = {}): Promise<EmbedResult> {
    if (this.closed) throw new Error('the embedding pool is closed');
    opts.signal?.throwIfAborted();
    const unique = [...new Map(items.map((it) => [it.id, it])).values()];
    const features = opts.cache ? await opts.cache.getMany(unique.map((it) => it.id)) : new Map<string, Float32Array>();
    const cached = features.size;
    const failed = new Map<string, string>();
    const todo = unique.filter((it) => !features.has(it.id));
    const total = unique.length;
    opts.onProgress?.(cached, total);
    const batchSize = opts.batchSize ?? 8;
    const tasks: EmbedItem[][] = [];
    for (let i = 0; i < todo.length; i += batchSize) tasks.push(todo.slice(i, i + batchSize));
    const pending = new Map<number, EmbedItem[]>();
    const writes: Promise<void>[] = [];
    let nextTask = 0;
    let done = cached;

    await new Promise<void>((resolve, reject) => {
      const dispatch = (w: PoolWorker) => {
        while (w.inFlight < 2 && nextTask < tasks.length) {
          const taskId = nextTask++;
          pending.set(taskId, tasks[taskId]!);
          w.inFlight++;
          w.worker.postMessage({ taskId, inputs: tasks[taskId]!.map((it) => it.input) } satisfies EmbedTask);
        }
        if (pending.size === 0 && nextTask >= tasks.length) resolve();
      };
      this.onFailure = reject;
      opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true });
      this.onResult = (w, reply) => {
        const batch = pending.get(reply.taskId);
        if (!batch) return;
        pending.delete(reply.taskId);
        w.inFlight--;
        let row = 0;
        batch.forEach((item, i) => {
          const error = reply.errors[i];
          if (error) return void failed.set(item.id, error);
          const f = reply.features.slice(row * this.featureSize, (row + 1) * this.featureSize);
          row++;
          features.set(item.id, f);
          if (opts.cache) writes.push(opts.cache.put(item.id, f));
        });
        done += batch.length;
        opts.onProgress?.(done, total);
        if (opts.signal?.aborted) return reject(opts.signal.reason);
        dispatch(w);
      };
      this.workers.forEach(dispatch);
    }).finally(() => {
      this.onResult = () => {};
      this.onFailure = () => {};
    });
    await Promise.all(writes);
    return { features, failed, cached, computed: todo.length - failed.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/**
 * Embeds items with a pool started for the call (only when something is not cached) and closed
 * after it. Cancelling terminates the threads.
 */
export async function embedItems(items: EmbedItem[], opts: EmbedOptions): Promise<EmbedResult> {
  opts.signal?.throwIfAborted();
  if (opts.cache) {
    const cached = await opts.cache.getMany(items.map((it) => it.id));
    if (items.every((it) => cached.has(it.id))) {
      const total = cached.size;
      opts.onProgress?.(total, total);
      return { features: cached, failed: new Map(), cached: total, computed: 0 };
    }
  }
  const pool = await EmbedPool.start(opts, opts.signal);
  try {
    return await pool.embed(items, opts);
  } finally {
    await pool.close();
  }
}
