// Class names come from users and end up in Discord messages, file names and CSVs, so they are
// cleaned: mentions neutralised, markdown removed, path separators replaced, 1-50 characters,
// unique ignoring case.
import { UserError } from '../errors.js';
import { DATASET_NAME, type DatasetRef } from '../jobs.js';

export const MAX_CLASS_NAME = 50;
export const MAX_CLASSES = 100;

/** Clean one class name, or throw UserError saying why it cannot be used. */
export function cleanClassName(raw: string): string {
  const cleaned = raw
    .normalize('NFKC')
    // Discord mentions: users, roles, channels, slash commands, custom emoji.
    .replace(/<(?:@[!&]?|#|\/[^:>]*:|a?:\w+:)\d+>/g, ' ')
    // @everyone / @here and any other @ would ping or look like one: drop the @.
    .replace(/@/g, '')
    // Markdown: emphasis, code, spoilers, quotes, headings, links, escapes.
    .replace(/[*_~`|>#\\[\]()]/g, ' ')
    // Path separators and control characters have no place in folder names.
    .replace(/[/\u0000-\u001f\u007f]/g, '-')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.-]+|[\s.-]+$/g, '');
  if (!cleaned) throw new UserError(`"${preview(raw)}" is not a usable class name (nothing left after removing mentions and markdown)`);
  if (cleaned.length > MAX_CLASS_NAME) throw new UserError(`class names are at most ${MAX_CLASS_NAME} characters; "${preview(cleaned)}" is longer`);
  return cleaned;
}

/** Clean a list of class names and refuse duplicates (ignoring case) among them and `existing`. */
export function cleanClassNames(raw: string[], existing: string[] = []): string[] {
  const seen = new Set(existing.map((c) => c.toLowerCase()));
  const out: string[] = [];
  for (const name of raw.map(cleanClassName)) {
    if (seen.has(name.toLowerCase())) throw new UserError(`class "${name}" is given twice (class names ignore case)`);
    seen.add(name.toLowerCase());
    out.push(name);
  }
  if (out.length + existing.length > MAX_CLASSES) throw new UserError(`a dataset has at most ${MAX_CLASSES} classes`);
  return out;
}

/** "grizzly bear, black bear; teddy bear" -> three names (commas, semicolons or new lines). */
export function parseClassList(text: string): string[] {
  return text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The class in `classes` that `name` refers to, ignoring case; undefined when none. */
export function findClass(classes: string[], name: string): string | undefined {
  const wanted = name.trim().toLowerCase();
  return classes.find((c) => c.toLowerCase() === wanted);
}

export function checkDatasetRef(ref: DatasetRef): void {
  if (!DATASET_NAME.test(ref.name)) {
    throw new UserError(`"${preview(ref.name)}" is not a dataset name: use 1-32 lowercase letters, digits, - or _, starting with a letter or digit`);
  }
  if (!ref.guildId || /[:\s]/.test(ref.guildId)) throw new UserError('invalid guild id');
}

function preview(s: string): string {
  const flat = s.replace(/[`@]/g, '').replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}
