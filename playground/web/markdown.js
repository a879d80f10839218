// Discord's markdown as the playground page shows it, as an HTML string. Everything is escaped
// first; only the markup below turns back into tags, and links only for http(s) URLs.
// Pure functions with no DOM, so the tests run them in Node (test/playground-render.test.ts).

/** @param {unknown} value */
export function escapeHtml(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** An http(s) URL made safe for an href/src attribute, or undefined. */
export function safeUrl(raw) {
  const text = String(raw ?? '').trim();
  if (text.startsWith('/attachments/')) return escapeHtml(text);
  let url;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? escapeHtml(url.href) : undefined;
}

/**
 * @typedef {{ users?: Record<string, string>, channels?: Record<string, string>, roles?: Record<string, string> }} Names
 *   ids the text may mention, with the names to show
 */

/** Inline markup of one escaped line: code, links, bold, italics, underline, strikethrough, spoilers, mentions. */
function inline(raw, names) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  // Code spans first: nothing inside them is markup.
  let text = String(raw).replace(/\u0000/g, "").replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_m, _ticks, code) => hold(`<code>${escapeHtml(code)}</code>`));
  // A backslash makes the next symbol plain text (the bot escapes user input this way).
  text = text.replace(/\\([^\w\s])/g, (_m, symbol) => hold(escapeHtml(symbol)));
  // Masked links [text](https://...) and bare URLs, before escaping so the URL stays whole.
  text = text.replace(/\[([^\]\n]{1,256})\]\(\s*<?(https?:\/\/[^\s)>]+)>?\s*\)/g, (m, label, url) => {
    const href = safeUrl(url);
    return href ? hold(`<a href="${href}" target="_blank" rel="noopener noreferrer nofollow">${inline(label, names)}</a>`) : m;
  });
  text = text.replace(/<?(https?:\/\/[^\s<>"]+[^\s<>".,:;!?)'\]])>?/g, (m, url) => {
    const href = safeUrl(url);
    return href ? hold(`<a href="${href}" target="_blank" rel="noopener noreferrer nofollow">${escapeHtml(url)}</a>`) : m;
  });
  // Mentions, custom emoji and timestamps, named from what the page knows.
  text = text.replace(/<(@!?|@&|#)(\d{5,25})>/g, (_m, kind, id) => {
    const list = kind === '#' ? names.channels : kind === '@&' ? names.roles : names.users;
    const prefix = kind === '#' ? '#' : '@';
    return hold(`<span class="mention">${escapeHtml(prefix + (list?.[id] ?? (kind === '#' ? 'unknown-channel' : 'unknown')))}</span>`);
  });
  text = text.replace(/<a?:(\w{1,32}):\d{5,25}>/g, (_m, name) => hold(`<span class="emoji">:${escapeHtml(name)}:</span>`));
  text = text.replace(/<t:(-?\d{1,13})(?::[tTdDfFR])?>/g, (_m, seconds) => hold(`<time>${escapeHtml(new Date(Number(seconds) * 1000).toLocaleString())}</time>`));
  let html = escapeHtml(text);
  // Escaping leaves * _ ~ | alone, so the markup can be matched on the escaped text.
  const spans = [
    [/\*\*\*(?=\S)([\s\S]*?\S)\*\*\*/g, '<strong><em>$1</em></strong>'],
    [/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>'],
    [/__(?=\S)([\s\S]*?\S)__/g, '<u>$1</u>'],
    [/\*(?=\S)([^*]*?\S)\*/g, '<em>$1</em>'],
    [/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, '$1<em>$2</em>'],
    [/~~(?=\S)([\s\S]*?\S)~~/g, '<s>$1</s>'],
    [/\|\|(?=\S)([\s\S]*?\S)\|\|/g, '<span class="spoiler" tabindex="0">$1</span>'],
  ];
  for (const [pattern, replacement] of spans) html = html.replace(pattern, replacement);
  return html.replace(/\u0000(\d+)\u0000/g, (_m, i) => held[Number(i)]);
}

/** Lines outside code blocks: headings, block quotes (> and >>>), lists, subtext. */
function blocks(text, names) {
  const out = [];
  const lines = text.split('\n');
  let quote = [];
  const flushQuote = () => {
    if (quote.length) out.push(`<blockquote>${quote.map((l) => lineHtml(l, names)).join('<br>')}</blockquote>`);
    quote = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('>>> ')) {
      flushQuote();
      quote = [line.slice(4), ...lines.slice(i + 1)];
      break;
    }
    if (line.startsWith('> ') || line === '>') {
      quote.push(line.slice(2));
      continue;
    }
    flushQuote();
    out.push(lineHtml(line, names));
  }
  flushQuote();
  return out.join('<br>').replace(/(<\/(?:h3|h4|h5|blockquote|div)>)<br>/g, '$1').replace(/<br>(<(?:blockquote|h3|h4|h5))/g, '$1');
}

function lineHtml(line, names) {
  const heading = /^(#{1,3}) (.+)$/.exec(line);
  if (heading) return `<h${heading[1].length + 2}>${inline(heading[2], names)}</h${heading[1].length + 2}>`;
  if (line.startsWith('-# ')) return `<div class="subtext">${inline(line.slice(3), names)}</div>`;
  const item = /^(\s*)[-*] (.+)$/.exec(line);
  if (item) return `${'&nbsp;'.repeat(item[1].length * 2)}• ${inline(item[2], names)}`;
  return inline(line, names);
}

/** Discord markdown to HTML: ```code blocks``` first, then block and inline markup. */
export function renderMarkdown(text, names = {}) {
  const source = String(text ?? '');
  const parts = [];
  const fence = /```(?:([\w+-]{1,20})\n)?([\s\S]*?)```/g;
  let last = 0;
  for (const match of source.matchAll(fence)) {
    if (match.index > last) parts.push(blocks(source.slice(last, match.index).replace(/\n$/, ''), names));
    const lang = match[1] ? ` data-lang="${escapeHtml(match[1])}"` : '';
    parts.push(`<pre><code${lang}>${escapeHtml(match[2].replace(/^\n/, ''))}</code></pre>`);
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push(blocks(source.slice(last).replace(/^\n/, ''), names));
  return parts.join('');
}
