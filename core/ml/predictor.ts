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
import { viewSpec, type View } from './views.js';

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
    // Up to two backbones, each at its own input size and the larger views' size.
    this.backbones = new Lru(2 * Math.min(max, 2), (p) => void p.then((b) => b.dispose(), () => {}));
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

  /** The model's backbone, for pictures of `inputSize` px (default: its own input size). */
  private backbone(model: LoadedModel, inputSize?: number): Promise<Backbone> {
    const key = inputSize === undefined ? model.backboneKey : `${model.backboneKey}@${inputSize}`;
    let b = this.backbones.get(key);
    if (!b) {
      b = loadBackbone(model.source, { inputSize });
      this.backbones.set(key, b);
      b.catch(() => this.backbones.deleteIf(key, b!));
    }
    return b;
  }

  /** Loads a model ahead of its first photo (e.g. on /model use). */
  async warm(ref: DatasetRef, version?: number): Promise<void> {
    const model = await this.loadModel(ref, version);
    await Promise.all(this.viewsOf(model).map((v) => this.backbone(model, viewSpec(v).size)));
  }

  private viewsOf(model: LoadedModel): View[] {
    return model.meta.preprocessing.views ?? ['original'];
  }

  /**
   * The head's probabilities averaged over the views the model was trained on (views.ts), and
   * the original view's features (for the novelty check). `rgb` are the pictures decoded at the
   * backbone's own input size.
   */
  private async viewProbabilities(model: LoadedModel, images: ImageInput[], rgb: Uint8Array[]): Promise<{ proba: Float32Array; logits: Float32Array; features: Float32Array }> {
    const probas: Float32Array[] = [];
    const logits: Float32Array[] = [];
    let features: Float32Array | undefined;
    const decodedAt = new Map<number, Promise<Uint8Array[]>>(); // a view and its mirror share one decode
    for (const view of this.viewsOf(model)) {
      const spec = viewSpec(view);
      const backbone = await this.backbone(model, spec.size);
      const size = backbone.inputSize;
      if (!decodedAt.has(size)) decodedAt.set(size, spec.size === undefined ? Promise.resolve(rgb) : Promise.all(images.map((img) => decodeRgb(img, size, { maxPixels: this.opts.maxPixels }))));
      const decoded = await decodedAt.get(size)!;
      const pixels = new Uint8Array(decoded.length * size * size * 3);
      decoded.forEach((d, j) => pixels.set(spec.mirror ? mirrorRgb(d, size) : d, j * size * size * 3));
      // The normalisation the model was trained with (saved with it), which a tuned backbone keeps.
      const batch = toBatchTensor(pixels, size, model.meta.preprocessing.normalisation);
      let f: Float32Array;
      try {
        f = backbone.embed(batch);
      } finally {
        batch.dispose();
      }
      if (view === 'original') features = f;
      probas.push(model.head.predictProba(f));
      logits.push(model.head.predictLogits(f));
    }
    return { proba: averageViews(...probas), logits: averageViews(...logits), features: features! };
  }

  async predict(ref: DatasetRef, images: ImageInput[], version?: number): Promise<PredictOutcome> {
    const model = await this.loadModel(ref, version);
    const backbone = await this.backbone(model);
    const size = backbone.inputSize;
    const decoded = await Promise.allSettled(images.map((img) => decodeRgb(img, size, { maxPixels: this.opts.maxPixels })));
    const ok = decoded.flatMap((d, i) => (d.status === 'fulfilled' ? [{ i, rgb: d.value }] : []));
    const predictions: ImagePrediction[] = decoded.map((d) => ({ top: [], notSure: true, error: d.status === 'rejected' ? 'not an image kodiak can read' : undefined }));
    if (ok.length) {
      const { proba, logits, features } = await this.viewProbabilities(model, ok.map((o) => images[o.i]!), ok.map((o) => o.rgb));
      const k = model.meta.classes.length;
      const threshold = this.opts.threshold ?? 0.5;
      const verdicts = model.novelty ? judgeNovelty(model.novelty, features, { proba, logits }, k) : [];
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
              : 'no class responds to it as strongly as to nearly every validation image'
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
