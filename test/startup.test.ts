// `npm start` must fail fast and helpfully when it cannot run: no token, or a wrong REDIS_URL.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../core/config.js';

function start(env: Record<string, string>) {
  const { DISCORD_TOKEN: _t, REDIS_URL: _r, ...rest } = process.env;
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
    env: { ...rest, LOG_LEVEL: 'silent', DATA_DIR: '/tmp/kodiak-startup-test', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stderr: result.stderr };
}

describe('npm start', () => {
  it('without a token, asked to open the playground beyond loopback with no password, exits non-zero naming both variables, without a stack trace', () => {
    // (Without a token it starts the playground: test/playground-start.test.ts.)
    const { code, stderr } = start({ PLAYGROUND_HOST: '0.0.0.0' });
    expect(code).not.toBe(0);
    expect(stderr).toContain('PLAYGROUND_HOST');
    expect(stderr).toContain('PLAYGROUND_PASSWORD');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('with a malformed REDIS_URL names the variable', () => {
    const { code, stderr } = start({ DISCORD_TOKEN: 'x', REDIS_URL: 'http://nope' });
    expect(code).not.toBe(0);
    expect(stderr).toContain('REDIS_URL');
  });

  it('with a REDIS_URL where nothing answers (and no embedded Redis allowed) names the variable', () => {
    const { code, stderr } = start({ DISCORD_TOKEN: 'x', REDIS_URL: 'redis://127.0.0.1:1', START_REDIS: 'never' });
    expect(code).not.toBe(0);
    expect(stderr).toContain('REDIS_URL');
    expect(stderr).toContain('nothing answers');
  });
});

describe('loadConfig', () => {
  it('fills in the embedded defaults', () => {
    const config = loadConfig({});
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.DATA_DIR).toMatch(/\/data$/);
    expect(config.WORKER_QUEUES).toEqual(['collect', 'train', 'clean', 'predict', 'notify']);
    expect(config.MAX_IMAGE_SIZE).toBe(500);
  });

  it('names every wrong variable', () => {
    try {
      loadConfig({ WORKER_QUEUES: 'train,gpu', DOWNLOAD_CONCURRENCY: 'lots', TF_BACKEND: 'cuda' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables.sort()).toEqual(['DOWNLOAD_CONCURRENCY', 'TF_BACKEND', 'WORKER_QUEUES']);
      expect((err as Error).message).toContain('unknown queue gpu');
    }
  });

  it('parses lists and booleans', () => {
    const config = loadConfig({ SEARCH_PROVIDERS: 'wikimedia, openverse', ALLOW_PRIVATE_URLS: 'true', WORKER_QUEUES: 'predict' });
    expect(config.SEARCH_PROVIDERS).toEqual(['wikimedia', 'openverse']);
    expect(config.ALLOW_PRIVATE_URLS).toBe(true);
    expect(config.WORKER_QUEUES).toEqual(['predict']);
  });
});

describe('.env.example', () => {
  it('lists every variable the config reads, each with a comment, and nothing else', () => {
    const lines = readFileSync(new URL('../.env.example', import.meta.url), 'utf8').split('\n');
    const listed = lines.flatMap((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1] ?? []);
    expect([...listed].sort()).toEqual([...CONFIG_VARIABLES].sort());
    for (const name of listed) {
      const at = lines.findIndex((l) => l.startsWith(`${name}=`));
      expect(lines.slice(0, at).reverse().find((l) => !/^[A-Z]/.test(l)), `${name} needs an explanation`).toMatch(/^# /);
    }
  });
});
