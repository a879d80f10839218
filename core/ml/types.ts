// Shapes shared by training, model versions, export and prediction.
import type { Normalisation } from './backbones/registry.js';
import type { View } from './views.js';

/** How an image becomes the backbone's input; saved with every model version and export. */
export interface Preprocessing {
  backbone: string;
  inputSize: number;
  normalisation: Normalisation;
  featureSize: number;
  resize: 'shorter-side-then-centre-crop';
  /**
   * The views each image is embedded in: the head is trained on all of them and its
   * probabilities are averaged over them at prediction. Absent: the original only.
   */
  views?: View[];
}

export type { View } from './views.js';

/** One image to train on: its sha256, label, split and a local file path. */
export interface TrainItem {
  id: string;
  label: string;
  split: 'train' | 'valid';
  path: string;
}

export type TrainStage = 'backbone' | 'embedding' | 'training' | 'evaluation' | 'fine-tuning';
