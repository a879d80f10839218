// A predict worker process for bench/train.ts: a BullMQ Worker that classifies a local image
// file with core/ml's Predictor (the real worker in workers/ downloads attachments instead).
// Run by the bench with child_process.fork; configured through the environment.
import { Worker } from 'bullmq';
import { readFile } from 'node:fs/promises';
import { initBackend, type BackendChoice } from '../core/ml/backend.js';
import { ModelStore } from '../core/ml/models.js';
import { Predictor } from '../core/ml/predictor.js';
import { createRedis } from '../core/redis.js';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

async function main(): Promise<void> {
  await initBackend((process.env.TF_BACKEND as BackendChoice | undefined) ?? 'auto');
  const dataDir = env('DATA_DIR');
  const ref = JSON.parse(env('BENCH_MODEL_REF')) as { guildId: string; name: string };
  const predictor = new Predictor({ store: new ModelStore(dataDir), dataDir });
  // Load the model and run it once, so the first timed request does not compile kernels.
  if (process.env.BENCH_WARM_IMAGE) await predictor.predict(ref, [await readFile(process.env.BENCH_WARM_IMAGE)]);
  else await predictor.warm(ref);
  const connection = createRedis(env('REDIS_URL'));
  const worker = new Worker(
    'predict',
    async (job) => {
      const { files } = job.data as { files: string[] };
      const images = await Promise.all(files.map((f) => readFile(f)));
      return predictor.predict(ref, images);
    },
    { connection, prefix: env('QUEUE_PREFIX'), concurrency: 1 },
  );
  await worker.waitUntilReady();
  process.send?.('ready');
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    await worker.close();
    connection.disconnect();
    predictor.dispose();
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
