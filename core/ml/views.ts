// Views: each image is embedded more than once (test-time augmentation, also used at training):
// the picture as the backbone expects it, its mirror image, and both again at a larger scale.
// The head trains on every view of every training image and its probabilities are averaged over
// the views at prediction. A larger scale works because MobileNetV2 is fully convolutional: the
// same weights see a 320 px picture as a 10x10 feature map, average-pooled like the 7x7 one.
// Measured with `npm run bench -- quality` (5 folds, plain softmax head): openclipart_food
// 0.753 (original only) -> 0.758 (+ mirror) -> 0.794 (all four); tuxpaint_things 0.843 -> 0.876
// -> 0.873. The four views cost about five embeddings of an image (320² ≈ 2 x 224²).
import type { BackboneSpec } from './backbones/registry.js';

/** The backbone's own input, its mirror image, and the same two at `SCALE_SIZE` px. */
export const VIEWS = ['original', 'mirror', '320px', '320px-mirror'] as const;
export type View = (typeof VIEWS)[number];

/** Side of the larger scale's input, px. */
export const SCALE_SIZE = 320;

export interface ViewSpec {
  view: View;
  /** Input side in px; undefined: the backbone's own input size. */
  size?: number;
  mirror: boolean;
}

export function viewSpec(view: View): ViewSpec {
  const scaled = view.startsWith('320px');
  return { view, size: scaled ? SCALE_SIZE : undefined, mirror: view.endsWith('mirror') };
}

export function isView(s: string): s is View {
  return (VIEWS as readonly string[]).includes(s);
}

/**
 * Whether a backbone can see a picture at another scale: a LayersModel whose output is a spatial
 * map that Kodiak pools (its input size can be changed without touching the weights). Graph
 * models and the bundled fallback have a fixed input.
 */
export function scalesWith(spec: BackboneSpec): boolean {
  return spec.format === 'layers' && spec.kind === 'download' && spec.pool;
}

/**
 * The views asked for that this backbone can give, in VIEWS order, 'original' always first: the
 * novelty check, the cleaner and duplicates work on the original view.
 */
export function viewsFor(spec: BackboneSpec, asked: readonly View[]): View[] {
  const ok = VIEWS.filter((v) => v === 'original' || (asked.includes(v) && (viewSpec(v).size === undefined || scalesWith(spec))));
  return ok;
}

/** The embedding cache's name for a view of a backbone: <id>, <id>.mirror, <id>.320px, <id>.320px.mirror. */
export function viewCacheId(backboneId: string, view: View): string {
  return view === 'original' ? backboneId : `${backboneId}.${view.replace('-mirror', '.mirror')}`;
}

/** How /model info and `kodiak model info` say which views a model averages. */
export function viewsText(views: readonly View[] | undefined): string {
  return !views || views.length <= 1 ? 'one view of each picture' : `${views.length} views averaged (${views.join(', ')})`;
}
