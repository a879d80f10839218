// Handing running jobs back to their queue when the process is told to stop (SIGTERM from an
// orchestrator, Ctrl-C). Waiting for a training to finish outlives any grace period, and a
// process killed after it leaves the job "active" until its lock expires; so the running jobs
// are aborted (their AbortSignal) and moved back to `wait` with their attempt count unchanged,
// for another worker (or this one, restarted) to take at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { WaitingError, type Job, type Worker } from 'bullmq';
import type { Logger } from '../core/log.js';

type Processor = (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>;

export class JobHandBack {
  private closing = false;
  private readonly running = new Map<string, { job: Job; token?: string; handedBack?: Promise<unknown> }>();

  constructor(private readonly log: Logger) {}

  /** `processor`, tracked: when it ends by error because we are closing, the job goes back to wait. */
  wrap(processor: Processor): Processor {
    return async (job, token, signal) => {
      const key = `${job.queueName}:${job.id}`;
      this.running.set(key, { job, token });
      try {
        return await processor(job, token, signal);
      } catch (err) {
        if (!this.closing) throw err;
        await this.handBack(key);
        // Tells BullMQ the job was moved, not failed: no attempt is used up, no 'failed' event.
        throw new WaitingError();
      } finally {
        this.running.delete(key);
      }
    };
  }

  private handBack(key: string): Promise<unknown> {
    const entry = this.running.get(key);
    if (!entry) return Promise.resolve();
    entry.handedBack ??= entry.job.moveToWait(entry.token).then(
      () => this.log.info({ queue: entry.job.queueName, jobId: entry.job.id }, 'job handed back to the queue'),
      (err: unknown) => this.log.warn({ err, queue: entry.job.queueName, jobId: entry.job.id }, 'could not hand a job back; it will be retried when its lock expires'),
    );
    return entry.handedBack;
  }

  /**
   * Abort every running job and close the workers. Jobs whose processor stops within `graceMs`
   * hand themselves back; the rest are moved back from here, and the workers closed by force.
   */
  async close(workers: Worker[], graceMs: number): Promise<void> {
    this.closing = true;
    for (const w of workers) w.cancelAllJobs('the worker is shutting down');
    const closed = Promise.all(workers.map((w) => w.close()));
    const inTime = await Promise.race([closed.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (inTime) return;
    this.log.warn({ jobs: [...this.running.keys()], graceMs }, 'jobs did not stop within the grace period; handing them back');
    await Promise.all([...this.running.keys()].map((key) => this.handBack(key)));
    await Promise.all(workers.map((w) => w.close(true)));
  }
}
