// The predict worker: downloads the images of a message (through the same guarded downloader
// as collection, with the prediction size cap), classifies them with the requested model
// (kept warm in memory by the Predictor) and returns one prediction per image.
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { Downloader, downloaderOptions } from '../core/collect/download.js';
import { describeReason, isRejectError } from '../core/collect/reasons.js';
import { isUserError } from '../core/errors.js';
import { predictPayload, type Prediction, type PredictResult } from '../core/jobs.js';
import { initBackend } from '../core/ml/backend.js';
import { backboneStatus } from '../core/ml/backbones/index.js';
import { Predictor } from '../core/ml/predictor.js';
import { getRuntime, type WorkerRuntime } from './runtime.js';

let predictor: Predictor | undefined;
let downloader: Downloader | undefined;

/** The backbone note of this process (a fallback used by a training here), for /status. */
const backboneNote = (): string | undefined => backboneStatus()?.note;

export async function init(rt: WorkerRuntime): Promise<{ backend: string; note: () => string | undefined }> {
  const backend = await initBackend(rt.config.TF_BACKEND);
  predictor = new Predictor({
    store: rt.models,
    dataDir: rt.config.DATA_DIR,
    mirrorUrl: rt.config.MODEL_MIRROR_URL,
    backboneSha256: rt.config.BACKBONE_SHA256,
    threshold: rt.config.PREDICT_THRESHOLD,
    maxPixels: rt.config.MAX_IMAGE_PIXELS,
  });
  // One retry only: a photo someone is waiting for is not worth a long backoff.
  downloader = new Downloader({ ...downloaderOptions(rt.config), maxBytes: rt.config.PREDICT_MAX_BYTES, retries: 1 });
  return { backend: backend.name, note: backboneNote };
}

async function fetchImage(url: string, signal?: AbortSignal): Promise<Buffer | { error: string }> {
  try {
    return (await downloader!.download(url, signal)).bytes;
  } catch (err) {
    if (isRejectError(err)) return { error: describeReason(err.reason) };
    throw err;
  }
}

export default async function predict(job: Job, _token?: string, signal?: AbortSignal): Promise<PredictResult> {
  const rt = getRuntime();
  if (!predictor) await init(rt);
  const payload = predictPayload.parse(job.data);
  const { dataset, version } = payload.model;
  const fetched = await Promise.all(payload.images.map((img) => fetchImage(img.url, signal)));
  const readable = fetched.flatMap((f, i) => (Buffer.isBuffer(f) ? [{ i, bytes: f }] : []));
  let outcome;
  try {
    outcome = await predictor!.predict(dataset, readable.map((r) => r.bytes), version);
  } catch (err) {
    // No model, or a version that does not exist: retrying will not help.
    if (isUserError(err)) throw new UnrecoverableError(err.message);
    throw err;
  }
  const predictions: Prediction[] = payload.images.map((img, i) => {
    const f = fetched[i]!;
    if (!Buffer.isBuffer(f)) return { name: img.name, top: [], notSure: true, error: f.error };
    const p = outcome.predictions[readable.findIndex((r) => r.i === i)]!;
    return { name: img.name, top: p.top, notSure: p.notSure, reason: p.reason, noneOfThese: p.noneOfThese, warning: p.warning, error: p.error };
  });
  return { modelVersion: outcome.modelVersion, dataset, classes: outcome.classes, predictions };
}
