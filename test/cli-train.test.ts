// The command line's train/predict/model path on a generated dataset: `kodiak dataset import`
// of a class-per-folder tree, `kodiak train --json` (ImageNet backbone from the loopback
// mirror), `kodiak predict --json` on pictures the model has never seen (once through the real
// entry point, cli/main.ts, so its stdout must be clean JSON), and `kodiak model list|info|export`.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forCommandLine } from '../cli/args.js';
import { main as datasetMain } from '../cli/dataset.js';
import { main as modelMain } from '../cli/model.js';
import { main as predictMain } from '../cli/predict.js';
import { main as trainMain } from '../cli/train.js';
import { createRedis } from '../core/redis.js';
import { SYNTHETIC_CLASSES } from './fixtures/images.js';
import { REPO_ROOT, startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { cli, writeImages } from './helpers/cli.js';
import { deleteKeys } from './helpers/stack.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-cli-'));
const dataDir = path.join(tmp, 'data');
const trainFolder = path.join(tmp, 'train');
const freshFolder = path.join(tmp, 'fresh');
let mirror: ModelMirror;
const saved = { ...process.env };

let fresh: [string, string][];

beforeAll(async () => {
  mirror = await startModelMirror();
  Object.assign(process.env, { QUEUE_PREFIX: prefix, DATA_DIR: dataDir, MODEL_MIRROR_URL: mirror.url, EMBED_THREADS: '1', LOG_LEVEL: 'silent' });
  // 20 per class: with 8 training images a class, one validation image in six (a green square
  // on a pink background) was misread, depending on the split.
  await writeImages(trainFolder, 20, 3);
  fresh = await writeImages(freshFolder, 2, 99); // never imported: the model has not seen them
});

