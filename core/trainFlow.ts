// /train as BullMQ jobs: a `train` job alone when the dataset has images, or a flow whose
// `collect` children (one per class) fill the dataset before their `train` parent runs.
// The id of the running training is recorded per dataset so /cancel can find it.
import { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import { collectChildren } from './collectFlow.js';
import { jobId, trainPayload, type DatasetRef, type TrainPayload } from './jobs.js';
import { DEFAULT_JOB_OPTIONS, type Queues } from './queues.js';

/** Presets a user can train without listing classes; the lesson's is `bears`. */
export const PRESETS: Readonly<Record<string, readonly string[]>> = {
  bears: ['grizzly bear', 'black bear', 'teddy bear'],
  cats: ['tabby cat', 'siamese cat', 'persian cat'],
  birds: ['robin', 'sparrow', 'blue jay'],
};

export interface TrainRequest {
  train: TrainPayload;
  /** Classes to collect images for first; none = train on what the dataset has. */
  collect?: { classes: string[]; count: number };
  /** Makes job ids unique per request and stable on retry (e.g. the interaction id). */
  runId: string;
}

const runningKey = (prefix: string, ref: DatasetRef) => `${prefix}:running:train:${ref.guildId}:${ref.name}`;

/** Enqueue a training (with its collection when asked); returns the train job's id. */
export async function enqueueTraining(redis: Redis, prefix: string, queues: Queues, req: TrainRequest): Promise<string> {
  const data = trainPayload.parse(req.train);
  const id = jobId('train', data.dataset.guildId, data.dataset.name, req.runId);
  // Trainings are expensive and not worth retrying blindly: a failure is reported instead.
  const opts = { ...DEFAULT_JOB_OPTIONS, attempts: 2, jobId: id };
  if (req.collect && req.collect.classes.length) {
    const producer = new FlowProducer({ connection: redis, prefix });
    try {
      const children = collectChildren({ dataset: data.dataset, classes: req.collect.classes, count: req.collect.count, target: data.target, runId: req.runId });
      await producer.add({ name: 'train', queueName: 'train', data, opts, children });
    } finally {
      await producer.close();
    }
  } else {
    await queues.add('train', 'train', data, opts);
  }
  await redis.set(runningKey(prefix, data.dataset), id, 'EX', 24 * 3600);
  return id;
}

/** The id of the dataset's most recent training job, if one was started in the last day. */
export async function latestTrainingJob(redis: Redis, prefix: string, ref: DatasetRef): Promise<string | undefined> {
  return (await redis.get(runningKey(prefix, ref))) ?? undefined;
}
