// `npm run bench -- reliability` (issue 12): faults against real worker processes and a Redis of
// the benchmark's own (its own port, AOF on), with the fake image search, image host and model
// mirror on loopback. Prints one line:
//   reliability: kill -9 during training recovered in <s> s, completed <n> time(s); redis restart
//   during collection lost <l> images; 50 concurrent predictions answered <k>/50 p95 <ms> ms;
//   20 simultaneous decisions applied <d>
// - kill -9: a train worker is killed mid-training and a new one started at once (an
//   orchestrator's restart); <s> runs from the kill to the job's completion, <n> counts the
//   model versions saved.
// - redis restart: redis-server is stopped (SIGTERM) and started again on the same AOF while a
//   collect worker fills 2 classes x 40 images; <l> is what the dataset misses at the end.
// - predictions: 50 at once through the predict queue (the bot's classify()) to one predict
//   worker process whose model is loaded (one warm-up prediction first, as /model use does).
// - decisions: 20 clicks on one suspect at once, each on its own Redis connection.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { classify, closePredictEvents } from '../bot/predictions.js';
import type { BotContext } from '../bot/types.js';
import { DecisionLog } from '../core/clean/decisions.js';
import { addFromFolder } from '../core/collect/collect.js';
import { addCollectFlow } from '../core/collectFlow.js';
import { loadConfig, type Config } from '../core/config.js';
import { jobId, type DatasetRef } from '../core/jobs.js';
import { createLogger } from '../core/log.js';
import { createQueues, type Queues } from '../core/queues.js';
import { createRedis } from '../core/redis.js';
import { createServices, type Services } from '../core/services.js';
import { startImageHost, type ImageHost } from '../test/fakes/imagehost/server.js';
import { startFakeSearch, type FakeSearch } from '../test/fakes/search/server.js';
import { syntheticImages, SYNTHETIC_CLASSES } from '../test/fixtures/images.js';
import { startModelMirror, type ModelMirror } from '../test/fixtures/modelMirror.js';
import { startWorkerProcess, type WorkerProcess } from '../test/helpers/workerProcess.js';

const PREFIX = 'bench';
const shapes: DatasetRef = { guildId: 'bench', name: 'shapes' };
const bears: DatasetRef = { guildId: 'bench', name: 'bears' };
const BEARS = ['grizzly bear', 'black bear'];
const PER_CLASS = 40;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** redis-server on its own port with AOF in `dir`; restart() stops it cleanly and starts it on the same files. */
class OwnRedis {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''];
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    const probe = createRedis(this.url);
    probe.on('error', () => {}); // refused until the server is up
    try {
      for (let i = 0; i < 100; i++) {
        if (await probe.ping().then(() => true, () => false)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('redis-server did not start');
    } finally {
      probe.disconnect();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

interface Bench {
  config: Config;
  env: Record<string, string>;
  redis: Redis;
  services: Services;
  queues: Queues;
  processes: WorkerProcess[];
}

function worker(b: Bench, queues: string, extra: Record<string, string> = {}): WorkerProcess {
  const p = startWorkerProcess({ ...b.env, WORKER_QUEUES: queues, LOG_LEVEL: 'warn', ...extra });
  b.processes.push(p);
  return p;
}

/** Redis is restarted on purpose: refused connections meanwhile are expected, not news. */
const quiet = <T extends { on(event: 'error', fn: () => void): unknown }>(x: T): T => (x.on('error', () => {}), x);

function events(b: Bench, queue: string): QueueEvents {
  return quiet(new QueueEvents(queue, { connection: quiet(b.redis.duplicate()), prefix: PREFIX }));
}

function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
}

async function killDuringTraining(b: Bench): Promise<{ seconds: number; completions: number }> {
  const folder = path.join(b.config.DATA_DIR, 'import');
  for (const [i, img] of (await syntheticImages(10, { size: 64, seed: 5 })).entries()) {
    await fs.mkdir(path.join(folder, img.label), { recursive: true });
    await fs.writeFile(path.join(folder, img.label, `${i}.jpg`), img.bytes);
  }
  await b.services.datasets.create(shapes, [...SYNTHETIC_CLASSES], 'bench');
  await addFromFolder({ services: b.services, dataset: shapes, folder });
  const trainEvents = events(b, 'train');
  await trainEvents.waitUntilReady();
  const id = jobId('train', shapes.guildId, shapes.name, 'kill9');
  let completions = 0;
  let completedAt = 0;
  trainEvents.on('completed', ({ jobId: j }) => j === id && (completions++, (completedAt = Date.now())));
  const training = new Promise<void>((resolve) => trainEvents.on('progress', ({ jobId: j, data }) => j === id && (data as { stage?: string }).stage === 'training' && resolve()));
  await b.queues.add('train', 'train', { dataset: shapes, epochs: 400 }, { jobId: id, attempts: 2 });
  const first = worker(b, 'train');
  await training;
  first.child.kill('SIGKILL');
  const killedAt = Date.now();
  await first.exited;
  // The orchestrator starts a replacement at once.
  worker(b, 'train');
  await waitFor(async () => completions > 0, 'the killed training to complete', 180_000);
  // Long enough for a second, duplicate run to finish too, were there one.
  await new Promise((r) => setTimeout(r, 5000));
  await trainEvents.close();
  const model = await b.services.models.get(shapes);
  return { seconds: (completedAt - killedAt) / 1000, completions: Math.max(completions, model?.version ?? 0) };
}

async function restartDuringCollection(b: Bench, own: OwnRedis): Promise<number> {
  worker(b, 'collect');
  await b.services.datasets.create(bears, BEARS, 'bench');
  const collectEvents = events(b, 'collect');
  await collectEvents.waitUntilReady();
  const { parentId } = await addCollectFlow(b.redis, PREFIX, { dataset: bears, classes: BEARS, count: PER_CLASS, runId: 'restart' });
  let done = false;
  collectEvents.on('completed', ({ jobId: j }) => j === parentId && (done = true));
  collectEvents.on('failed', ({ jobId: j }) => j === parentId && (done = true));
  const count = async () => (await b.services.datasets.items(bears).catch(() => [])).length;
  await waitFor(async () => (await count()) >= 15, 'the collection to get going', 120_000);
  await own.restart();
  await waitFor(async () => done, 'the collection to finish', 180_000);
  await collectEvents.close();
  return Math.max(0, BEARS.length * PER_CLASS - (await count()));
}

async function concurrentPredictions(b: Bench, host: ImageHost): Promise<{ answered: number; p95: number }> {
  worker(b, 'predict');
  const ctx = { redis: b.redis, config: b.config, queues: b.queues } as unknown as BotContext;
  const model = { dataset: shapes };
  const image = (i: number) => [{ name: `p${i}.jpg`, url: `${host.url}/img/${9000 + i}.jpg` }];
  await classify(ctx, model, image(0), 120_000);
  const times = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const started = Date.now();
      const result = await classify(ctx, model, image(i + 1), 60_000).catch(() => undefined);
      const ok = result && result.predictions.every((p) => !p.error && p.top.length > 0);
      return ok ? Date.now() - started : undefined;
    }),
  );
  await closePredictEvents(ctx);
  const answered = times.filter((t): t is number => t !== undefined).sort((a, c) => a - c);
  const p95 = answered.length ? answered[Math.min(answered.length - 1, Math.ceil(0.95 * answered.length) - 1)]! : NaN;
  return { answered: answered.length, p95 };
}

