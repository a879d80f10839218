// Classifies images with a saved model version. Keeps the most recently used models (head +
// backbone) in memory, so a channel's photos do not reload anything; backbones are shared by
// models that use the same one. Each image gets its top classes, or "not sure" with a reason: the
// best probability is under the threshold, the image looks like none of the classes (novelty.ts:
// far from every training image, or less sure than the model is of nearly every validation
// image), or it is too small to tell.
import { loadBackbone, requireSpec, resolveBackbone, type Backbone, type BackboneSource } from './backbones/index.js';
import { loadHead, type TrainedHead } from './head.js';
import type { DatasetRef } from '../jobs.js';
import type { ModelMeta, ModelStore } from './models.js';
import sharp from 'sharp';
import { judgeNovelty, TINY_IMAGE_SIDE, type Novelty } from './novelty.js';
import { decodeRgb, mirrorRgb, toBatchTensor, type ImageInput } from './preprocess.js';
import { averageViews } from './train.js';

export interface PredictorOptions {
  store: ModelStore;
  dataDir: string;
  mirrorUrl?: string;
  backboneSha256?: string;
  /** "Not sure" below this top probability. */
  threshold?: number;
  topK?: number;
  /** How many models (and backbones) stay loaded. */
  maxModels?: number;
  maxPixels?: number;
}

export interface ImagePrediction {
  top: { class: string; p: number }[];
  notSure: boolean;
  /** Why it is not sure, when it is and the image was read. */
  reason?: string;
  /** Not just unsure between classes: the image looks like none of them (novelty.ts, or tiny). */
  noneOfThese?: boolean;
  /** Set when the image is readable but too small to tell (under 32 px on a side). */
  warning?: string;
  /** Set when the image could not be read; top is then empty. */
  error?: string;
}

export interface PredictOutcome {
  modelVersion: number;
  classes: string[];
  backbone: string;
  predictions: ImagePrediction[];
}

interface LoadedModel {
  meta: ModelMeta;
  head: TrainedHead;
  backboneKey: string;
  source: BackboneSource;
  novelty?: Novelty;
}

/** A Map used as an LRU: get() moves the entry to the back; the front is evicted first. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number, private readonly onEvict: (v: V) => void) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.max) {
      const [oldest, value] = this.map.entries().next().value as [string, V];
      this.map.delete(oldest);
      this.onEvict(value);
    }
  }
  deleteIf(key: string, v: V): void {
    if (this.map.get(key) === v) this.map.delete(key);
  }
  clear(): void {
    for (const v of this.map.values()) this.onEvict(v);
    this.map.clear();
  }
}

/** The shorter side of the image as stored (EXIF rotation does not change it). */
async function smallerSide(input: ImageInput): Promise<number> {
  const m = await sharp(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)).metadata();
  return Math.min(m.width ?? 0, m.height ?? 0);
}

export function topClasses(proba: Float32Array, classes: string[], k: number): { class: string; p: number }[] {
  return classes
    .map((c, i) => ({ class: c, p: proba[i]! }))
    .sort((a, b) => b.p - a.p)
    .slice(0, k);
}

export class Predictor {
  private readonly models: Lru<Promise<LoadedModel>>;
  private readonly backbones: Lru<Promise<Backbone>>;

  constructor(private readonly opts: PredictorOptions) {
    const max = opts.maxModels ?? 4;
    this.models = new Lru(max, (p) => void p.then((m) => m.head.dispose(), () => {}));
    this.backbones = new Lru(Math.min(max, 2), (p) => void p.then((b) => b.dispose(), () => {}));
  }