afterAll(async () => {
  process.env = saved;
  await mirror?.close();
  const redis = createRedis('redis://127.0.0.1:6379');
  await deleteKeys(redis, prefix);
  redis.disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('kodiak train / predict / model', () => {
  it('imports a class-per-folder tree and trains it, printing one JSON object', async () => {
    const imported = await cli(datasetMain, ['import', 'shapes', trainFolder]);
    expect(imported.code).toBe(0);
    // Simple striped pictures can come out as near-duplicates of each other: a few may be left out.
    const kept = Number(/imported (\d+) of 60 images into shapes/.exec(imported.stdout)?.[1]);
    expect(kept).toBeGreaterThanOrEqual(57);

    const run = await cli(trainMain, ['shapes', '--epochs', '20', '--seed', '1', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ modelVersion: 1, backbone: 'mobilenet_v2_035' });
    expect(report.nTrain + report.nValid).toBe(kept);
    expect(report.nValid).toBeGreaterThanOrEqual(11);
    expect(report.backboneNote).toBeUndefined();
    // Which 12 images are held out depends on the order they arrived in (the split keeps each
    // class within one image of 20% as they come), and one of them is misread now and then:
    // one miss is allowed here. test/ml-train.test.ts checks >= 0.95 on a fixed split.
    expect(report.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(report.errorRate).toBeCloseTo(1 - report.accuracy, 10);
    expect(Object.keys(report.perClass).sort()).toEqual([...SYNTHETIC_CLASSES].sort());
    for (const m of Object.values(report.perClass) as { precision: number; recall: number; n: number }[]) {
      expect(m).toEqual({ precision: expect.any(Number), recall: expect.any(Number), n: expect.any(Number) });
    }
    expect(report.confusion).toHaveLength(3);
    expect(report.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(report.nValid);
    expect(report.seconds).toBeGreaterThan(0);
    // Progress went to stderr, stage by stage; the backbone came from the loopback mirror.
    expect(run.stderr).toMatch(new RegExp(`^embedding ${kept}/${kept}$`, 'm'));
    expect(run.stderr).toMatch(/^training 20\/20: loss/m);
    expect(mirror.requests).toContain('/mobilenet_v2_035/model.json');
  }, 120_000);

  it('predicts unseen pictures through the real entry point, with clean JSON on stdout', async () => {
    const files = fresh.map(([f]) => f);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'predict', 'shapes', ...files, '--json'], {
      cwd: REPO_ROOT,
      env: process.env,
    });
    const predictions = JSON.parse(stdout) as { file: string; top: { class: string; p: number }[]; notSure: boolean; modelVersion: number }[];
    expect(predictions.map((p) => p.file)).toEqual(files);
    for (const [i, p] of predictions.entries()) {
      expect(p.top[0]!.class).toBe(fresh[i]![1]);
      expect(p.top).toHaveLength(3);
      expect(p.top[0]!.p).toBeGreaterThanOrEqual(p.top[1]!.p);
      expect(p.modelVersion).toBe(1);
    }
    // "None of these" refuses about NOVELTY_BUDGET (7%) of in-domain pictures by design: of these
    // 12 new ones at most one, and only as none-of-these, never as a plain low probability.
    const refused = predictions.filter((p) => p.notSure);
    expect(refused.length).toBeLessThanOrEqual(1);
    for (const p of refused) expect(p).toMatchObject({ noneOfThese: true });
  }, 60_000);

  it('points at kodiak subcommands, not slash commands, when something is missing', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'predict', 'nosuch', fresh[0]![0]], { cwd: REPO_ROOT, env: process.env });
    const err = (await run.then(() => undefined, (e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/^kodiak predict: no dataset called "nosuch" here \(check --guild\); kodiak dataset import <name> <folder> makes one$/m);
    expect(err.stderr).not.toContain('/train');
    expect(forCommandLine('no dataset called "x" here; /dataset list shows the ones that exist')).toBe(
      'no dataset called "x" here (check --guild); kodiak dataset import <name> <folder> makes one',
    );
    expect(forCommandLine('no trained model for "x" yet: run /train x first')).toBe('no trained model for "x" yet: run kodiak train x first');
    expect(forCommandLine('dataset "bears" has no model version 3; see /model list')).toBe('dataset "bears" has no model version 3; see kodiak model list');
  }, 60_000);

  it('reports an unreadable file in its own entry and exits non-zero', async () => {
    const missing = path.join(tmp, 'missing.jpg');
    const notImage = path.join(tmp, 'notes.jpg');
    fs.writeFileSync(notImage, 'these are notes, not a picture');
    const run = await cli(predictMain, ['shapes', fresh[0]![0], missing, notImage, '--json']);
    expect(run.code).toBe(1);
    const [ok, bad, text] = JSON.parse(run.stdout);
    expect(ok.top[0].class).toBe(fresh[0]![1]);
    expect(bad).toMatchObject({ file: missing, top: [], notSure: true, error: expect.stringContaining('ENOENT') });
    expect(text).toMatchObject({ file: notImage, error: 'not an image kodiak can read' });
  });

  it('model info on a dataset that does not exist says so', async () => {
    await expect(cli(modelMain, ['info', 'nosuch'])).rejects.toThrow('no dataset called "nosuch"');
  });

  it('lists, describes and exports the model version', async () => {
    const list = await cli(modelMain, ['list', 'shapes', '--json']);
    expect(JSON.parse(list.stdout).map((m: { version: number }) => m.version)).toEqual([1]);

    const info = await cli(modelMain, ['info', 'shapes']);
    expect(info.stdout).toContain('shapes v1');
    expect(info.stdout).toContain('backbone mobilenet_v2_035 (224 px, 1280 features)');
    expect(info.stdout).toContain('4 views averaged (original, mirror, 320px, 320px-mirror)');

    const out = path.join(tmp, 'shapes.zip');
    const exported = await cli(modelMain, ['export', 'shapes', '--out', out]);
    expect(exported.stdout).toContain(`exported shapes v1 to ${out}`);
    const files = unzipSync(fs.readFileSync(out));
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['model.json', 'weights.bin', 'classes.json', 'preprocessing.json', 'README.md']));
    expect(JSON.parse(Buffer.from(files['classes.json']!).toString())).toEqual(JSON.parse(list.stdout)[0].classes);

    await expect(cli(modelMain, ['info', 'shapes', '--version', '7'])).rejects.toThrow('has no model version 7');
  });
});
