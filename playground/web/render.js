// A message as the playground page shows it, as an HTML string: author, command line, content,
// embeds, attachments (images and GIFs inline), buttons, select menus and reactions, with
// data-* attributes the page's click handler reads. Everything from the message is escaped.
import { escapeHtml, renderMarkdown, safeUrl } from './markdown.js';

export const EPHEMERAL = 64;
export const LOADING = 128;
const BUTTON_STYLES = { 1: 'primary', 2: 'secondary', 3: 'success', 4: 'danger', 5: 'link', 6: 'premium' };

const isImage = (a) => /^image\/(png|jpe?g|gif|webp|bmp)/.test(a.content_type ?? '') || /\.(png|jpe?g|gif|webp|bmp)$/i.test(a.filename ?? '');

/** Files an embed shows through attachment://name are shown there, not again below (as in Discord). */
function embeddedNames(message) {
  const names = new Set();
  for (const embed of message.embeds ?? []) {
    for (const url of [embed.image?.url, embed.thumbnail?.url, embed.author?.icon_url, embed.footer?.icon_url]) {
      if (typeof url === 'string' && url.startsWith('attachment://')) names.add(url.slice('attachment://'.length));
    }
  }
  return names;
}

/** An embed's image URL: attachment://name resolves to the message's file. */
function imageUrl(url, message) {
  if (typeof url !== 'string') return undefined;
  if (url.startsWith('attachment://')) {
    const file = (message.attachments ?? []).find((a) => a.filename === url.slice('attachment://'.length));
    return file ? safeUrl(file.url) : undefined;
  }
  return safeUrl(url);
}

function colorOf(embed) {
  return typeof embed.color === 'number' ? `#${embed.color.toString(16).padStart(6, '0')}` : '#4e5058';
}

export function renderEmbed(embed, message, names) {
  const parts = [];
  if (embed.author?.name) parts.push(`<div class="embed-author">${escapeHtml(embed.author.name)}</div>`);
  if (embed.title) {
    const href = embed.url ? safeUrl(embed.url) : undefined;
    const title = renderMarkdown(embed.title, names);
    parts.push(`<div class="embed-title">${href ? `<a href="${href}" target="_blank" rel="noopener noreferrer nofollow">${title}</a>` : title}</div>`);
  }
  if (embed.description) parts.push(`<div class="embed-description">${renderMarkdown(embed.description, names)}</div>`);
  if (embed.fields?.length) {
    const fields = embed.fields.map((f) => `<div class="embed-field${f.inline ? ' inline' : ''}"><div class="embed-field-name">${renderMarkdown(f.name, names)}</div><div class="embed-field-value">${renderMarkdown(f.value, names)}</div></div>`);
    parts.push(`<div class="embed-fields">${fields.join('')}</div>`);
  }
  const image = imageUrl(embed.image?.url, message);
  if (image) parts.push(`<img class="embed-image" src="${image}" alt="">`);
  const thumbnail = imageUrl(embed.thumbnail?.url, message);
  const footer = [embed.footer?.text, embed.timestamp ? new Date(embed.timestamp).toLocaleString() : undefined].filter(Boolean);
  if (footer.length) parts.push(`<div class="embed-footer">${footer.map((t) => escapeHtml(t)).join(' • ')}</div>`);
  return `<div class="embed" data-color="${escapeHtml(colorOf(embed))}">${thumbnail ? `<img class="embed-thumbnail" src="${thumbnail}" alt="">` : ''}<div class="embed-body">${parts.join('')}</div></div>`;
}

export function renderAttachment(attachment) {
  const url = safeUrl(attachment.url);
  if (!url) return '';
  if (isImage(attachment)) return `<a class="attachment image" href="${url}" target="_blank"><img src="${url}" alt="${escapeHtml(attachment.description ?? attachment.filename)}"></a>`;
  const size = typeof attachment.size === 'number' ? ` (${(attachment.size / 1024).toFixed(1)} KB)` : '';
  return `<a class="attachment file" href="${url}" download="${escapeHtml(attachment.filename)}">📄 ${escapeHtml(attachment.filename)}${size}</a>`;
}

function emojiText(emoji) {
  if (!emoji) return '';
  return emoji.id ? `:${emoji.name}:` : emoji.name;
}