  private async loadModel(ref: DatasetRef, version?: number): Promise<LoadedModel> {
    const meta = await this.opts.store.require(ref, version);
    const key = `${ref.guildId}/${ref.name}/v${meta.version}`;
    let entry = this.models.get(key);
    if (!entry) {
      entry = (async () => {
        const head = loadHead(await this.opts.store.head(ref, meta.version));
        const tunedDir = this.opts.store.tunedBackboneDir(ref, meta.version);
        const source: BackboneSource = tunedDir
          ? { spec: requireSpec(meta.backbone), dir: tunedDir }
          : (await resolveBackbone(meta.backbone, { dataDir: this.opts.dataDir, mirrorUrl: this.opts.mirrorUrl, sha256: this.opts.backboneSha256, allowFallback: false })).source;
        return { meta, head, source, backboneKey: tunedDir ?? meta.backbone, novelty: await this.opts.store.novelty(meta) };
      })();
      this.models.set(key, entry);
      // A failed load is forgotten, so the next photo tries again.
      entry.catch(() => this.models.deleteIf(key, entry!));
    }
    return entry;
  }

  private backbone(model: LoadedModel): Promise<Backbone> {
    let b = this.backbones.get(model.backboneKey);
    if (!b) {
      b = loadBackbone(model.source);
      this.backbones.set(model.backboneKey, b);
      b.catch(() => this.backbones.deleteIf(model.backboneKey, b!));
    }
    return b;
  }

  /** Loads a model ahead of its first photo (e.g. on /model use). */
  async warm(ref: DatasetRef, version?: number): Promise<void> {
    await this.backbone(await this.loadModel(ref, version));
  }

  async predict(ref: DatasetRef, images: ImageInput[], version?: number): Promise<PredictOutcome> {
    const model = await this.loadModel(ref, version);
    const backbone = await this.backbone(model);
    const size = backbone.inputSize;
    const decoded = await Promise.allSettled(images.map((img) => decodeRgb(img, size, { maxPixels: this.opts.maxPixels })));
    const ok = decoded.flatMap((d, i) => (d.status === 'fulfilled' ? [{ i, rgb: d.value }] : []));
    const predictions: ImagePrediction[] = decoded.map((d) => ({ top: [], notSure: true, error: d.status === 'rejected' ? 'not an image kodiak can read' : undefined }));
    if (ok.length) {
      const embed = (rgbs: Uint8Array[]) => {
        const pixels = new Uint8Array(rgbs.length * size * size * 3);
        rgbs.forEach((rgb, j) => pixels.set(rgb, j * size * size * 3));
        // The normalisation the model was trained with (saved with it), which a tuned backbone keeps.
        const batch = toBatchTensor(pixels, size, model.meta.preprocessing.normalisation);
        try {
          return backbone.embed(batch);
        } finally {
          batch.dispose();
        }
      };
      const features = embed(ok.map((o) => o.rgb));
      // Averaged over the views the model was trained on (features.ts): the original and its mirror image.
      const proba = model.meta.preprocessing.views?.includes('mirror')
        ? averageViews(model.head.predictProba(features), model.head.predictProba(embed(ok.map((o) => mirrorRgb(o.rgb, size)))))
        : model.head.predictProba(features);
      const k = model.meta.classes.length;
      const threshold = this.opts.threshold ?? 0.5;
      const verdicts = model.novelty ? judgeNovelty(model.novelty, features, proba, k) : [];
      const sides = await Promise.all(ok.map((o) => smallerSide(images[o.i]!)));
      ok.forEach((o, j) => {
        const top = topClasses(proba.subarray(j * k, (j + 1) * k), model.meta.classes, this.opts.topK ?? 3);
        const verdict = verdicts[j];
        const tiny = sides[j]! < TINY_IMAGE_SIDE ? `the image is only ${sides[j]} px on a side: too small to tell` : undefined;
        const reason = tiny
          ? tiny
          : verdict?.refused
            ? verdict.reason === 'far'
              ? 'it is far from every image the model was trained on'
              : 'no class stands out (the model is surer of nearly every validation image)'
            : top[0]!.p < threshold
              ? `the best probability is under ${threshold}`
              : undefined;
        const noneOfThese = tiny !== undefined || verdict?.refused === true;
        predictions[o.i] = { top, notSure: reason !== undefined, reason, noneOfThese: noneOfThese || undefined, warning: tiny };
      });
    }
    return { modelVersion: model.meta.version, classes: model.meta.classes, backbone: model.meta.backbone, predictions };
  }

  dispose(): void {
    this.models.clear();
    this.backbones.clear();
  }
}
