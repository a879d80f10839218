// Discord's rules for application commands, checked recursively through subcommand groups.
import { FormErrors } from './errors.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Chat-input command and option names: 1-32 characters, letters/digits/-/_ in any script, lowercase. */
/** Discord's documented pattern for command and option names (the apostrophe included). */
export const COMMAND_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

const VALID_OPTION_TYPES = new Set<number>(Object.values(OptionType));
const CHOICE_TYPES = new Set<number>([OptionType.String, OptionType.Integer, OptionType.Number]);

/** Validates one command; `path` prefixes error keys (a bulk PUT reports them under the array index). */
export function validateCommand(command: unknown, errors: FormErrors, path: (string | number)[] = []): void {
  if (!isObject(command)) return errors.add(path, 'MODEL_TYPE_REQUIRED', 'Must be an object.');
  const type = command.type ?? 1;
  if (type !== 1 && type !== 2 && type !== 3 && type !== 4) {
    errors.add([...path, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4}.');
  }
  if (type === 1) {
    validateName(command.name, [...path, 'name'], errors, 'APPLICATION_COMMAND_INVALID_NAME');
    validateDescription(command.description, [...path, 'description'], errors);
    validateOptions(command.options, [...path, 'options'], errors, 0);
  } else {
    // User and message commands: any case and spaces allowed, no description.
    if (typeof command.name !== 'string' || command.name.length < 1 || command.name.length > 32) {
      errors.add([...path, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 32 in length.');
    }
    if (command.description) {
      errors.add([...path, 'description'], 'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION', 'Context menu commands cannot have description');
    }
  }
}

function validateName(name: unknown, path: (string | number)[], errors: FormErrors, code: string): void {
  if (typeof name !== 'string') return errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
  if (!COMMAND_NAME.test(name)) {
    errors.add(path, code, 'Command name is invalid');
  } else if (name !== name.toLowerCase()) {
    errors.add(path, code, 'Command name is invalid: must be lowercase');
  }
}

function validateDescription(description: unknown, path: (string | number)[], errors: FormErrors): void {
  if (typeof description !== 'string') return errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
  if (description.length < 1 || description.length > 100) {
    errors.add(path, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  }
}

/** depth 0 = the command itself, 1 = inside a subcommand group or subcommand, 2 = inside a subcommand in a group. */
function validateOptions(options: unknown, path: (string | number)[], errors: FormErrors, depth: number): void {
  if (options === undefined || options === null) return;
  if (!Array.isArray(options)) return errors.add(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (options.length > 25) errors.add(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  const names = new Set<string>();
  let sawOptional = false;
  options.forEach((option, i) => {
    const optionPath = [...path, i];
    if (!isObject(option)) return errors.add(optionPath, 'MODEL_TYPE_REQUIRED', 'Must be an object.');
    const type = option.type as number;
    if (!VALID_OPTION_TYPES.has(type)) {
      return errors.add([...optionPath, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.');
    }
    validateName(option.name, [...optionPath, 'name'], errors, 'APPLICATION_COMMAND_INVALID_NAME');
    validateDescription(option.description, [...optionPath, 'description'], errors);
    if (typeof option.name === 'string') {
      if (names.has(option.name)) errors.add([...optionPath, 'name'], 'APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS', 'Option names must be unique');
      names.add(option.name);
    }
    const isGroup = type === OptionType.SubcommandGroup;
    const isSub = type === OptionType.Subcommand;
    if (isGroup && depth > 0) errors.add([...optionPath, 'type'], 'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID', 'Subcommand groups can only be top level');
    if (isSub && depth > 1) errors.add([...optionPath, 'type'], 'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID', 'Subcommands cannot be nested this deep');
    if (isGroup || isSub) {
      const childDepth = isGroup ? depth + 1 : 2;
      if (isGroup && Array.isArray(option.options) && option.options.some((o) => isObject(o) && o.type !== OptionType.Subcommand)) {
        errors.add([...optionPath, 'options'], 'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID', 'A subcommand group can only contain subcommands');
      }
      validateOptions(option.options, [...optionPath, 'options'], errors, isSub ? 2 : childDepth);
      return;
    }
    if (depth === 2 && option.options !== undefined) {
      errors.add([...optionPath, 'options'], 'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID', 'Only subcommands and groups can have options');
    }
    if (option.required === true && sawOptional) {
      errors.add([...optionPath, 'required'], 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
    }
    if (option.required !== true) sawOptional = true;
    validateChoices(option, type, [...optionPath, 'choices'], errors);
    validateLengthBounds(option, optionPath, errors);
  });
}

function validateChoices(option: Json, type: number, path: (string | number)[], errors: FormErrors): void {
  const choices = option.choices;
  if (choices === undefined || choices === null) return;
  if (!CHOICE_TYPES.has(type)) return errors.add(path, 'APPLICATION_COMMAND_OPTION_CHOICES_INVALID', 'This option type cannot have choices');
  if (option.autocomplete === true) errors.add(path, 'APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE', 'Autocomplete and choices are mutually exclusive');
  if (!Array.isArray(choices)) return errors.add(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (choices.length > 25) errors.add(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  choices.forEach((choice, i) => {
    if (!isObject(choice)) return errors.add([...path, i], 'MODEL_TYPE_REQUIRED', 'Must be an object.');
    if (typeof choice.name !== 'string' || choice.name.length < 1 || choice.name.length > 100) {
      errors.add([...path, i, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    const valueOk = type === OptionType.String
      ? typeof choice.value === 'string' && choice.value.length <= 100
      : typeof choice.value === 'number' && (type !== OptionType.Integer || Number.isInteger(choice.value));
    if (!valueOk) errors.add([...path, i, 'value'], 'APPLICATION_COMMAND_OPTION_CHOICE_VALUE_INVALID', 'Choice value does not match the option type');
  });
}

function validateLengthBounds(option: Json, path: (string | number)[], errors: FormErrors): void {
  const min = option.min_length;
  const max = option.max_length;
  if (min !== undefined && (typeof min !== 'number' || min < 0 || min > 6000)) {
    errors.add([...path, 'min_length'], 'NUMBER_TYPE_MAX', 'int value should be between 0 and 6000.');
  }
  if (max !== undefined && (typeof max !== 'number' || max < 1 || max > 6000)) {
    errors.add([...path, 'max_length'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and 6000.');
  }
}
