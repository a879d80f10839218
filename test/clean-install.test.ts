// `npm ci` prints nothing a user has to wonder about: no package in the lock file wants a newer
// Node than the project says it needs (npm's EBADENGINE warning), and every dependency with an
// install script has a decision in package.json's allowScripts (npm 11 otherwise lists them).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures/modelMirror.js';

interface LockEntry {
  version?: string;
  engines?: { node?: string };
  hasInstallScript?: boolean;
}

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  allowScripts?: Record<string, boolean>;
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const installed = Object.entries(lock.packages).filter(([key]) => key.startsWith('node_modules/'));
const nameOf = (key: string) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('a clean install', () => {
  it('every package runs on the oldest Node the project accepts', () => {
    const oldest = semver.minVersion(pkg.engines.node)!;
    const refusing = installed
      .filter(([, e]) => e.engines?.node && !semver.satisfies(oldest, e.engines.node))
      .map(([key, e]) => `${nameOf(key)}@${e.version} wants node ${e.engines!.node}`);
    expect(refusing).toEqual([]);
  });

  it('nsfwjs is pinned to 4.3.0: 4.4.0 asks for exactly Node 22.13.0', () => {
    expect(pkg.dependencies.nsfwjs).toBe('4.3.0');
  });

  it('every dependency with an install script is approved or denied in allowScripts', () => {
    const undecided = installed
      .filter(([, e]) => e.hasInstallScript)
      .map(([key]) => nameOf(key))
      .filter((name) => pkg.allowScripts?.[name] === undefined);
    expect(undecided).toEqual([]);
  });
});
