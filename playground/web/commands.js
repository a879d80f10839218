// The slash-command picker: the registered commands flattened to what can be run
// ("dataset add"), and the form for one of them (choices as menus, required options marked,
// numbers with their bounds, attachments as file inputs). Pure functions, tested in Node.
import { escapeHtml } from './markdown.js';

export const OptionType = { Subcommand: 1, Group: 2, String: 3, Integer: 4, Boolean: 5, User: 6, Channel: 7, Role: 8, Mentionable: 9, Number: 10, Attachment: 11 };

/** Whether a member with `permissions` (a bit string) is offered a command, as Discord's client decides. */
export function offered(command, permissions) {
  if (command.default_member_permissions === undefined || command.default_member_permissions === null || permissions === undefined) return true;
  const needed = BigInt(command.default_member_permissions);
  const have = BigInt(permissions);
  return (have & 8n) !== 0n || (have & needed) === needed;
}

/** Every runnable path of the chat-input commands offered to `permissions`, e.g. { path: 'dataset add', description, options }. */
export function commandPaths(commands, permissions) {
  const out = [];
  const walk = (prefix, description, options) => {
    const subs = (options ?? []).filter((o) => o.type === OptionType.Subcommand || o.type === OptionType.Group);
    if (subs.length === 0) {
      out.push({ path: prefix, description, options: options ?? [] });
      return;
    }
    for (const sub of subs) walk(`${prefix} ${sub.name}`, sub.description, sub.options);
  };
  for (const command of commands ?? []) {
    if ((command.type ?? 1) !== 1 || !offered(command, permissions)) continue;
    walk(command.name, command.description, command.options);
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** The entries whose path starts with what was typed after "/" (every word a prefix of the path's). */
export function matchCommands(paths, typed) {
  const words = String(typed ?? '').replace(/^\//, '').trim().toLowerCase().split(/\s+/).filter(Boolean);
  return paths.filter((p) => {
    const parts = p.path.split(' ');
    return words.every((w, i) => (i < parts.length ? (i === words.length - 1 ? parts[i].startsWith(w) : parts[i] === w) : false));
  });
}

function field(option) {
  const name = escapeHtml(option.name);
  const required = option.required ? ' required' : '';
  const data = `name="${name}" data-option="${name}" data-type="${Number(option.type)}"`;
  if (option.choices?.length) {
    const choices = option.choices.map((c) => `<option value="${escapeHtml(String(c.value))}">${escapeHtml(c.name)}</option>`).join('');
    return `<select ${data}${required}><option value="">${option.required ? 'Choose…' : '(none)'}</option>${choices}</select>`;
  }
  switch (option.type) {
    case OptionType.Integer:
    case OptionType.Number: {
      const min = typeof option.min_value === 'number' ? ` min="${option.min_value}"` : '';
      const max = typeof option.max_value === 'number' ? ` max="${option.max_value}"` : '';
      return `<input type="number" ${data} step="${option.type === OptionType.Integer ? '1' : 'any'}"${min}${max}${required}>`;
    }
    case OptionType.Boolean:
      return `<select ${data}${required}><option value="">${option.required ? 'Choose…' : '(none)'}</option><option value="true">True</option><option value="false">False</option></select>`;
    case OptionType.Attachment:
      return `<input type="file" ${data}${required}>`;
    default: {
      const max = typeof option.max_length === 'number' ? ` maxlength="${option.max_length}"` : '';
      const min = typeof option.min_length === 'number' ? ` minlength="${option.min_length}"` : '';
      const hint = option.type === OptionType.String ? '' : ' placeholder="a name or an id"';
      return `<input type="text" ${data}${max}${min}${hint}${required} autocomplete="off">`;
    }
  }
}

/** The form for one command path: one labelled field per option, required ones first, as Discord orders them. */
export function renderCommandForm(entry) {
  const options = [...entry.options].sort((a, b) => Number(Boolean(b.required)) - Number(Boolean(a.required)));
  const fields = options.map((o) => `<label class="option${o.required ? ' required' : ''}"><span class="option-name">${escapeHtml(o.name)}${o.required ? '<span class="star" title="required">*</span>' : ''}</span>${field(o)}<span class="option-description">${escapeHtml(o.description ?? '')}</span></label>`);
  return `<form class="command-form" data-command="${escapeHtml(entry.path)}"><div class="command-title">/${escapeHtml(entry.path)} <span class="command-description">${escapeHtml(entry.description ?? '')}</span></div>${fields.join('')}<div class="command-actions"><button type="submit" class="button primary">Run /${escapeHtml(entry.path)}</button><button type="button" class="button secondary" data-action="cancel-command">Cancel</button></div></form>`;
}

/** Names of the required options without a value (the page refuses to send, as Discord's client does). */
export function missingRequired(entry, values) {
  return entry.options.filter((o) => o.required && (values[o.name] === undefined || values[o.name] === '')).map((o) => o.name);
}
