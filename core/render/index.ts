// The chart toolkit shared by /sgd and the training report: SVG drawn in code, rasterised by sharp.
export { lineChart, lineChartSvg, spansDecades, type LineChartOptions, type LineSeries, type Point } from './lineChart.js';
export { scatter, scatterSvg, scatterPlot, scatterBody, straightLineSvg, type ScatterOptions, type ScatterSeries, type StraightLine } from './scatter.js';
export { confusionMatrixPng, confusionMatrixSvg, heatColor } from './confusion.js';
export { framesToGif, sampleFrameIndices, DEFAULT_MAX_GIF_BYTES, type GifOptions } from './gif.js';
export { svgToPng, svgToRaw, compositeOver, mapLimit, type RawImage } from './raster.js';
export { createPlot, axesSvg, polylineSvg, niceTicks, logTicks, padDomain, type Plot, type PlotSpec } from './axes.js';
export { escapeXml, truncate, svgText, svgDocument, formatNumber, paletteColor, PALETTE, FONT_FAMILY } from './svg.js';
export { legendSvg, samplePath, type LegendEntry, type LegendPosition } from './legend.js';
