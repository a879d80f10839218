// Plugs core/ml's head into confident learning: one head per fold, trained, asked, disposed.
import { trainHead, type HeadOptions } from '../ml/head.js';
import type { FitPredict } from './types.js';

export type HeadFitOptions = Omit<HeadOptions, 'nClasses' | 'dim' | 'seed' | 'valid' | 'onEpoch'>;

/** A FitPredict that trains core/ml's head (same defaults as training unless overridden). */
export function headFitPredict(options: HeadFitOptions = {}): FitPredict {
  return async (trainX, trainY, testX, nClasses, dim, seed) => {
    const head = await trainHead(trainX, trainY, { ...options, nClasses, dim, seed });
    try {
      return head.predictProba(testX);
    } finally {
      head.dispose();
    }
  };
}
