// Running the command line in-process for tests: a subcommand's main (or cli/run.ts's run) with
// stdout and stderr captured, and generated pictures written as a class-per-folder tree.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';
import { createRedis } from '../../core/redis.js';
import { syntheticImages } from '../fixtures/images.js';
import { deleteKeys } from './stack.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main(argv)`; console.log is stdout, console.error and process.stderr.write are stderr. */
export async function cli(main: (argv: string[]) => Promise<number>, argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  try {
    const code = await main(argv);
    return { code, stdout: out.join('\n'), stderr: err.join('') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

/** Writes generated pictures as <folder>/<class>/<i>.jpg; returns [file, class] pairs. */
export async function writeImages(folder: string, perClass: number, seed: number, size = 64): Promise<[string, string][]> {
  const images = await syntheticImages(perClass, { size, seed });
  return images.map((img, i) => {
    const file = path.join(folder, img.label, `${i}.jpg`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, img.bytes);
    return [file, img.label];
  });
}

/**
 * A command-line test's own Redis prefix and DATA_DIR under a fresh temp folder, set in
 * process.env (where openCliContext reads them); `restore` puts the environment back and removes
 * the keys and the folder.
 */
export function cliTestEnv(name: string, extra: Record<string, string> = {}) {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `kodiak-${name}-`));
  const saved = { ...process.env };
  // One view instead of the default four (IMAGE_VIEWS): a fifth of the embedding work.
  Object.assign(process.env, { QUEUE_PREFIX: prefix, DATA_DIR: path.join(tmp, 'data'), LOG_LEVEL: 'silent', IMAGE_VIEWS: 'original', ...extra });
  return {
    prefix,
    tmp,
    async restore() {
      process.env = saved;
      const redis = createRedis('redis://127.0.0.1:6379');
      await deleteKeys(redis, prefix);
      redis.disconnect();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
