// The lesson's second stage: unfreeze the backbone and train it with the head, with
// discriminative learning rates (early layers learn slowest, the head fastest), on augmented
// images (random crop + flip). It needs gradients of convolutions (Conv2DBackpropFilter), which
// the TensorFlow backends and the cpu backend have and wasm does not. BatchNorm keeps its
// running statistics (inference mode), which is steadier with the small batches used here.
import * as tf from '@tensorflow/tfjs';
import { AdamW } from './adamw.js';
import type { BackendInfo } from './backend.js';
import type { Backbone } from './backbones/index.js';
import { evaluate } from './evaluate.js';
import type { EpochStats, HeadJSON } from './head.js';
import { forward, fromB64, toB64, type Params } from './headCore.js';
import { augmentedRgb, decodeRgb, toBatchTensor, type ImageInput } from './preprocess.js';
import { permutation, seededRandom } from './random.js';
import { oneCycle } from './schedule.js';

export interface FineTuneSample {
  path?: string;
  input?: ImageInput;
  y: number;
}

export interface FineTuneOptions {
  backbone: Backbone;
  head: HeadJSON;
  classes: string[];
  train: FineTuneSample[];
  valid: FineTuneSample[];
  epochs: number;
  /** Peak learning rate of the head; the backbone's groups get lr/10 and lr/100. */
  lr: number;
  batchSize?: number;
  weightDecay?: number;
  dropout?: number;
  augment?: boolean;
  seed?: number;
  signal?: AbortSignal;
  onEpoch?: (e: EpochStats) => void;
}

export interface FineTuneResult {
  head: HeadJSON;
  history: EpochStats[];
  validProba: Float32Array;
  /** Learning rates of the groups: early backbone, late backbone, head. */
  lrs: number[];
  /** The tuned backbone as model.json + weights.bin, to save with the model version. */
  backboneArtifacts: { modelJson: Record<string, unknown>; weights: Uint8Array };
}

/** Why fine-tuning cannot run on this backend, or undefined when it can. */
export function fineTuneUnavailable(backend: BackendInfo): string | undefined {
  if (backend.fineTuneCapable) return undefined;
  return `the ${backend.name} backend has no gradient kernels for convolutions (Conv2DBackpropFilter); fine-tuning the backbone needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu`;
}

function headParams(json: HeadJSON): Params {
  return {
    mean: tf.tensor1d(fromB64(json.mean)),
    std: tf.tensor1d(fromB64(json.std)),
    vars: json.layers.flatMap((l) => [
      tf.tidy(() => tf.variable(tf.tensor2d(fromB64(l.kernel), [l.inputs, l.units]))),
      tf.tidy(() => tf.variable(tf.tensor1d(fromB64(l.bias)))),
    ]),
  };
}

async function batchTensor(samples: FineTuneSample[], backbone: Backbone, random: () => number | undefined, augment: boolean): Promise<tf.Tensor4D> {
  const size = backbone.inputSize;
  const rgbs = await Promise.all(
    samples.map((s) => {
      const input = s.input ?? s.path!;
      return augment ? augmentedRgb(input, size, random as () => number) : decodeRgb(input, size);
    }),
  );
  const pixels = new Uint8Array(rgbs.length * size * size * 3);
  rgbs.forEach((rgb, i) => pixels.set(rgb, i * size * size * 3));
  return toBatchTensor(pixels, size, backbone.normalisation);
}

/** A LayersModel as model.json + weights.bin contents (the fine-tuned backbone, an export's backbone). */
export async function captureArtifacts(model: tf.LayersModel, generatedBy = 'kodiak fine-tune'): Promise<FineTuneResult['backboneArtifacts']> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = captured!;
  const weights = new Uint8Array(a.weightData as ArrayBuffer);
  return {
    modelJson: { format: 'layers-model', generatedBy, modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] },
    weights,
  };
}

