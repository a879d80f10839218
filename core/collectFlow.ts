// A collection as a BullMQ flow: one `collect` child job per class under one parent that runs
// once every child has finished (or failed for good). For /dataset collect the parent is a
// `collect-summary` job on the collect queue that gathers the children's results and hands
// them to the bot; /train puts the same children under its `train` job instead.
import { FlowProducer, type FlowJob, type FlowJobNode } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { collectPayload, datasetRef, jobId, reportTarget, type CollectPayload, type DatasetRef, type ReportTarget } from './jobs.js';
import { DEFAULT_JOB_OPTIONS } from './queues.js';

/** The job name of the parent that summarises a standalone collection. */
export const COLLECT_SUMMARY_JOB = 'collect-summary';

export const collectSummaryPayload = z.object({
  dataset: datasetRef,
  /** The classes asked for, in order, so a class whose job vanished is still reported. */
  classes: z.array(z.string()).min(1),
  target: reportTarget.optional(),
  /** The run's quota lease (core/quotas.ts), released when the summary job ends. */
  lease: z.string().optional(),
});
export type CollectSummaryPayload = z.infer<typeof collectSummaryPayload>;

export interface CollectRequest {
  dataset: DatasetRef;
  classes: string[];
  /** Images wanted per class in total (images already there count). */
  count: number;
  source?: CollectPayload['source'];
  target?: ReportTarget;
  /** Makes this run's job ids unique and stable, e.g. the Discord interaction id. */
  runId: string;
  lease?: string;
}

/**
 * One collect child per class. `ignoreDependencyOnFailure` lets the parent run even when a
 * class fails for good, so the user still gets a summary of the others. FlowProducer does not
 * apply a queue's default job options, so retries are set here.
 */
export function collectChildren(req: CollectRequest): FlowJobNode[] {
  return req.classes.map((className, i) => ({
    name: 'collect',
    queueName: 'collect',
    data: collectPayload.parse({ dataset: req.dataset, className, query: className, count: req.count, source: req.source ?? 'search', target: req.target }),
    opts: { ...DEFAULT_JOB_OPTIONS, jobId: jobId('collect', req.dataset.guildId, req.dataset.name, req.runId, i), ignoreDependencyOnFailure: true },
  }));
}

/** The whole flow of a standalone collection: the summary parent with its per-class children. */
export function collectSummaryFlow(req: CollectRequest): FlowJob {
  const data: CollectSummaryPayload = collectSummaryPayload.parse({ dataset: req.dataset, classes: req.classes, target: req.target, lease: req.lease });
  return {
    name: COLLECT_SUMMARY_JOB,
    queueName: 'collect',
    data,
    opts: { ...DEFAULT_JOB_OPTIONS, jobId: jobId(COLLECT_SUMMARY_JOB, req.dataset.guildId, req.dataset.name, req.runId) },
    children: collectChildren(req),
  };
}

/** Enqueue a standalone collection; returns the parent's id and the children's ids in class order. */
export async function addCollectFlow(redis: Redis, prefix: string, req: CollectRequest): Promise<{ parentId: string; childIds: string[] }> {
  const producer = new FlowProducer({ connection: redis, prefix });
  try {
    const node = await producer.add(collectSummaryFlow(req));
    return { parentId: node.job.id!, childIds: (node.children ?? []).map((c) => c.job.id!) };
  } finally {
    // The connection is shared (passed as an instance), so closing the producer leaves it open.
    await producer.close();
  }
}
