// `.env` in the working directory, read by every entry point (npm start, the workers, kodiak)
// before the config is: what .env.example tells a user to write then takes effect. Variables
// already in the environment win, so a deployment can override the file without editing it.
import path from 'node:path';

/** Loads `<dir>/.env` into process.env when it exists; returns its path, or undefined when there is none. */
export function loadDotEnv(dir: string = process.cwd()): string | undefined {
  const file = path.join(dir, '.env');
  try {
    // Node's own parser (>= 20.12) never overrides a variable that is already set.
    process.loadEnvFile(file);
    return file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}
