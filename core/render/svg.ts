// Small helpers for writing SVG by hand. Every piece of text that reaches an SVG goes through
// escapeXml: class names and titles come from users, and librsvg rejects a malformed document.

export const FONT_FAMILY = 'DejaVu Sans';

/** The Tableau-10 palette: distinct, readable on white, colour-blind friendlier than defaults. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function paletteColor(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length] as string;
}

/**
 * Escapes text for element content and attribute values, and drops what XML 1.0 cannot hold at
 * all (control characters, lone surrogates): escaping cannot make those legal.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Shortens text to at most `max` characters (by code point), ending with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/** DejaVu Sans averages a little under 0.6 em per character; good enough to lay out labels. */
export function approxTextWidth(text: string, fontSize: number): number {
  return [...text].length * fontSize * 0.6;
}

export type Anchor = 'start' | 'middle' | 'end';

export interface TextOptions {
  size?: number;
  anchor?: Anchor;
  color?: string;
  weight?: 'normal' | 'bold';
  /** Degrees, clockwise, around (x, y). */
  rotate?: number;
  /** SVG dominant-baseline, e.g. 'middle' to centre vertically. */
  baseline?: 'auto' | 'middle' | 'hanging';
}

export function svgText(x: number, y: number, text: string, opts: TextOptions = {}): string {
  const { size = 12, anchor = 'start', color = '#222', weight = 'normal', rotate, baseline = 'auto' } = opts;
  const transform = rotate ? ` transform="rotate(${fmt(rotate)} ${fmt(x)} ${fmt(y)})"` : '';
  const base = baseline === 'auto' ? '' : ` dominant-baseline="${baseline}"`;
  return `<text x="${fmt(x)}" y="${fmt(y)}" font-family="${FONT_FAMILY}" font-size="${size}" font-weight="${weight}" fill="${color}" text-anchor="${anchor}"${base}${transform}>${escapeXml(text)}</text>`;
}

/** Coordinates with two decimals: keeps documents small and avoids exponent notation. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '0';
  return (Math.round(value * 100) / 100).toString();
}

export function svgDocument(width: number, height: number, body: string, background = '#ffffff'): string {
  const bg = background === 'none' ? '' : `<rect width="${width}" height="${height}" fill="${background}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bg}${body}</svg>`;
}

/** A number for a label: short, with exponent notation only for very large or small values. */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '∞' : '-∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) {
    // 1.50e+59 -> 1.5e59: short enough for an axis label.
    const [mantissa, exponent] = value.toExponential(Math.max(0, digits - 1)).split('e') as [string, string];
    const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    return `${trimmed}e${exponent.replace('+', '')}`;
  }
  return Number(value.toPrecision(digits)).toString();
}