export async function fineTuneBackbone(o: FineTuneOptions): Promise<FineTuneResult> {
  const model = o.backbone.featureModel;
  if (!model) throw new Error(`backbone ${o.backbone.id} has no trainable feature model`);
  const { epochs, lr, batchSize = 16, weightDecay = 1e-2, dropout = 0.2, augment = true, seed = 42 } = o;
  const params = headParams(o.head);
  const backboneVars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const half = Math.floor(backboneVars.length / 2);
  const groups = [backboneVars.slice(0, half), backboneVars.slice(half), params.vars];
  const lrs = [lr / 100, lr / 10, lr];
  // Decay on kernels, not on biases or BatchNorm's scale/shift (rank 1).
  const optimizers = groups.map((vars) => new AdamW(vars, vars.map((v) => v.rank > 1)));
  const allVars = groups.flat();
  const random = seededRandom(seed);
  const n = o.train.length;
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const history: EpochStats[] = [];
  let validProba: Float32Array = new Float32Array(0);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = permutation(n, random);
      let lossSum = 0;
      let correct = 0;
      let lastLr = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        o.signal?.throwIfAborted();
        const batch = Array.from(order.subarray(s * batchSize, (s + 1) * batchSize), (i) => o.train[i]!);
        const x = await batchTensor(batch, o.backbone, random, augment);
        const step = epoch * stepsPerEpoch + s;
        const [loss, hits] = tf.tidy(() => {
          const yb = tf.oneHot(tf.tensor1d(batch.map((b) => b.y), 'int32'), o.classes.length);
          let batchHits: tf.Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const features = model.apply(x, { training: false }) as tf.Tensor2D;
            const logits = forward(params, features, dropout, seed * 7919 + step);
            batchHits = tf.keep(tf.equal(tf.argMax(logits, 1), tf.argMax(yb, 1)).sum());
            return tf.losses.softmaxCrossEntropy(yb, logits) as tf.Scalar;
          }, allVars);
          groups.forEach((vars, g) => {
            const sched = oneCycle(step, stepsPerEpoch * epochs, lrs[g]!);
            if (g === 2) lastLr = sched.lr;
            optimizers[g]!.apply(vars.map((v) => grads[v.name]!), { lr: sched.lr, beta1: sched.beta1, weightDecay });
          });
          const h = batchHits!.dataSync()[0]!;
          batchHits!.dispose();
          return [value.dataSync()[0]!, h];
        });
        x.dispose();
        lossSum += loss * batch.length;
        correct += hits;
      }
      validProba = await predictValid(o, params);
      const ev = evaluate(validProba, Int32Array.from(o.valid, (v) => v.y), o.classes);
      const stats: EpochStats = { epoch: epoch + 1, epochs, lr: lastLr, trainLoss: lossSum / n, trainAccuracy: correct / n, validLoss: ev.loss, validAccuracy: ev.accuracy };
      history.push(stats);
      o.onEpoch?.(stats);
    }
    const head: HeadJSON = {
      ...o.head,
      layers: o.head.layers.map((l, i) => ({ ...l, kernel: toB64(params.vars[2 * i]!.dataSync() as Float32Array), bias: toB64(params.vars[2 * i + 1]!.dataSync() as Float32Array) })),
      history: [...o.head.history, ...history],
    };
    return { head, history, validProba, lrs, backboneArtifacts: await captureArtifacts(model) };
  } finally {
    optimizers.forEach((opt) => opt.dispose());
    params.mean.dispose();
    params.std.dispose();
    params.vars.forEach((v) => v.dispose());
  }
}

async function predictValid(o: FineTuneOptions, params: Params): Promise<Float32Array> {
  const k = o.classes.length;
  const out = new Float32Array(o.valid.length * k);
  const size = 16;
  for (let i = 0; i < o.valid.length; i += size) {
    const x = await batchTensor(o.valid.slice(i, i + size), o.backbone, () => undefined, false);
    const p = tf.tidy(() => tf.softmax(forward(params, o.backbone.featureModel!.predict(x) as tf.Tensor2D, 0)).dataSync() as Float32Array);
    x.dispose();
    out.set(p, i * k);
  }
  return out;
}