async function simultaneousDecisions(b: Bench): Promise<number> {
  const item = (await b.services.datasets.items(shapes))[0]!;
  const to = SYNTHETIC_CLASSES.find((c) => c !== item.label)!;
  const connections = Array.from({ length: 20 }, () => createRedis(b.env.REDIS_URL!));
  try {
    const outcomes = await Promise.all(
      connections.map((conn, i) =>
        new DecisionLog(conn, b.services.datasets, PREFIX)
          .decide({ ref: shapes, reportId: 'bench-report', itemId: item.id, action: { type: 'relabel', to }, by: { userId: `u${i}`, name: `user ${i}` }, expectedLabel: item.label })
          .then((r) => r.outcome, () => 'error'),
      ),
    );
    return outcomes.filter((o) => o === 'applied').length;
  } finally {
    for (const c of connections) c.disconnect();
  }
}

export async function run(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kodiak-reliability-'));
  const own = new OwnRedis(await freePort(), path.join(dir, 'redis'));
  await fs.mkdir(path.join(dir, 'redis'));
  let host: ImageHost | undefined;
  let search: FakeSearch | undefined;
  let mirror: ModelMirror | undefined;
  const b = { processes: [] } as unknown as Bench;
  try {
    await own.start();
    const pictures = new Map<number, Buffer>();
    for (const [i, img] of (await syntheticImages(60, { size: 96, seed: 11 })).entries()) pictures.set(i, img.bytes);
    host = await startImageHost({ imageFor: (seed) => (pictures.has(seed % pictures.size) ? Promise.resolve(pictures.get(seed % pictures.size)!) : undefined) });
    const hostUrl = host.url;
    // 60 different good pictures per class, more than the 40 wanted.
    search = await startFakeSearch({ images: (_p, q) => Array.from({ length: 60 }, (_, i) => ({ url: `${hostUrl}/img/${BEARS.indexOf(q) * 60 + i}.jpg?c=${BEARS.indexOf(q)}`, title: `${q} ${i}` })) });
    mirror = await startModelMirror();
    b.env = {
      REDIS_URL: own.url,
      QUEUE_PREFIX: PREFIX,
      DATA_DIR: path.join(dir, 'data'),
      MODEL_MIRROR_URL: mirror.url,
      ALLOW_PRIVATE_URLS: 'true',
      SEARCH_PROVIDERS: 'openverse',
      OPENVERSE_URL: search.url,
      EMBED_THREADS: '1',
      DOWNLOAD_RETRIES: '1',
    };
    b.config = loadConfig(b.env);
    b.redis = quiet(createRedis(own.url));
    b.services = createServices(b.config, b.redis, createLogger('silent'));
    b.queues = createQueues(b.redis, PREFIX);

    const kill = await killDuringTraining(b);
    const lost = await restartDuringCollection(b, own);
    const predictions = await concurrentPredictions(b, host);
    const applied = await simultaneousDecisions(b);
    console.log(
      `reliability: kill -9 during training recovered in ${kill.seconds.toFixed(0)} s, completed ${kill.completions} time(s); ` +
        `redis restart during collection lost ${lost} images; 50 concurrent predictions answered ${predictions.answered}/50 p95 ${Math.round(predictions.p95)} ms; ` +
        `20 simultaneous decisions applied ${applied}`,
    );
  } finally {
    for (const p of b.processes) p.child.kill('SIGKILL');
    await Promise.all(b.processes.map((p) => p.exited));
    await b.queues?.close();
    b.redis?.disconnect();
    await own.stop();
    await Promise.all([host?.close(), search?.close(), mirror?.close()]);
    await fs.rm(dir, { recursive: true, force: true });
  }
}
