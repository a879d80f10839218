// The one-cycle policy of fast.ai's fit_one_cycle: the learning rate warms up from lrMax/div to
// lrMax along a cosine over the first pctStart of the steps, then anneals along a cosine to
// lrMax/(div*finalDiv); momentum (Adam's beta1) moves the opposite way, 0.95 -> 0.85 -> 0.95.

export interface OneCycleOptions {
  pctStart?: number;
  divFactor?: number;
  finalDiv?: number;
  moms?: [number, number, number];
}

export interface ScheduleValue {
  lr: number;
  beta1: number;
}

/** Cosine interpolation from start to end as pct goes 0 -> 1. */
export function cosineAnneal(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (1 + Math.cos(Math.PI * pct));
}

/** Learning rate and beta1 at `step` (0-based) of `totalSteps`. */
export function oneCycle(step: number, totalSteps: number, lrMax: number, opts: OneCycleOptions = {}): ScheduleValue {
  const { pctStart = 0.25, divFactor = 25, finalDiv = 1e5, moms = [0.95, 0.85, 0.95] } = opts;
  const pct = totalSteps <= 1 ? 1 : step / (totalSteps - 1);
  const warm = Math.max(pctStart, 1e-9);
  if (pct < warm) {
    const p = pct / warm;
    return { lr: cosineAnneal(lrMax / divFactor, lrMax, p), beta1: cosineAnneal(moms[0], moms[1], p) };
  }
  const p = (pct - warm) / Math.max(1 - warm, 1e-9);
  return { lr: cosineAnneal(lrMax, lrMax / (divFactor * finalDiv), p), beta1: cosineAnneal(moms[1], moms[2], p) };
}
