import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { scatterPlot } from '../core/render/index.js';
import { lineVisibility, renderSgdPictures, runSgdLesson, stepsToAnimate } from '../core/sgd/index.js';

async function gifMeta(gif: Buffer) {
  return sharp(gif, { animated: true }).metadata();
}

/** The mean colour of a frame's pixels that are clearly red (the fitted line). */
async function redPixelCount(gif: Buffer, page: number): Promise<number> {
  const { data } = await sharp(gif, { page }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    if ((data[i] as number) > 180 && (data[i + 1] as number) < 90 && (data[i + 2] as number) < 90) count++;
  }
  return count;
}

describe('/sgd pictures', () => {
  it('one frame per step (plus the start) at 480x360 when under the cap, and a loss curve PNG', async () => {
    const run = runSgdLesson({ lr: 0.1, steps: 20, seed: 42 });
    const pictures = await renderSgdPictures(run);
    const meta = await gifMeta(pictures.gif);
    expect([meta.format, meta.pages, meta.pageHeight, meta.width]).toEqual(['gif', 21, 360, 480]);
    expect(pictures.frames).toBe(21);
    expect(pictures.gif.length).toBeLessThan(10 * 1024 * 1024);
    // The last frame stays up long enough to be read.
    expect(meta.delay?.at(-1)).toBe(2000);
    const loss = await sharp(pictures.lossPng).metadata();
    expect([loss.format, loss.width, loss.height]).toEqual(['png', 640, 400]);
    // The fitted line is drawn (red pixels) in the first and last frames.
    expect(await redPixelCount(pictures.gif, 0)).toBeGreaterThan(200);
    expect(await redPixelCount(pictures.gif, 20)).toBeGreaterThan(200);
  });

  it('samples long runs down to the frame cap, keeping the first and last step', async () => {
    const run = runSgdLesson({ lr: 0.1, steps: 300, batch: 20, points: 200, seed: 3 });
    const pictures = await renderSgdPictures(run, { maxFrames: 30, width: 240, height: 180 });
    const meta = await gifMeta(pictures.gif);
    expect([meta.pages, meta.pageHeight, meta.width]).toEqual([30, 180, 240]);
  });

  it('a diverging run is animated until the line has flown off the chart, on axes kept on the data', async () => {
    const run = runSgdLesson({ lr: 1.5, steps: 100, seed: 42 });
    const plot = scatterPlot({ series: [{ name: 'p', points: Array.from(run.data.x, (x, i) => [x, run.data.y[i] as number] as const) }], width: 480, height: 360 });
    const steps = stepsToAnimate(plot, run.history, true, 100);
    expect(steps.length).toBeGreaterThan(2);
    expect(steps.length).toBeLessThan(101);
    expect(lineVisibility(plot, run.history.params[0]!)).toBe('visible');
    expect(lineVisibility(plot, run.history.params[steps.at(-1)!]!)).not.toBe('visible');

    const pictures = await renderSgdPictures(run);
    const meta = await gifMeta(pictures.gif);
    expect(meta.pages).toBe(pictures.frames);
    expect(meta.pages).toBeLessThan(101);
    // Visible at the start, gone from the plot at the end: the frames show it "happening".
    expect(await redPixelCount(pictures.gif, 0)).toBeGreaterThan(200);
    const last = (meta.pages as number) - 1;
    expect(await redPixelCount(pictures.gif, last)).toBeLessThan(await redPixelCount(pictures.gif, 0));
  });
});
