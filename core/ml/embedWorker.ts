// Worker thread entry for embedding: one tfjs backend (wasm has no threads in Node, so each
// thread is one core) and one backbone per thread. Decoding of every task starts as soon as
// it arrives (sharp works off-thread), while inference runs the tasks one after another:
// with two tasks in flight, the next batch is decoded while the current one is inferred.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendChoice } from './backend.js';
import { loadBackbone, type Backbone, type BackboneSource } from './backbones/index.js';
import { decodeRgb, mirrorRgb, toBatchTensor } from './preprocess.js';
import type { EmbedTask, EmbedTaskInput, WorkerReply } from './embedProtocol.js';

const { source, backend, maxPixels } = workerData as { source: BackboneSource; backend: BackendChoice; maxPixels?: number };
const port = parentPort!;

async function main(): Promise<void> {
  const info = await initBackend(backend);
  const backbone = await loadBackbone(source);
  const size = backbone.inputSize;
  // The same backbone for the larger views, loaded on first use (one per input size).
  const bySize = new Map<number, Promise<Backbone>>([[size, Promise.resolve(backbone)]]);
  const backboneFor = (s: number) => {
    let b = bySize.get(s);
    if (!b) bySize.set(s, (b = loadBackbone(source, { inputSize: s })));
    return b;
  };
  const sizeOf = (input: EmbedTaskInput) => ((input.kind === 'path' || input.kind === 'rgb') && input.size) || size;
  // Warm-up: the first inference compiles kernels; keep that out of the measured work.
  const warm = toBatchTensor(new Uint8Array(size * size * 3), size, backbone.normalisation);
  backbone.embed(warm);
  warm.dispose();
  port.postMessage({ type: 'ready', backend: info.name } satisfies WorkerReply);

  const decode = async (input: EmbedTaskInput) => {
    if (input.kind === 'rgb') return input.rgb;
    const side = sizeOf(input);
    const rgb = await decodeRgb(input.kind === 'path' ? input.path : input.bytes, side, { maxPixels });
    return input.kind === 'path' && input.mirror ? mirrorRgb(rgb, side) : rgb;
  };
  let queue = Promise.resolve();
  port.on('message', (task: EmbedTask) => {
    const decoded = Promise.allSettled(task.inputs.map(decode));
    queue = queue.then(async () => {
      const results = await decoded;
      const errors = results.map((r) => (r.status === 'rejected' ? String((r.reason as Error)?.message ?? r.reason) : null));
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      let features: Float32Array = new Float32Array(0);
      if (ok.length > 0) {
        const side = sizeOf(task.inputs[0]!);
        const net = await backboneFor(side);
        const pixels = new Uint8Array(ok.length * side * side * 3);
        ok.forEach((rgb, i) => pixels.set(rgb, i * side * side * 3));
        const batch = toBatchTensor(pixels, side, net.normalisation);
        try {
          features = net.embed(batch);
        } finally {
          batch.dispose();
        }
      }
      port.postMessage({ type: 'result', taskId: task.taskId, features, errors } satisfies WorkerReply, [features.buffer as ArrayBuffer]);
    }).catch((err: unknown) => {
      // A failure outside one image (e.g. the larger view's backbone would not load) fails the pool.
      port.postMessage({ type: 'fatal', message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
    });
  });
}

main().catch((err: unknown) => port.postMessage({ type: 'fatal', message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply));
