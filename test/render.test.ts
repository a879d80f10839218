import { accuracyChartOptions } from '../core/ml/charts.js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  compositeOver,
  confusionMatrixPng,
  confusionMatrixSvg,
  escapeXml,
  formatNumber,
  framesToGif,
  lineChart,
  lineChartSvg,
  logTicks,
  niceTicks,
  sampleFrameIndices,
  scatter,
  scatterSvg,
  svgToRaw,
  truncate,
} from '../core/render/index.js';

const HOSTILE = ['<script>alert(1)</script>', 'black & white', '@everyone', '"quoted" \'single\'', 'ctrl\u0001char'];

describe('svg helpers', () => {
  it('escapes markup and drops characters XML cannot hold', () => {
    expect(escapeXml('<a href="x">&\'</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('a\u0000b\u001fc\ud800d')).toBe('abcd');
    expect(escapeXml('🐻 ok')).toBe('🐻 ok');
  });

  it('truncates by code point with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect([...truncate('🐻🐻🐻🐻🐻', 3)]).toHaveLength(3);
  });

  it('formats axis numbers compactly', () => {
    expect(formatNumber(0.0582)).toBe('0.0582');
    expect(formatNumber(1.6e60)).toBe('1.6e60');
    expect(formatNumber(1e-5)).toBe('1e-5');
    expect(formatNumber(Infinity)).toBe('∞');
  });

  it('picks nice linear ticks and powers of ten on log axes', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(-1.05, 1.05, 5)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(-1.05, 1.05, 2)).toEqual([-1, 0, 1]);
    expect(logTicks(1e-3, 1e3)).toEqual([1e-3, 1e-2, 1e-1, 1, 10, 100, 1000]);
    expect(logTicks(0.05, 6)).toEqual([0.05, 0.1, 0.2, 0.5, 1, 2, 5]);
  });
});

describe('charts', () => {
  it('draws a line chart PNG of the requested size, log axis when asked', async () => {
    const points = Array.from({ length: 50 }, (_, i) => [i, 10 * Math.exp(-i / 5)] as const);
    const png = await lineChart({ series: [{ name: 'loss', points }], title: 'Loss', xLabel: 'step', yLabel: 'loss', logY: true, width: 500, height: 300 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 500, 300]);
    // On a log axis the tick labels are powers of ten.
    expect(lineChartSvg({ series: [{ name: 'loss', points }], logY: true })).toContain('>0.001<');
  });

  it("'auto' log scale only when values span decades; non-finite points are skipped", () => {
    const flat = lineChartSvg({ series: [{ name: 'a', points: [[0, 1], [1, 2], [2, NaN]] }], logY: 'auto' });
    expect(flat).toContain('>1.2<');
    expect(flat).not.toContain('NaN');
    const steep = lineChartSvg({ series: [{ name: 'a', points: [[0, 1e6], [1, 1], [2, Infinity]] }], logY: 'auto' });
    expect(steep).toContain('>1e6<');
  });

  it('escapes hostile names in every chart and still rasterises', async () => {
    const series = HOSTILE.map((name, i) => ({ name, points: [[0, i], [1, i + 1]] as const }));
    const svgs = [
      lineChartSvg({ series, title: '<b>title</b> & co', xLabel: '<x>', yLabel: '&y' }),
      scatterSvg({ series, lines: [{ name: '<line>', slope: 1, intercept: 0 }], title: '<t>' }),
      confusionMatrixSvg(HOSTILE, HOSTILE.map((_, r) => HOSTILE.map((__, c) => (r === c ? 5 : 1))), '<script>title</script>'),
    ];
    for (const svg of svgs) {
      expect(svg).not.toContain('<script>');
      expect(svg).not.toContain('<b>');
      expect(svg).not.toContain('\u0001');
      expect(svg).toContain('&lt;script&gt;');
      expect(svg).toMatch(/&amp;/);
      const meta = await sharp(Buffer.from(svg)).metadata();
      expect(meta.width).toBeGreaterThan(0);
    }
    const png = await scatter({ series, title: 'scatter' });
    expect((await sharp(png).metadata()).format).toBe('png');
  });

  it('numbers the rows of a confusion matrix whose class names are long, with a legend of full names', () => {
    const wild = 'a very long class name about grizzly bears in the wild';
    const zoo = 'a very long class name about grizzly bears in the zoo';
    const svg = confusionMatrixSvg([wild, zoo, 'teddy'], [[5, 1, 0], [2, 4, 0], [0, 0, 6]], 'cm');
    // Cut at 24 characters both names read the same; the legend keeps them apart.
    expect(svg).toContain(`>1. ${wild}<`);
    expect(svg).toContain(`>2. ${zoo}<`);
    expect(svg).toContain('>3. teddy<');
    expect(svg).not.toContain('…');
    const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
    const legendY = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)"[^>]*>\d\. /g)].map((m) => Number(m[1]));
    expect(Math.max(...legendY)).toBeLessThan(height);
    expect(width).toBeGreaterThan(300);
  });

  it("keeps the accuracy chart's line at 1.0 and its last point inside the frame, and names the model in its title", () => {
    const curves = { epoch: [1, 2, 3], trainLoss: [], validLoss: [], trainAccuracy: [], validAccuracy: [0.5, 1, 1], lr: [] };
    const svg = lineChartSvg(accuracyChartOptions(curves, 'bears v3'));
    expect(svg).toContain('accuracy - bears v3');
    const clip = /<clipPath id="[^"]+"><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!.slice(1).map(Number);
    const [left, top, w] = clip as [number, number, number];
    const dots = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="3"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(dots).toHaveLength(3);
    for (const [cx, cy] of dots) {
      expect(cy - 3).toBeGreaterThan(top); // a whole dot below the top edge, at y = 1
      expect(cx + 3).toBeLessThan(left + w); // and left of the right edge, at the last epoch
      expect(cx - 3).toBeGreaterThan(left);
    }
  });

  it('draws the confusion matrix with counts, growing with the classes and rotating long labels', async () => {
    const classes = ['<script>', 'black & white bear', '@everyone'];
    const matrix = [
      [10, 2, 0],
      [1, 12, 3],
      [0, 0, 9],
    ];
    const svg = confusionMatrixSvg(classes, matrix, 'Confusion matrix');
    for (const count of ['>10<', '>12<', '>9<', '>3<']) expect(svg).toContain(count);
    expect(svg).toContain('@everyone');
    expect(svg).toContain('rotate(-45');
    expect(confusionMatrixSvg(['a', 'b'], [[1, 0], [0, 1]], 'short')).not.toContain('rotate(-45');
    const png = await confusionMatrixPng(classes, matrix, 'Confusion matrix');
    const meta = await sharp(png).metadata();
    const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
    expect([meta.format, meta.width, meta.height]).toEqual(['png', width, height]);
    const ten = Array.from({ length: 10 }, (_, i) => `class ${i}`);
    const bigger = await sharp(await confusionMatrixPng(ten, ten.map(() => ten.map(() => 1)), 'ten')).metadata();
    expect(bigger.height).toBeGreaterThan(meta.height as number);
    expect(() => confusionMatrixSvg(['a', 'b'], [[1, 2]], 'bad')).toThrow(/2x2/);
  });
});

