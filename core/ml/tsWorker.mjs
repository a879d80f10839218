// Starts a TypeScript worker-thread entry under tsx. Node 20 does not apply `--import` loader
// hooks to worker threads, so the worker registers tsx itself and then imports its .ts entry
// (workerData.tsEntry, a file URL). Used only when running from sources (tsx, vitest).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsEntry);
