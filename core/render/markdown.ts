// Text that users or the web supplied (display names, class names, file names, URLs, provider
// messages) goes into Discord messages, which render markdown: a name like
// "[claim](https://phish.example)" would become a live link, a URL line "x> ## Free Nitro" a
// heading. These helpers make such text inert wherever it is placed in message content or embeds.
// (Button labels, select options and file names do not render markdown: do not escape those.)

/** Characters that start markdown wherever they are: emphasis, code, spoilers, masked links, mentions and timestamps. */
const INLINE = /[\\*_~`|<>[\]]/g;
/** What starts a heading, quote, list or subtext at the beginning of a line. */
const LINE_START = /^(\s*)([#>*+-]|\d+\.)/;
/** Line breaks and other controls would start new lines (headings, quotes, lists): one line only. */
const CONTROLS = /[\u0000-\u001f\u007f\u2028\u2029]+/g;

/**
 * One line of plain text: markdown characters backslash-escaped (Discord hides the backslash
 * before punctuation, so the reader sees the text as typed), bare links broken (`https\://`).
 * Not for code spans.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(CONTROLS, ' ')
    .replace(INLINE, '\\$&')
    .replace(/:\/\//g, '\\://')
    .replace(LINE_START, '$1\\$2');
}

/** An inline code span of `text` (one line, backticks replaced): shown verbatim, never rendered. */
export function inlineCode(text: string): string {
  const inner = text.replace(CONTROLS, ' ').replace(/`/g, "'").trim();
  return `\`${inner || ' '}\``;
}

/**
 * The canonical form of an http(s) URL a user or a search result gave, or undefined when it is
 * none: text with whitespace, controls, `<` or `>` is refused rather than repaired, because it
 * is how a list smuggles markdown next to a URL. `new URL().href` percent-encodes the rest.
 */
export function normaliseUrl(text: string): string | undefined {
  if (!/^https?:\/\//i.test(text) || /[\s<>\u0000-\u001f\u007f]/.test(text) || !URL.canParse(text)) return undefined;
  const href = new URL(text).href;
  return /[\s<>`]/.test(href) ? undefined : href;
}

/** Where an image came from, for a message: a normalised URL as a link without preview, anything else as code. */
export function sourceText(source: string): string {
  const url = normaliseUrl(source);
  return url ? `<${url}>` : inlineCode(source);
}