describe('animation', () => {
  it('samples frames evenly, keeping the first and the last', () => {
    expect(sampleFrameIndices(5, 10)).toEqual([0, 1, 2, 3, 4]);
    const picked = sampleFrameIndices(1001, 100);
    expect(picked).toHaveLength(100);
    expect(picked[0]).toBe(0);
    expect(picked.at(-1)).toBe(1000);
    expect(new Set(picked).size).toBe(100);
  });

  it('composites a transparent overlay over an opaque background', async () => {
    const bg = await svgToRaw('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4" fill="#0000ff"/></svg>');
    const top = await svgToRaw('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="2" height="4" fill="#ff0000"/></svg>');
    const out = compositeOver(bg, top);
    expect([...out.data.subarray(0, 4)]).toEqual([255, 0, 0, 255]);
    expect([...out.data.subarray(12, 16)]).toEqual([0, 0, 255, 255]);
  });

  it('encodes raw frames as a looping GIF with every frame', async () => {
    const width = 40;
    const height = 30;
    const frames = Array.from({ length: 7 }, (_, k) => {
      const f = Buffer.alloc(width * height * 4, 255);
      for (let y = 0; y < height; y++) f.fill(0, (y * width + k * 5) * 4, (y * width + k * 5 + 5) * 4);
      return f;
    });
    const gif = await framesToGif(frames, width, height, 100, { lastFrameDelayMs: 1000 });
    const meta = await sharp(gif, { animated: true }).metadata();
    expect([meta.format, meta.pages, meta.pageHeight, meta.width, meta.loop]).toEqual(['gif', 7, height, width, 0]);
    expect(meta.delay).toEqual([100, 100, 100, 100, 100, 100, 1000]);
    await expect(framesToGif([Buffer.alloc(10)], width, height, 100)).rejects.toThrow(/expected 4800/);
  });

  it('degrades an animation that is too big until it fits the byte budget', async () => {
    const width = 64;
    const height = 64;
    // Random noise barely compresses, so a tiny budget forces fewer colours, frames or pixels.
    let seed = 1;
    const frames = Array.from({ length: 16 }, () => Buffer.from(Array.from({ length: width * height * 4 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255)));
    const unlimited = await framesToGif(frames, width, height, 50);
    const budget = Math.floor(unlimited.length / 3);
    const small = await framesToGif(frames, width, height, 50, { maxBytes: budget });
    expect(small.length).toBeLessThanOrEqual(budget);
    const meta = await sharp(small, { animated: true }).metadata();
    expect(meta.format).toBe('gif');
  });
});
