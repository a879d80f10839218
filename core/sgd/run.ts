// Runs the lesson from user options: data from the seed, descent, verdict, and the pictures.
import { UserError } from '../errors.js';
import { renderDescentAnimation, renderLossCurve, type AnimationOptions } from './animation.js';
import { effectiveBatchSize, runDescent, type DescentHistory } from './descent.js';
import { makeLessonData, type LessonData } from './model.js';
import { judgeDescent, type Verdict } from './verdict.js';

/** The option limits, shared by the slash command's constraints and the command line's checks. */
export const SGD_LIMITS = {
  lr: { min: 0.0001, max: 100, default: 0.1 },
  steps: { min: 1, max: 1000, default: 100 },
  batch: { min: 0, max: 1000, default: 0 },
  points: { min: 10, max: 1000, default: 100 },
  seed: { min: 0, max: 2 ** 31 - 1, default: 42 },
} as const;

export interface SgdRunOptions {
  lr?: number;
  steps?: number;
  /** 0 or omitted: full batch. */
  batch?: number;
  points?: number;
  seed?: number;
}

export type ResolvedSgdOptions = Required<SgdRunOptions>;

export interface SgdRun {
  options: ResolvedSgdOptions;
  data: LessonData;
  history: DescentHistory;
  verdict: Verdict;
}

function checked(name: keyof typeof SGD_LIMITS, value: number | undefined, integer: boolean): number {
  const limits = SGD_LIMITS[name];
  const v = value ?? limits.default;
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < limits.min || v > limits.max) {
    throw new UserError(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${limits.min} to ${limits.max} (got ${value})`);
  }
  return v;
}

export function resolveSgdOptions(opts: SgdRunOptions): ResolvedSgdOptions {
  return {
    lr: checked('lr', opts.lr, false),
    steps: checked('steps', opts.steps, true),
    batch: checked('batch', opts.batch, true),
    points: checked('points', opts.points, true),
    seed: checked('seed', opts.seed, true),
  };
}

/** Runs the lesson: data from the seed, descent, verdict. Pure and fast (1000 steps x 1000 points: ms). */
export function runSgdLesson(opts: SgdRunOptions): SgdRun {
  const options = resolveSgdOptions(opts);
  const data = makeLessonData(options.points, options.seed);
  const history = runDescent(data, {
    lr: options.lr,
    steps: options.steps,
    batchSize: effectiveBatchSize(options.points, options.batch),
    seed: options.seed,
  });
  return { options, data, history, verdict: judgeDescent(data, history) };
}

export interface SgdPictures {
  gif: Buffer;
  lossPng: Buffer;
  frames: number;
  width: number;
  height: number;
}

export async function renderSgdPictures(run: SgdRun, anim: AnimationOptions = {}): Promise<SgdPictures> {
  const [animation, lossPng] = await Promise.all([
    renderDescentAnimation(run.data, run.history, run.verdict, anim),
    renderLossCurve(run.data, run.history, run.verdict),
  ]);
  return { gif: animation.gif, lossPng, frames: animation.steps.length, width: animation.width, height: animation.height };
}
