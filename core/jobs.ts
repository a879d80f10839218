// The contract between the bot and the workers: queue names and the payload and result of
// every job, validated with zod at both ends. This is the only module both sides share.
import { z } from 'zod';
import { QUEUE_NAMES, SEARCH_PROVIDER_IDS, type QueueName } from './config.js';

export { QUEUE_NAMES, type QueueName };

export const DATASET_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export const datasetRef = z.object({
  /** The Discord guild (or `local` for the command line) that owns the dataset. */
  guildId: z.string().min(1),
  name: z.string().regex(DATASET_NAME, 'dataset names are 1-32 lowercase letters, digits, - or _'),
});
export type DatasetRef = z.infer<typeof datasetRef>;

/** Where the bot reports on a job: a channel, the message it edits with progress, who asked. */
export const reportTarget = z.object({
  channelId: z.string(),
  progressMessageId: z.string().optional(),
  userId: z.string(),
});
export type ReportTarget = z.infer<typeof reportTarget>;

export const imageSource = z.enum(['search', ...SEARCH_PROVIDER_IDS]);

// --- collect: one job per class -------------------------------------------------------
export const collectPayload = z.object({
  dataset: datasetRef,
  className: z.string().min(1).max(100),
  /** The search query; defaults to the class name. */
  query: z.string().min(1).max(200),
  count: z.number().int().min(1).max(1000),
  source: imageSource.default('search'),
  target: reportTarget.optional(),
});
export type CollectPayload = z.infer<typeof collectPayload>;

export const collectProgress = z.object({
  className: z.string(),
  searched: z.number().int(),
  downloaded: z.number().int(),
  failed: z.record(z.string(), z.number().int()),
  duplicates: z.number().int(),
  kept: z.number().int(),
  wanted: z.number().int(),
});
export type CollectProgress = z.infer<typeof collectProgress>;

/** What one search provider did for one class: the collection report's row. */
export const providerReport = z.object({
  /** Search results it handed out. */
  results: z.number().int(),
  /** Images kept from them. */
  kept: z.number().int(),
  /** Its images that were not kept, by reason (reasons.ts codes, and 'duplicate'). */
  refused: z.record(z.string(), z.number().int()),
  /** Set when it was rate-limited or paced: no request was made inside the cooldown. */
  throttled: z.string().optional(),
  /** Set when it refused us (401/403) or was skipped because it would. */
  refusedByProvider: z.string().optional(),
  /** Set when it failed otherwise (errors, timeouts). */
  failed: z.string().optional(),
});
export type ProviderReport = z.infer<typeof providerReport>;

export const collectResult = collectProgress.extend({
  /** Which provider produced how many kept images. */
  providers: z.record(z.string(), z.number().int()),
  /** Providers that failed or were rate-limited, with the reason shown to the user. */
  providerErrors: z.record(z.string(), z.string()),
  /** Per provider: results, kept, refused by reason, throttled, refused by the provider. */
  sources: z.record(z.string(), providerReport).optional(),
  /** Set when the class's job failed for good; the counts are its last progress. */
  error: z.string().optional(),
});
export type CollectResult = z.infer<typeof collectResult>;

// --- train ---------------------------------------------------------------------------
export const trainPayload = z.object({
  dataset: datasetRef,
  epochs: z.number().int().min(1).max(500).optional(),
  lr: z.number().positive().max(10).optional(),
  backbone: z.string().optional(),
  seed: z.number().int().min(0).optional(),
  target: reportTarget.optional(),
  /** The run's quota lease (core/quotas.ts), released when this last job of the run ends. */
  lease: z.string().optional(),
});
export type TrainPayload = z.infer<typeof trainPayload>;

/** The ML core's stages (core/ml/types.ts TrainStage) plus the worker's own. */
export const trainStage = z.enum(['waiting', 'backbone', 'embedding', 'training', 'evaluation', 'fine-tuning', 'saving', 'cleaning']);
export type TrainStage = z.infer<typeof trainStage>;

/** What the train worker reports as job progress; the bot renders it in the progress message. */
export const trainProgress = z.object({
  stage: trainStage,
  done: z.number(),
  total: z.number(),
  detail: z.string().optional(),
});
export type TrainProgress = z.infer<typeof trainProgress>;

