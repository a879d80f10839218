// Option parsing shared by the subcommands that work on a dataset: each adds its own options
// to --guild, --json and --help, and a mistake in them becomes a usage message, not a trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON = {
  guild: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export function parseCli<const O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON, ...options } });
  } catch (err) {
    throw new UserError(`${(err as Error).message}\n${usage}`);
  }
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
