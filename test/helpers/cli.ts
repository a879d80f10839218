// Running the command line in-process for tests: a subcommand's main (or cli/run.ts's run) with
// stdout and stderr captured, and generated pictures written as a class-per-folder tree.
import fs from 'node:fs';
import path from 'node:path';
import { vi } from 'vitest';
import { syntheticImages } from '../fixtures/images.js';

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