export const perClassMetrics = z.record(
  z.string(),
  z.object({ precision: z.number(), recall: z.number(), n: z.number().int() }),
);

export const trainResult = z.object({
  dataset: datasetRef,
  modelVersion: z.number().int(),
  backbone: z.string(),
  backboneNote: z.string().optional(),
  backend: z.string(),
  classes: z.array(z.string()),
  accuracy: z.number(),
  errorRate: z.number(),
  /** The version this one replaces, scored on this one's validation images with current labels. */
  previous: z.object({ modelVersion: z.number().int(), accuracy: z.number() }).optional(),
  previousNote: z.string().optional(),
  perClass: perClassMetrics,
  confusion: z.array(z.array(z.number().int())),
  nTrain: z.number().int(),
  nValid: z.number().int(),
  seconds: z.number(),
  fineTune: z.string().optional(),
  /** Names of the charts saved with the model version (ModelStore.chartPath). */
  charts: z.array(z.string()),
  /** What the collection children of a /train flow gathered, when there were any. */
  collected: z.array(collectResult).optional(),
});
export type TrainResult = z.infer<typeof trainResult>;

// --- clean ---------------------------------------------------------------------------
export const cleanKind = z.enum(['labels', 'duplicates', 'outliers', 'quality', 'all']);
export type CleanKind = z.infer<typeof cleanKind>;

export const cleanPayload = z.object({
  dataset: datasetRef,
  kind: cleanKind.default('all'),
  count: z.number().int().min(1).max(100).default(10),
  /** Page through suspects already found ("show 10 more"). */
  offset: z.number().int().min(0).default(0),
  target: reportTarget.optional(),
});
export type CleanPayload = z.infer<typeof cleanPayload>;

// --- predict -------------------------------------------------------------------------
export const predictImage = z.object({ name: z.string(), url: z.string().url() });

export const predictPayload = z.object({
  model: z.object({ dataset: datasetRef, version: z.number().int().optional() }),
  images: z.array(predictImage).min(1).max(10),
  target: reportTarget.extend({ replyToMessageId: z.string().optional() }).optional(),
});
export type PredictPayload = z.infer<typeof predictPayload>;

export const prediction = z.object({
  name: z.string(),
  top: z.array(z.object({ class: z.string(), p: z.number() })),
  notSure: z.boolean(),
  /** Why it is not sure: far from the training images, no class stands out, too small, ... */
  reason: z.string().optional(),
  /** "None of these": the image looks like none of the model's classes (not just unsure between them). */
  noneOfThese: z.boolean().optional(),
  warning: z.string().optional(),
  error: z.string().optional(),
});
export type Prediction = z.infer<typeof prediction>;

export const predictResult = z.object({
  modelVersion: z.number().int(),
  dataset: datasetRef,
  /** The model's classes (for "this does not look like any of: ..."). */
  classes: z.array(z.string()).optional(),
  predictions: z.array(prediction),
});
export type PredictResult = z.infer<typeof predictResult>;

// --- notify: results the bot posts (consumed inside the bot process) -------------------
export const notifyPayload = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('collect-done'), target: reportTarget, dataset: datasetRef, results: z.array(collectResult) }),
  z.object({ kind: z.literal('train-done'), target: reportTarget, result: trainResult }),
  z.object({ kind: z.literal('clean-done'), target: reportTarget, dataset: datasetRef, reportId: z.string() }),
  z.object({ kind: z.literal('predict-done'), target: reportTarget.extend({ replyToMessageId: z.string().optional() }), result: predictResult }),
  z.object({ kind: z.literal('job-failed'), target: reportTarget, queue: z.enum(QUEUE_NAMES), message: z.string() }),
]);
export type NotifyPayload = z.infer<typeof notifyPayload>;

/** Each queue's payload schema, so both ends validate with the same code. */
export const payloadSchemas = {
  collect: collectPayload,
  train: trainPayload,
  clean: cleanPayload,
  predict: predictPayload,
  notify: notifyPayload,
} satisfies Record<QueueName, z.ZodType>;

export type PayloadOf<Q extends QueueName> = z.infer<(typeof payloadSchemas)[Q]>;

/** A stable job id so that the same request run twice is one job (BullMQ dedupes by id). */
export function jobId(...parts: (string | number)[]): string {
  return parts.map((p) => String(p).replace(/[:\s]/g, '_')).join('.');
}
