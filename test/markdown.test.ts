// User-supplied text echoed in Discord stays text: URLs from lists are stored normalised (or not
// at all), and names, sources and reasons are escaped so they cannot become links or headings.
import { describe, expect, it } from 'vitest';
import { parseUrlList, storedSource } from '../core/collect/sources.js';
import { escapeMarkdown, inlineCode, normaliseUrl, sourceText } from '../core/render/markdown.js';
import { decisionLine, suspectText } from '../bot/clean/views.js';
import type { CleanReport } from '../core/clean/types.js';

const INJECTED = 'http://a.example/cat.jpg> ## Free Nitro [claim](https://phish.example)';

/** A rendered line is inert when nothing in it can start markdown: a heading, a masked link, a quote. */
const liveMarkdown = (line: string) => /^\s*(#|>|-#)|(^|[^\\])\[[^\]]*[^\\]\]\(/.test(line);

describe('URLs from users and search results', () => {
  it('a URL list keeps only URLs, normalised; a line carrying markdown or a multi-line cell is no URL', () => {
    const list = [INJECTED, 'https://ok.example/a b.jpg', '"https://b.example/x.jpg\n## heading"', 'HTTPS://C.Example/%7Efile.JPG', 'https://c.example/~file.JPG'].join('\n');
    expect(parseUrlList(list)).toEqual(['https://c.example/%7Efile.JPG', 'https://c.example/~file.JPG']);
  });

  it('normalises with new URL().href and refuses whitespace, < and >', () => {
    expect(normaliseUrl('https://Example.org/a/../b.png')).toBe('https://example.org/b.png');
    for (const bad of [INJECTED, 'https://x.example/a\tb', 'https://x.example/<b>', 'javascript:alert(1)', 'ftp://x.example/a']) expect(normaliseUrl(bad), bad).toBeUndefined();
  });

  it('stores the source of a search result normalised, dropping what is no URL', () => {
    expect(storedSource({ kind: 'search', url: 'https://A.example/x.jpg', pageUrl: INJECTED, title: 't' })).toEqual({ kind: 'search', url: 'https://a.example/x.jpg', title: 't' });
  });
});

describe('rendering user-supplied text', () => {
  it('an injected URL stored before normalisation renders as text', () => {
    expect(sourceText(INJECTED)).toBe(`\`${INJECTED}\``);
    expect(sourceText('https://a.example/cat.jpg')).toBe('<https://a.example/cat.jpg>');

    const report: CleanReport = {
      id: 'r',
      createdAt: 0,
      kind: 'labels',
      classes: ['cat', 'dog'],
      suspects: [{ id: 'a'.repeat(64), source: INJECTED, label: 'cat', suggested: 'dog', score: 0.9, kind: 'label', reason: 'r' }],
      summary: { nItems: 1, counts: { label: 1, leak: 0, duplicate: 0, outlier: 0, quality: 0 }, noiseRate: {}, skippedKept: 0, notes: [] },
    };
    const lines = suspectText(report, 0).split('\n');
    expect(lines).toContain(`\`${INJECTED}\``);
    for (const line of lines) expect(liveMarkdown(line.replace(/`[^`]*`/g, '')), line).toBe(false);
  });

  it('escapes display names: no link, no heading, no new line, no mention', () => {
    const name = '# [claim](https://phish.example)\n<@123> *hi*';
    const escaped = escapeMarkdown(name);
    expect(escaped).not.toContain('\n');
    expect(escaped).toBe(String.raw`\# \[claim\](https\://phish.example) \<@123\> \*hi\*`);
    expect(liveMarkdown(escaped)).toBe(false);
    const line = decisionLine({ id: 'd', dataset: { guildId: 'g', name: 'n' }, reportId: 'r', itemId: 'i', action: { type: 'keep' }, from: 'cat', to: 'cat', by: { userId: 'u', name }, at: 0, state: 'applied' }, { id: 'i', source: 's', label: 'cat', score: 1, kind: 'label', reason: 'r' });
    expect(line).toContain(escaped);
  });

  it('code spans hold anything on one line', () => {
    expect(inlineCode('a`b\nc')).toBe("`a'b c`");
  });
});
