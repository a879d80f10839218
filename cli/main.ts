// The `kodiak` process: reads .env, runs the command line, exits with its code.
import { loadDotEnv } from '../core/dotenv.js';
import { run } from './run.js';

loadDotEnv();
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
