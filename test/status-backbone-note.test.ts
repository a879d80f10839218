// /status says when the default backbone could not be downloaded: the train and predict
// workers announce the fallback note of their process, and /status prints it per worker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerLine } from '../commands/status.js';
import { resolveBackbone } from '../core/ml/backbones/index.js';
import { listWorkers, type WorkerInfo } from '../core/workerRegistry.js';
import { deadUrl } from './fixtures/modelMirror.js';
import { startStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-status-'));

beforeAll(async () => {
  stack = await startStack({ queues: ['collect', 'train', 'predict'] });
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function announced(): Promise<WorkerInfo[]> {
  return listWorkers(stack.services.redis, stack.config.QUEUE_PREFIX);
}

describe('/status and the backbone fallback', () => {
  it('shows no note while the default backbone is in use', async () => {
    const workers = await announced();
    expect(workers.map((w) => w.queue).sort()).toEqual(['collect', 'predict', 'train']);
    for (const w of workers) {
      expect(w.note).toBeUndefined();
      expect(workerLine(w)).not.toContain('⚠️');
    }
  });

  it('announces the fallback note from the train and predict workers, and /status prints it', async () => {
    // What a training does when the mirror is down: falls back to the bundled backbone.
    const resolved = await resolveBackbone('mobilenet_v2_035', { dataDir: tmp, mirrorUrl: await deadUrl() });
    expect(resolved.source.spec.id).toBe('nsfwjs_mobilenet_v2_140');
    expect(resolved.note).toContain('could not be downloaded');

    // The announcement is refreshed every 10 s; wait for the next one rather than a fixed time.
    let workers: WorkerInfo[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      workers = await announced();
      if (workers.filter((w) => w.note).length === 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const byQueue = Object.fromEntries(workers.map((w) => [w.queue, w]));
    for (const q of ['train', 'predict']) {
      expect(byQueue[q]!.note).toBe(resolved.note);
      expect(workerLine(byQueue[q]!)).toContain(`⚠️ ${resolved.note}`);
    }
    expect(byQueue.collect!.note).toBeUndefined(); // no ML, nothing to say
  }, 45_000);
});
