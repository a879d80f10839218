// The playground page's rendering, run in Node: Discord markdown, messages with embeds,
// attachments, buttons, selects and reactions, and the slash-command picker. Everything a
// message carries is escaped; links are only http(s).
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ES module of the page, without types
import { commandPaths, matchCommands, missingRequired, renderCommandForm } from '../playground/web/commands.js';
// @ts-expect-error plain ES module of the page, without types
import { renderMarkdown } from '../playground/web/markdown.js';
// @ts-expect-error plain ES module of the page, without types
import { renderMessage } from '../playground/web/render.js';

describe('Discord markdown on the page', () => {
  it('renders bold, italics, underline, strikethrough, code and links', () => {
    expect(renderMarkdown('**bold** *it* _also_ __under__ ~~gone~~')).toBe('<strong>bold</strong> <em>it</em> <em>also</em> <u>under</u> <s>gone</s>');
    expect(renderMarkdown('`**not bold**`')).toBe('<code>**not bold**</code>');
    expect(renderMarkdown('see [the docs](https://example.com/a?b=1&c=2)')).toBe('see <a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">the docs</a>');
    expect(renderMarkdown('snake_case_name stays')).toBe('snake_case_name stays');
    // Escaped symbols are shown plain, without the backslash.
    expect(renderMarkdown('near\\-duplicate\\: 97\\.3% \\*not italic\\*')).toBe('near-duplicate: 97.3% *not italic*');
  });

  it('renders block quotes and code blocks', () => {
    expect(renderMarkdown('> quoted\n> twice\nafter')).toBe('<blockquote>quoted<br>twice</blockquote>after');
    expect(renderMarkdown('>>> all\nof it')).toBe('<blockquote>all<br>of it</blockquote>');
    expect(renderMarkdown('```js\nif (a < b) {}\n```')).toBe('<pre><code data-lang="js">if (a &lt; b) {}\n</code></pre>');
  });

  it('escapes everything else: tags, attributes, and links that are not http(s)', () => {
    const html = renderMarkdown('<img src=x onerror=alert(1)> [click](javascript:alert(1)) "quotes" & \'apostrophes\'');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('href="javascript');
    expect(html).toBe('&lt;img src=x onerror=alert(1)&gt; [click](javascript:alert(1)) &quot;quotes&quot; &amp; &#39;apostrophes&#39;');
    // A mention shows the name, escaped.
    expect(renderMarkdown('<@123456789>', { users: { '123456789': '<b>eve</b>' } })).toBe('<span class="mention">@&lt;b&gt;eve&lt;/b&gt;</span>');
  });
});

const suspect = {
  id: '42', channel_id: '7', flags: 0, content: 'Is this a **grizzly bear**?', timestamp: '2026-12-02T09:00:00Z', edited_timestamp: '2026-12-02T09:01:00Z',
  author: { id: '1', username: 'Kodiak', bot: true },
  embeds: [{ title: 'Suspect 1 of 3', description: 'labelled <script>', color: 0xf0b232, image: { url: 'attachment://suspect.png' } }],
  attachments: [{ id: '9', filename: 'suspect.png', url: '/attachments/7/9/suspect.png', content_type: 'image/png' }, { id: '10', filename: 'loss.gif', url: '/attachments/7/10/loss.gif', content_type: 'image/gif' }],
  components: [
    { type: 1, components: [{ type: 2, style: 3, label: 'Keep', custom_id: 'clean:keep:1' }, { type: 2, style: 4, label: 'Delete', custom_id: 'clean:del:1', disabled: true }, { type: 2, style: 5, label: 'Docs', url: 'javascript:alert(1)' }] },
    { type: 1, components: [{ type: 3, custom_id: 'clean:relabel:1', placeholder: 'Relabel to…', options: [{ label: 'black bear', value: 'b' }, { label: '"><x>', value: 'x' }] }] },
  ],
  reactions: [{ emoji: { id: null, name: '✅' }, count: 2, me: true }],
  command: { name: 'train', user: 'you' },
};

