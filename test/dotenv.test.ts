// `.env` in the working directory is read by npm start, the workers and kodiak, as .env.example
// and the missing-token message tell a user; a variable set in the environment wins over it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures/modelMirror.js';

const TSX = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs an entry point of the repository from a fresh folder holding `dotenv` as its .env. */
function runIn(dotenv: string, entry: string, args: string[], env: Record<string, string>) {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'kodiak-dotenv-'));
  dirs.push(cwd);
  writeFileSync(path.join(cwd, '.env'), dotenv);
  const { DISCORD_TOKEN: _t, REDIS_URL: _r, START_REDIS: _s, ...rest } = process.env;
  const result = spawnSync(process.execPath, ['--import', TSX, path.join(REPO_ROOT, entry), ...args], {
    cwd,
    env: { ...rest, LOG_LEVEL: 'silent', DATA_DIR: path.join(cwd, 'data'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stderr: result.stderr };
}

describe('.env', () => {
  it('npm start takes DISCORD_TOKEN from .env and gets past the token check', () => {
    // Redis is where it stops: nothing answers on port 1 and no embedded Redis is allowed.
    const { code, stderr } = runIn('# from .env.example\nDISCORD_TOKEN=token-from-dotenv\n', 'main.ts', [], {
      REDIS_URL: 'redis://127.0.0.1:1',
      START_REDIS: 'never',
    });
    expect(code).not.toBe(0);
    expect(stderr).not.toContain('DISCORD_TOKEN is not set');
    expect(stderr).toContain('nothing answers');
  });

  it('a variable set in the environment wins over .env', () => {
    const { stderr } = runIn('DISCORD_TOKEN=t\nREDIS_URL=http://malformed-in-dotenv\n', 'main.ts', [], {
      REDIS_URL: 'redis://127.0.0.1:1',
      START_REDIS: 'never',
    });
    expect(stderr).toContain('nothing answers');
    expect(stderr).not.toContain('malformed-in-dotenv');
  });

  it('kodiak and the standalone workers read it too', () => {
    for (const [entry, args] of [['cli/main.ts', ['model', 'list']], ['workers/main.ts', []]] as const) {
      const { code, stderr } = runIn('REDIS_URL=http://malformed-in-dotenv\n', entry, [...args], {});
      expect(code, entry).not.toBe(0);
      expect(stderr, entry).toContain('REDIS_URL');
    }
  });
});
