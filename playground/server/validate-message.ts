// Discord's documented limits for a message payload (create, edit, interaction reply,
// follow-up). Everything over a limit is collected and reported at once as 50035.
import { Errors, FormErrors } from './errors.js';

export const LIMITS = {
  content: 2000,
  embeds: 10,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  embedAuthor: 256,
  embedTotal: 6000,
  actionRows: 5,
  buttonsPerRow: 5,
  buttonLabel: 80,
  customId: 100,
  selectOptions: 25,
  selectOptionText: 100,
  selectPlaceholder: 150,
  attachments: 10,
  uploadBytes: 10 * 1024 * 1024,
} as const;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Validates the parts of a message body the fake understands; throws DiscordError on the first failing request. */
export function validateMessageBody(body: Json, errors = new FormErrors()): void {
  if (body.content !== undefined && body.content !== null && typeof body.content !== 'string') {
    errors.add(['content'], 'BASE_TYPE_STRING', 'Must be a string.');
  }
  errors.maxLength(['content'], text(body.content), LIMITS.content);
  if (body.embeds !== undefined && body.embeds !== null) validateEmbeds(body.embeds, errors);
  if (body.components !== undefined && body.components !== null) validateComponents(body.components, errors);
  if (Array.isArray(body.attachments) && body.attachments.length > LIMITS.attachments) {
    errors.add(['attachments'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.attachments} or fewer in length.`);
  }
  errors.throwIfAny();
}

/** A new message must carry something visible. */
export function assertNotEmpty(body: Json, fileCount: number): void {
  const hasContent = typeof body.content === 'string' && body.content.trim().length > 0;
  const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0;
  const hasComponents = Array.isArray(body.components) && body.components.length > 0;
  const hasStickers = Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0;
  if (!hasContent && !hasEmbeds && !hasComponents && !hasStickers && fileCount === 0 && !body.poll) {
    throw Errors.emptyMessage();
  }
}

function validateEmbeds(embeds: unknown, errors: FormErrors): void {
  if (!Array.isArray(embeds)) return errors.add(['embeds'], 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (embeds.length > LIMITS.embeds) {
    errors.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.embeds} or fewer in length.`);
  }
  let total = 0;
  embeds.forEach((embed, i) => {
    if (!isObject(embed)) return errors.add(['embeds', i], 'MODEL_TYPE_REQUIRED', 'Must be an object.');
    errors.maxLength(['embeds', i, 'title'], text(embed.title), LIMITS.embedTitle);
    errors.maxLength(['embeds', i, 'description'], text(embed.description), LIMITS.embedDescription);
    const footer = isObject(embed.footer) ? text(embed.footer.text) : undefined;
    const author = isObject(embed.author) ? text(embed.author.name) : undefined;
    errors.maxLength(['embeds', i, 'footer', 'text'], footer, LIMITS.embedFooter);
    errors.maxLength(['embeds', i, 'author', 'name'], author, LIMITS.embedAuthor);
    total += length(embed.title) + length(embed.description) + length(footer) + length(author);
    const fields = Array.isArray(embed.fields) ? embed.fields : [];
    if (fields.length > LIMITS.embedFields) {
      errors.add(['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.embedFields} or fewer in length.`);
    }
    fields.forEach((field: unknown, j: number) => {
      const path = ['embeds', i, 'fields', j];
      if (!isObject(field)) return errors.add(path, 'MODEL_TYPE_REQUIRED', 'Must be an object.');
      for (const key of ['name', 'value'] as const) {
        if (typeof field[key] !== 'string' || (field[key] as string).length === 0) {
          errors.add([...path, key], 'BASE_TYPE_REQUIRED', 'This field is required');
        }
      }
      errors.maxLength([...path, 'name'], text(field.name), LIMITS.embedFieldName);
      errors.maxLength([...path, 'value'], text(field.value), LIMITS.embedFieldValue);
      total += length(field.name) + length(field.value);
    });
  });
  if (total > LIMITS.embedTotal) {
    errors.add(['embeds'], 'MESSAGE_EMBED_TOO_LONG', `Embed size exceeds maximum size of ${LIMITS.embedTotal}`);
  }
}

const length = (v: unknown): number => (typeof v === 'string' ? [...v].length : 0);

const SELECT_TYPES = new Set([3, 5, 6, 7, 8]);

function validateComponents(rows: unknown, errors: FormErrors): void {
  if (!Array.isArray(rows)) return errors.add(['components'], 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (rows.length > LIMITS.actionRows) {
    errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.actionRows} or fewer in length.`);
  }
  const seenIds = new Set<string>();
  rows.forEach((row, i) => {
    const path = ['components', i];
    if (!isObject(row) || row.type !== 1) {
      return errors.add(path, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
    }
    const children = Array.isArray(row.components) ? row.components : [];
    if (children.length === 0) {
      errors.add([...path, 'components'], 'BASE_TYPE_MIN_LENGTH', 'Must be 1 or more in length.');
    }
    const selects = children.filter((c: unknown) => isObject(c) && SELECT_TYPES.has(c.type as number));
    if (selects.length > 0 && children.length > 1) {
      errors.add([...path, 'components'], 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'The specified component exceeds the maximum width');
    }
    if (children.length > LIMITS.buttonsPerRow) {
      errors.add([...path, 'components'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.buttonsPerRow} or fewer in length.`);
    }
    children.forEach((child: unknown, j: number) => {
      const childPath = [...path, 'components', j];
      if (!isObject(child)) return errors.add(childPath, 'MODEL_TYPE_REQUIRED', 'Must be an object.');
      if (child.type === 2) validateButton(child, childPath, errors);
      else if (SELECT_TYPES.has(child.type as number)) validateSelect(child, childPath, errors);
      else errors.add([...childPath, 'type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).');
      const id = text(child.custom_id);
      if (id !== undefined) {
        if (seenIds.has(id)) errors.add([...childPath, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
        seenIds.add(id);
      }
    });
  });
}

function validateButton(button: Json, path: (string | number)[], errors: FormErrors): void {
  const style = button.style;
  if (typeof style !== 'number' || style < 1 || style > 6) {
    errors.add([...path, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6}.');
  }
  errors.maxLength([...path, 'label'], text(button.label), LIMITS.buttonLabel);
  if (style === 5) {
    if (typeof button.url !== 'string') errors.add([...path, 'url'], 'BASE_TYPE_REQUIRED', 'This field is required');
    if (button.custom_id !== undefined) errors.add([...path, 'custom_id'], 'BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED', 'A custom id is not allowed on a link button');
  } else if (style !== 6) {
    requireCustomId(button, path, errors);
    if (button.url !== undefined) errors.add([...path, 'url'], 'BUTTON_COMPONENT_URL_NOT_ALLOWED', 'A url is only allowed on a link button');
  }
  if (button.label === undefined && button.emoji === undefined) {
    errors.add([...path, 'label'], 'BUTTON_COMPONENT_LABEL_REQUIRED', 'A button needs a label or an emoji');
  }
}

function validateSelect(select: Json, path: (string | number)[], errors: FormErrors): void {
  requireCustomId(select, path, errors);
  errors.maxLength([...path, 'placeholder'], text(select.placeholder), LIMITS.selectPlaceholder);
  const min = typeof select.min_values === 'number' ? select.min_values : 1;
  const max = typeof select.max_values === 'number' ? select.max_values : 1;
  if (min < 0 || min > 25) errors.add([...path, 'min_values'], 'NUMBER_TYPE_MAX', 'int value should be between 0 and 25.');
  if (max < 1 || max > 25) errors.add([...path, 'max_values'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and 25.');
  if (select.type !== 3) return;
  const options = Array.isArray(select.options) ? select.options : [];
  if (options.length < 1 || options.length > LIMITS.selectOptions) {
    errors.add([...path, 'options'], 'BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${LIMITS.selectOptions} in length.`);
  }
  if (max > options.length && options.length > 0) {
    errors.add([...path, 'max_values'], 'SELECT_COMPONENT_MAX_VALUES_EXCEEDED', 'max_values must be at most the number of options');
  }
  const values = new Set<string>();
  options.forEach((option: unknown, k: number) => {
    const optionPath = [...path, 'options', k];
    if (!isObject(option)) return errors.add(optionPath, 'MODEL_TYPE_REQUIRED', 'Must be an object.');
    for (const key of ['label', 'value'] as const) {
      if (typeof option[key] !== 'string' || (option[key] as string).length === 0) {
        errors.add([...optionPath, key], 'BASE_TYPE_REQUIRED', 'This field is required');
      }
      errors.maxLength([...optionPath, key], text(option[key]), LIMITS.selectOptionText);
    }
    errors.maxLength([...optionPath, 'description'], text(option.description), LIMITS.selectOptionText);
    const value = text(option.value);
    if (value !== undefined && values.has(value)) {
      errors.add([...optionPath, 'value'], 'SELECT_COMPONENT_OPTION_VALUE_DUPLICATED', 'Select option values must be unique');
    }
    if (value !== undefined) values.add(value);
  });
}

function requireCustomId(component: Json, path: (string | number)[], errors: FormErrors): void {
  const id = component.custom_id;
  if (typeof id !== 'string' || id.length === 0) {
    errors.add([...path, 'custom_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
  } else {
    errors.maxLength([...path, 'custom_id'], id, LIMITS.customId);
  }
}
