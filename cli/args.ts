// Option parsing for every subcommand: node:util's parseArgs, with its errors rewritten for a
// person ("unknown option --epoch: did you mean --epochs?") and followed by the usage, as a
// UserError rather than a trace. The dataset subcommands share --guild, --json and --help.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { distance } from 'fastest-levenshtein';
import { UserError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON = {
  guild: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

/** The known option closest to a mistyped one, when it is close enough to be what was meant. */
export function nearestOption(typed: string, known: string[]): string | undefined {
  const name = typed.replace(/^-+/, '').split('=')[0]!.toLowerCase();
  let best: { option: string; d: number } | undefined;
  for (const option of known) {
    const d = option.startsWith(name) || name.startsWith(option) ? 1 : distance(name, option);
    if (!best || d < best.d) best = { option, d };
  }
  // Two edits at most, and fewer than half the letters: "--epoch" -> "--epochs", not "--x" -> "--lr".
  return best && best.d <= Math.min(2, Math.floor(name.length / 2)) ? best.option : undefined;
}

/** parseArgs' message for a mistake, in plain words (its own quotes are not always balanced). */
export function describeParseError(err: Error & { code?: string }, known: string[]): string {
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const near = nearestOption(quoted, known);
      return `unknown option ${quoted}${near ? `: did you mean --${near}?` : ''}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = quoted.split(' ')[0]!;
      return /argument missing/.test(err.message) ? `${option} needs a value` : `${option} takes no value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted}`;
    default:
      return err.message;
  }
}

/** parseArgs for a subcommand with only its own options; a mistake throws a UserError with the usage. */
export function parseOptions<const O extends Options>(argv: string[], options: O, usage: string, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, allowPositionals, strict: true, options });
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      throw new UserError(`${describeParseError(err as Error, Object.keys(options))}\n${usage}`);
    }
    throw err;
  }
}

/** parseOptions plus --guild, --json and --help, for the subcommands that work on a dataset. */
export function parseCli<const O extends Options>(argv: string[], options: O, usage: string) {
  return parseOptions(argv, { ...COMMON, ...options }, usage);
}

/**
 * Core's user errors point at the slash commands that fix them ("run /train bears first");
 * on the command line, name the kodiak subcommand instead.
 */
export function forCommandLine(message: string): string {
  return message
    .replace(/\/train (\S+)/g, 'kodiak train $1')
    .replace(/\/model list/g, 'kodiak model list')
    .replace(/; \/dataset list shows the ones that exist/g, ' (check --guild); kodiak dataset import <name> <folder> makes one');
}
