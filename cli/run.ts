// `kodiak <command> ...`: finds the subcommand and turns user errors into one line on stderr.
// Each subcommand lives in cli/<name>.ts and exports `main(argv): Promise<number>`; modules load
// only when used, so `kodiak --help` does not start tfjs.
import { ConfigError } from '../core/config.js';
import { isUserError } from '../core/errors.js';
import { forCommandLine, nearestOption } from './args.js';

type Sub = { main(argv: string[]): Promise<number> };

/** The subcommands in the order of the lesson's loop, each with its line in `kodiak --help`. */
const SUBCOMMANDS: Record<string, { summary: string; load: () => Promise<Sub> }> = {
  dataset: { summary: 'list, show, import, export or delete datasets', load: () => import('./dataset.js') },
  train: { summary: 'train a dataset and save its next model version (--json for the metrics)', load: () => import('./train.js') },
  clean: { summary: 'list the images the model thinks are mislabelled, duplicated, odd or of poor quality', load: () => import('./clean.js') },
  label: { summary: 'relabel, delete or keep images the cleaner listed (by id), or undo that', load: () => import('./label.js') },
  predict: { summary: 'classify image files with a trained model', load: () => import('./predict.js') },
  model: { summary: 'list, inspect and export trained model versions', load: () => import('./model.js') },
  sgd: { summary: 'gradient descent by hand: fit a line, write the animation and loss curve', load: () => import('./sgd.js') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  return [
    'usage: kodiak <command> [options]     (kodiak <command> --help for its options)',
    '',
    'commands:',
    ...Object.entries(SUBCOMMANDS).map(([n, s]) => `  ${n.padEnd(width)}  ${s.summary}`),
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  // No command is a mistake: the usage goes to stderr, so nothing lands in a pipe.
  if (!name) {
    console.error(usage());
    return 2;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) {
    const near = nearestOption(name, Object.keys(SUBCOMMANDS));
    console.error(`kodiak: unknown command ${name}${near ? `: did you mean ${near}?` : ''}\n${usage()}`);
    return 2;
  }
  try {
    return await (await sub.load()).main(rest);
  } catch (err) {
    if (isUserError(err) || err instanceof ConfigError) {
      console.error(`kodiak ${name}: ${forCommandLine((err as Error).message)}`);
      return 1;
    }
    throw err;
  }
}
