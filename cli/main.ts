// `kodiak <command> ...`: the command line, through the same core code the bot uses.
// Each subcommand lives in cli/<name>.ts and exports `main(argv): Promise<number>`.
import { ConfigError } from '../core/config.js';
import { loadDotEnv } from '../core/dotenv.js';
import { isUserError } from '../core/errors.js';
import { forCommandLine } from './args.js';

type Sub = { main(argv: string[]): Promise<number>; summary: string };

const SUBCOMMANDS: Record<string, () => Promise<Sub>> = {
  sgd: () => import('./sgd.js'),
  dataset: () => import('./dataset.js'),
  clean: () => import('./clean.js'),
  train: () => import('./train.js'),
  predict: () => import('./predict.js'),
  model: () => import('./model.js'),
};

function usage(): string {
  return ['usage: kodiak <command> [options]', '', 'commands:', ...Object.keys(SUBCOMMANDS).map((n) => `  ${n}`)].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = SUBCOMMANDS[name];
  if (!load) {
    console.error(`kodiak: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    return await (await load()).main(rest);
  } catch (err) {
    if (isUserError(err) || err instanceof ConfigError) {
      console.error(`kodiak ${name}: ${forCommandLine((err as Error).message)}`);
      return 1;
    }
    throw err;
  }
}

loadDotEnv();
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
