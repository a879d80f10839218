// The test suite runs on a bare clone: nothing in test/ (fixtures, fakes, helpers) or in the
// vitest config reaches outside the repository for models or data, and a beforeAll that fails
// is reported once, not again by an afterAll tripping over what it never started.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, TEST_MODELS } from './fixtures/modelMirror.js';

const SELF = path.join(REPO_ROOT, 'test/self-contained.test.ts');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs|json)$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((file) => !file.startsWith(TEST_MODELS));
}

const testSources = [...sourcesUnder(path.join(REPO_ROOT, 'test')), path.join(REPO_ROOT, 'vitest.config.ts')].filter((f) => f !== SELF);
const testFiles = testSources.filter((f) => f.endsWith('.test.ts'));
const relative = (file: string) => path.relative(REPO_ROOT, file);

// Spelled in pieces so that this file does not match itself.
const OUTSIDE = [['..', 'shared'].join('/'), ['shared', 'models'].join('/'), ['', 'work', 'shared'].join('/')];

describe('the test suite is self-contained', () => {
  it('no test, fixture or helper names a folder beside the repository', () => {
    const offenders = testSources.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return OUTSIDE.filter((s) => text.includes(s)).map((s) => `${relative(file)}: ${s}`);
    });
    expect(offenders).toEqual([]);
  });

  it('no test imports the benchmarks (they may read real data beside the repository)', () => {
    const offenders = testSources.filter((file) => /from '\.\.\/bench\//.test(readFileSync(file, 'utf8'))).map(relative);
    expect(offenders).toEqual([]);
  });

  it('the test backbone is a fixture in the repository, with its provenance and licence', () => {
    const readme = readFileSync(path.join(TEST_MODELS, 'mobilenet_v2_035_imagenet/README.md'), 'utf8');
    expect(readme).toMatch(/Apache License 2\.0/);
    expect(readme).toMatch(/Provenance/);
    expect(readdirSync(path.join(TEST_MODELS, 'mobilenet_v2_035_imagenet')).sort()).toEqual(['README.md', 'model.json', 'weights.bin']);
  });

  it('afterAll hooks close only what beforeAll managed to start (a failed beforeAll is reported once)', () => {
    const offenders = testFiles.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      // Variables beforeAll assigns later: `let mirror: ModelMirror;` is undefined if it threw first.
      const late = new Set([...text.matchAll(/^let (\w+)(?::[^=;]+)?;/gm)].map((m) => m[1]!));
      const hooks = [...text.matchAll(/^afterAll\(async \(\) => \{\n([\s\S]*?)\n\}\);/gm)].map((m) => m[1]!);
      return hooks.flatMap((body) =>
        [...body.matchAll(/\b(\w+)\.(\w+)\(/g)].filter((m) => late.has(m[1]!)).map((m) => `${relative(file)}: ${m[1]}.${m[2]}() (use ${m[1]}?.${m[2]}())`),
      );
    });
    expect(offenders).toEqual([]);
  });
});
