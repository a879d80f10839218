// A confusion matrix as a heat map: rows are the actual class, columns the predicted one, each
// cell shows its count and is shaded by the fraction of its row (so a small class still shows
// where its images go). Class names come from users: always escaped. When a name is too long to
// sit beside its row, rows and columns are numbered and a legend under the grid gives each
// number's full name (wrapped), so classes that differ only at the end stay distinguishable.
import { svgToPng } from './raster.js';
import { approxTextWidth, fmt, svgDocument, svgText, truncate } from './svg.js';

const MAX_LABEL_CHARS = 24;
const LABEL_SIZE = 12;
/** Characters per legend line before a long name wraps. */
const LEGEND_CHARS = 70;
const LEGEND_LINE = 16;

/** A name cut into lines of at most `width` characters, at spaces where it can. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    for (let w = word; w.length > 0; ) {
      const room = width - (line ? line.length + 1 : 0);
      if (w.length <= room) {
        line = line ? `${line} ${w}` : w;
        w = '';
      } else if (line) {
        lines.push(line);
        line = '';
      } else {
        lines.push(w.slice(0, width));
        w = w.slice(width);
      }
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

/** White -> deep blue by t in [0, 1]. */
export function heatColor(t: number): string {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
  const from = [255, 255, 255];
  const to = [33, 84, 140];
  const rgb = from.map((f, i) => Math.round(f + ((to[i] as number) - f) * clamped));
  return `rgb(${rgb.join(',')})`;
}

function validate(classes: readonly string[], matrix: readonly (readonly number[])[]): void {
  if (classes.length === 0) throw new Error('confusion matrix needs at least one class');
  if (matrix.length !== classes.length || matrix.some((row) => row.length !== classes.length)) {
    throw new Error(`confusion matrix must be ${classes.length}x${classes.length}`);
  }
}

export function confusionMatrixSvg(classes: readonly string[], matrix: readonly (readonly number[])[], title: string): string {
  validate(classes, matrix);
  const n = classes.length;
  const numbered = classes.some((c) => [...c].length > MAX_LABEL_CHARS);
  // Numbered: "3" beside row and column 3, "3. <full name>" in the legend.
  const labels = numbered ? classes.map((_, i) => String(i + 1)) : [...classes];
  const legend = numbered ? classes.map((c, i) => wrapText(`${i + 1}. ${c}`, LEGEND_CHARS)) : [];
  const legendHeight = legend.reduce((h, lines) => h + lines.length * LEGEND_LINE, 0) + (numbered ? 8 : 0);
  const labelWidth = Math.max(...labels.map((l) => approxTextWidth(l, LABEL_SIZE)));
  const cell = Math.max(28, Math.min(80, Math.floor(480 / n)));
  // Column labels go vertical-ish when they would not fit under their cell.
  const rotate = labelWidth > cell - 6;
  const left = 44 + labelWidth;
  const top = 48;
  const grid = cell * n;
  const bottomLabels = rotate ? labelWidth * Math.SQRT1_2 + LABEL_SIZE + 8 : LABEL_SIZE + 10;
  const legendWidth = Math.max(0, ...legend.flat().map((l) => approxTextWidth(l, LABEL_SIZE)));
  const width = Math.ceil(Math.max(left + grid + 24, approxTextWidth(title, 15) + 40, legendWidth + 40));
  const gridBottom = top + grid + bottomLabels + 34;
  const height = Math.ceil(gridBottom + legendHeight);
  const countSize = Math.max(9, Math.min(16, Math.floor(cell * 0.32)));

  const parts: string[] = [svgText(width / 2, 26, truncate(title, 80), { size: 15, anchor: 'middle', weight: 'bold' })];
  for (let r = 0; r < n; r++) {
    const row = matrix[r] as readonly number[];
    const rowTotal = row.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    for (let c = 0; c < n; c++) {
      const count = row[c] as number;
      const share = rowTotal > 0 ? count / rowTotal : 0;
      const x = left + c * cell;
      const y = top + r * cell;
      parts.push(`<rect x="${fmt(x)}" y="${fmt(y)}" width="${cell}" height="${cell}" fill="${heatColor(share)}" stroke="#ffffff" stroke-width="1"/>`);
      const text = Number.isFinite(count) ? String(Math.round(count * 100) / 100) : '?';
      parts.push(svgText(x + cell / 2, y + cell / 2, text, { size: countSize, anchor: 'middle', baseline: 'middle', color: share > 0.5 ? '#ffffff' : '#222222', weight: r === c ? 'bold' : 'normal' }));
    }
    parts.push(svgText(left - 8, top + r * cell + cell / 2, labels[r] as string, { size: LABEL_SIZE, anchor: 'end', baseline: 'middle' }));
  }
  for (let c = 0; c < n; c++) {
    const x = left + c * cell + cell / 2;
    const y = top + grid + 8;
    parts.push(
      rotate
        ? svgText(x, y + 4, labels[c] as string, { size: LABEL_SIZE, anchor: 'end', rotate: -45, baseline: 'hanging' })
        : svgText(x, y, labels[c] as string, { size: LABEL_SIZE, anchor: 'middle', baseline: 'hanging' }),
    );
  }
  let y = gridBottom + 4;
  for (const line of legend.flat()) {
    parts.push(svgText(20, y, line, { size: LABEL_SIZE, baseline: 'hanging' }));
    y += LEGEND_LINE;
  }
  parts.push(svgText(left + grid / 2, gridBottom - 10, 'predicted', { size: 12, anchor: 'middle', color: '#555' }));
  parts.push(svgText(14, top + grid / 2, 'actual', { size: 12, anchor: 'middle', color: '#555', rotate: -90 }));
  return svgDocument(width, height, parts.join(''));
}

/** The confusion matrix heat map as a PNG; its size grows with the number of classes. */
export async function confusionMatrixPng(classes: readonly string[], matrix: readonly (readonly number[])[], title: string): Promise<Buffer> {
  return svgToPng(confusionMatrixSvg(classes, matrix, title));
}
