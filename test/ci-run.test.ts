// .ci/run as CI runs it (CI=true), with `npm` replaced on PATH by a stand-in: `npm ci` does
// nothing and `npm test -- <args>` runs vitest on one small file with the script's own reporter
// arguments. So the script's real environment, report and summary line are what is checked.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures/modelMirror.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-ci-'));
const bin = path.join(tmp, 'bin');
const scratch = path.join(tmp, 'scratch');

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fakeNpm(): void {
  fs.mkdirSync(bin);
  fs.mkdirSync(scratch);
  const vitest = path.join(REPO_ROOT, 'node_modules/.bin/vitest');
  fs.writeFileSync(
    path.join(bin, 'npm'),
    `#!/usr/bin/env bash\n[[ "$1" == test ]] || exit 0\nshift 2\nexec "${vitest}" run test/sgd.test.ts "$@"\n`,
    { mode: 0o755 },
  );
}

describe('.ci/run', () => {
  it('prints no colour codes under CI=true, ends with the summary line and leaves no temp file', async () => {
    fakeNpm();
    const { stdout, stderr } = await promisify(execFile)('bash', ['.ci/run'], {
      cwd: REPO_ROOT,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME, CI: 'true', TMPDIR: scratch },
    });
    const output = stdout + stderr;
    expect(output).toContain('test/sgd.test.ts');
    expect(output).not.toMatch(/\x1b\[/);
    expect(stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(fs.readdirSync(scratch)).toEqual([]);
  }, 60_000);
});