describe('a message on the page', () => {
  it('shows author, command, content, embed with its attached image, a GIF, buttons, a select and reactions', () => {
    const html = renderMessage(suspect);
    expect(html).toContain('<span class="author bot">Kodiak</span>');
    expect(html).toContain('you used <span class="command-name">/train</span>');
    expect(html).toContain('(edited)');
    expect(html).toContain('Is this a <strong>grizzly bear</strong>?');
    expect(html).toContain('<img class="embed-image" src="/attachments/7/9/suspect.png"');
    expect(html).toContain('labelled &lt;script&gt;');
    // The embed's image is not shown twice; the GIF is shown inline.
    expect(html.match(/suspect\.png/g)).toHaveLength(1);
    expect(html).toContain('<img src="/attachments/7/10/loss.gif"');
    expect(html).toContain('<button type="button" class="button success" data-action="click" data-message="42" data-custom-id="clean:keep:1">Keep</button>');
    expect(html).toMatch(/data-custom-id="clean:del:1" disabled>Delete/);
    expect(html).not.toContain('javascript:');
    expect(html).toContain('<select class="select" data-action="select" data-message="42" data-custom-id="clean:relabel:1"');
    expect(html).toContain('<option value="x">&quot;&gt;&lt;x&gt;</option>');
    expect(html).toContain('class="reaction me" data-action="react" data-message="42" data-emoji="✅" data-on="false"');
  });

  it('marks an ephemeral reply as only for you, and a deferred one as thinking', () => {
    expect(renderMessage({ ...suspect, flags: 64, reactions: [] })).toContain('Only you can see this');
    expect(renderMessage({ ...suspect, flags: 128, content: '' })).toContain('Kodiak is thinking…');
  });
});

const registered = [
  { name: 'help', type: 1, description: 'What Kodiak can do' },
  { name: 'dataset', type: 1, description: 'Datasets', options: [
    { type: 1, name: 'add', description: 'Add images', options: [{ type: 3, name: 'name', description: 'Dataset', required: true }, { type: 11, name: 'file', description: 'A zip' }] },
    { type: 1, name: 'list', description: 'List' },
  ] },
  { name: 'sgd', type: 1, description: 'Gradient descent', options: [{ type: 10, name: 'lr', description: 'Learning rate', min_value: 0.001, max_value: 2 }, { type: 3, name: 'loss', description: 'Loss', choices: [{ name: 'Mean squared error', value: 'mse' }] }] },
];

describe('the command picker', () => {
  it('lists every runnable path and filters by what was typed', () => {
    const paths = commandPaths(registered);
    expect(paths.map((p: { path: string }) => p.path)).toEqual(['dataset add', 'dataset list', 'help', 'sgd']);
    expect(matchCommands(paths, '/dat').map((p: { path: string }) => p.path)).toEqual(['dataset add', 'dataset list']);
    expect(matchCommands(paths, '/dataset a').map((p: { path: string }) => p.path)).toEqual(['dataset add']);
  });

  it('offers only the commands your permissions allow, as Discord does', () => {
    const guarded = [...registered, { name: 'clean', type: 1, description: 'Clean', default_member_permissions: '8192' }];
    expect(commandPaths(guarded, '0').map((p: { path: string }) => p.path)).not.toContain('clean');
    expect(commandPaths(guarded, String(8192 | 2048)).map((p: { path: string }) => p.path)).toContain('clean');
    expect(commandPaths(guarded, '8').map((p: { path: string }) => p.path)).toContain('clean'); // Administrator
  });

  it('builds a form with required options, choices, bounds and a file input', () => {
    const [add, , , sgd] = commandPaths(registered);
    const form = renderCommandForm(add);
    expect(form).toContain('<input type="text" name="name" data-option="name" data-type="3" required');
    expect(form).toContain('<input type="file" name="file" data-option="file" data-type="11">');
    expect(missingRequired(add, { file: 'bears.zip' })).toEqual(['name']);
    const sgdForm = renderCommandForm(sgd);
    expect(sgdForm).toContain('step="any" min="0.001" max="2"');
    expect(sgdForm).toContain('<option value="mse">Mean squared error</option>');
  });
});