function renderComponent(component, message) {
  const ids = `data-message="${escapeHtml(message.id)}" data-custom-id="${escapeHtml(component.custom_id ?? '')}"`;
  if (component.type === 2) {
    const style = BUTTON_STYLES[component.style] ?? 'secondary';
    const label = `${component.emoji ? `${escapeHtml(emojiText(component.emoji))} ` : ''}${escapeHtml(component.label ?? '')}`;
    if (component.style === 5) {
      const href = safeUrl(component.url);
      return href ? `<a class="button link" href="${href}" target="_blank" rel="noopener noreferrer nofollow">${label} ↗</a>` : '';
    }
    return `<button type="button" class="button ${style}" data-action="click" ${ids}${component.disabled ? ' disabled' : ''}>${label}</button>`;
  }
  if (component.type === 3) {
    const max = component.max_values ?? 1;
    const options = (component.options ?? []).map((o) => `<option value="${escapeHtml(o.value)}"${o.default ? ' selected' : ''}>${escapeHtml(`${o.emoji ? `${emojiText(o.emoji)} ` : ''}${o.label}`)}</option>`);
    const placeholder = `<option value="" disabled${(component.options ?? []).some((o) => o.default) ? '' : ' selected'}>${escapeHtml(component.placeholder ?? 'Make a selection')}</option>`;
    return `<select class="select" data-action="select" ${ids} data-min="${Number(component.min_values ?? 1)}" data-max="${Number(max)}"${max > 1 ? ' multiple' : ''}${component.disabled ? ' disabled' : ''}>${max > 1 ? '' : placeholder}${options.join('')}</select>${max > 1 ? `<button type="button" class="button secondary" data-action="select-send" ${ids}>Send</button>` : ''}`;
  }
  return `<span class="unsupported">(a ${escapeHtml(String(component.type))} menu the playground cannot show)</span>`;
}

export function renderComponents(message) {
  return (message.components ?? [])
    .map((row) => `<div class="action-row">${(row.components ?? []).map((c) => renderComponent(c, message)).join('')}</div>`)
    .join('');
}

export function renderReactions(message) {
  const reactions = (message.reactions ?? []).map((r) => {
    const emoji = emojiText(r.emoji);
    return `<button type="button" class="reaction${r.me ? ' me' : ''}" data-action="react" data-message="${escapeHtml(message.id)}" data-emoji="${escapeHtml(r.emoji.id ? `${r.emoji.name}:${r.emoji.id}` : r.emoji.name)}" data-on="${r.me ? 'false' : 'true'}" title="${r.me ? 'Remove your reaction' : 'React'}">${escapeHtml(emoji)} <span class="count">${Number(r.count)}</span></button>`;
  });
  reactions.push(`<button type="button" class="reaction add" data-action="react-menu" data-message="${escapeHtml(message.id)}" title="Add a reaction">☺+</button>`);
  return `<div class="reactions">${reactions.join('')}</div>`;
}

/** The whole message; `names` maps ids to names for mentions. */
export function renderMessage(message, names = {}) {
  const ephemeral = (message.flags & EPHEMERAL) !== 0;
  const loading = (message.flags & LOADING) !== 0;
  const author = message.author ?? {};
  const hidden = embeddedNames(message);
  const time = message.timestamp ? new Date(message.timestamp).toLocaleTimeString() : '';
  const head = [
    `<span class="author${author.bot ? ' bot' : ''}">${escapeHtml(author.global_name ?? author.username ?? 'unknown')}</span>`,
    author.bot ? '<span class="tag">APP</span>' : '',
    `<time>${escapeHtml(time)}</time>`,
    message.edited_timestamp ? '<span class="edited">(edited)</span>' : '',
  ].join(' ');
  const parts = [];
  if (message.command) parts.push(`<div class="command-line">${escapeHtml(message.command.user)} used <span class="command-name">/${escapeHtml(message.command.name)}</span></div>`);
  parts.push(`<div class="head">${head}</div>`);
  if (loading) parts.push(`<div class="content thinking">${escapeHtml(author.username ?? 'The bot')} is thinking…</div>`);
  else if (message.content) parts.push(`<div class="content">${renderMarkdown(message.content, names)}</div>`);
  for (const embed of message.embeds ?? []) parts.push(renderEmbed(embed, message, names));
  const files = (message.attachments ?? []).filter((a) => !hidden.has(a.filename)).map(renderAttachment).join('');
  if (files) parts.push(`<div class="attachments">${files}</div>`);
  const components = renderComponents(message);
  if (components) parts.push(`<div class="components">${components}</div>`);
  if (!ephemeral) parts.push(renderReactions(message));
  if (ephemeral) parts.push('<div class="ephemeral-note">👁 Only you can see this</div>');
  return `<article class="message${ephemeral ? ' ephemeral' : ''}" id="m-${escapeHtml(message.id)}" data-id="${escapeHtml(message.id)}">${parts.join('')}</article>`;
}
