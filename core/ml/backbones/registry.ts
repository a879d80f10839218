// Every backbone Kodiak knows, by id. Downloadable ones are fetched once by URL (or from
// MODEL_MIRROR_URL/<id>/model.json) and cached; bundled ones come from the nsfwjs package files.

export interface Normalisation {
  /** pixel' = pixel * scale + offset, for pixels in 0..255. */
  scale: number;
  offset: number;
  range: '[-1,1]' | '[0,1]';
}

export const MINUS_ONE_TO_ONE: Normalisation = { scale: 1 / 127.5, offset: -1, range: '[-1,1]' };
export const ZERO_TO_ONE: Normalisation = { scale: 1 / 255, offset: 0, range: '[0,1]' };

interface CommonSpec {
  id: string;
  title: string;
  inputSize: number;
  normalisation: Normalisation;
  featureSize: number;
}

export interface DownloadSpec extends CommonSpec {
  kind: 'download';
  format: 'layers' | 'graph';
  url: string;
  /** Output shape the model must have (null = any batch); checked after download. */
  outputShape: (number | null)[];
  /** Graph models: the node whose output is the feature vector. */
  featureNode?: string;
  /** Whether the output is a spatial map to average-pool into the feature vector. */
  pool: boolean;
}

export interface BundledSpec extends CommonSpec {
  kind: 'bundled';
  format: 'layers' | 'graph';
  /** Folder under nsfwjs/dist/models and its number of weight shards. */
  folder: string;
  shards: number;
  /** LayersModel: layer whose output is the feature vector; GraphModel: node name. */
  featureLayer?: string;
  featureNode?: string;
}

export type BackboneSpec = DownloadSpec | BundledSpec;

const TM_BASE = 'https://storage.googleapis.com/teachable-machine-models';
const TFHUB = 'https://tfhub.dev/google/tfjs-model/imagenet';

export const BACKBONES: Record<string, BackboneSpec> = {
  mobilenet_v2_035: {
    id: 'mobilenet_v2_035',
    title: 'ImageNet MobileNetV2-0.35',
    kind: 'download',
    format: 'layers',
    url: `${TM_BASE}/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top/model.json`,
    inputSize: 224,
    normalisation: MINUS_ONE_TO_ONE,
    featureSize: 1280,
    outputShape: [null, 7, 7, 1280],
    pool: true,
  },
  // Larger ImageNet backbones for GPU workers (TensorFlow Hub feature vectors, graph models).
  mobilenet_v2_100: {
    id: 'mobilenet_v2_100',
    title: 'ImageNet MobileNetV2-1.0',
    kind: 'download',
    format: 'graph',
    url: `${TFHUB}/mobilenet_v2_100_224/feature_vector/3/default/1/model.json?tfjs-format=file`,
    inputSize: 224,
    normalisation: ZERO_TO_ONE,
    featureSize: 1280,
    outputShape: [null, 1280],
    pool: false,
  },
  mobilenet_v2_140: {
    id: 'mobilenet_v2_140',
    title: 'ImageNet MobileNetV2-1.4',
    kind: 'download',
    format: 'graph',
    url: `${TFHUB}/mobilenet_v2_140_224/feature_vector/3/default/1/model.json?tfjs-format=file`,
    inputSize: 224,
    normalisation: ZERO_TO_ONE,
    featureSize: 1792,
    outputShape: [null, 1792],
    pool: false,
  },
  nsfwjs_mobilenet_v2: {
    id: 'nsfwjs_mobilenet_v2',
    title: 'MobileNetV2 bundled with nsfwjs',
    kind: 'bundled',
    format: 'layers',
    folder: 'mobilenet_v2',
    shards: 1,
    featureLayer: 'flatten_1',
    inputSize: 224,
    normalisation: ZERO_TO_ONE,
    featureSize: 1280,
  },
  nsfwjs_mobilenet_v2_140: {
    id: 'nsfwjs_mobilenet_v2_140',
    title: 'MobileNetV2-1.4 bundled with nsfwjs',
    kind: 'bundled',
    format: 'graph',
    folder: 'mobilenet_v2_mid',
    shards: 2,
    featureNode:
      'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze',
    inputSize: 224,
    normalisation: ZERO_TO_ONE,
    featureSize: 1792,
  },
};

export const DEFAULT_BACKBONE = 'mobilenet_v2_035';
/** Used when a downloadable backbone cannot be fetched: offline, and the stronger bundled one. */
export const FALLBACK_BACKBONE = 'nsfwjs_mobilenet_v2_140';

export function backboneSpec(id: string): BackboneSpec | undefined {
  return Object.hasOwn(BACKBONES, id) ? BACKBONES[id] : undefined;
}

export function backboneIds(): string[] {
  return Object.keys(BACKBONES);
}
