// `kodiak dataset import|list|show|delete` on generated pictures: a class folder that is a
// symbolic link is imported like any other, each image skipped as a duplicate is named with the
// image it duplicates, a tree without class folders is described as such, and the dataset can
// be listed, shown and deleted from the command line.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as datasetMain } from '../cli/dataset.js';
import { cli, cliTestEnv, writeImages } from './helpers/cli.js';

const env = cliTestEnv('cli-dataset');
const tmp = env.tmp;
const tree = path.join(tmp, 'tree');
const elsewhere = path.join(tmp, 'elsewhere');
let files: [string, string][];

beforeAll(async () => {
  files = await writeImages(tree, 4, 5, 96);
  // The blue class lives elsewhere; the tree holds a symbolic link to it.
  fs.mkdirSync(elsewhere);
  fs.renameSync(path.join(tree, 'blue stripes'), path.join(elsewhere, 'blue stripes'));
  fs.symlinkSync(path.join(elsewhere, 'blue stripes'), path.join(tree, 'blue stripes'));
  // Two copies, each in its own class (which copy arrives first depends on timing): the same
  // file again, and a re-encoded version of a picture.
  const [red] = files.find(([, c]) => c === 'red circles')!;
  const [green] = files.find(([, c]) => c === 'green squares')!;
  fs.copyFileSync(red, path.join(tree, 'red circles', 'copy.jpg'));
  fs.writeFileSync(path.join(tree, 'green squares', 'again.jpg'), await sharp(green).jpeg({ quality: 60 }).toBuffer());
}, 30_000);

afterAll(() => env.restore());

describe('kodiak dataset import', () => {
  it('follows a symbolic link to a class folder and names each duplicate with the image it copies', async () => {
    const r = await cli(datasetMain, ['import', 'shapes', tree, '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ dataset: 'shapes', total: 14, kept: 12, duplicates: 2 });
    expect(result.perClass['blue stripes']).toBe(4);
    // Which of two copies arrives first depends on timing: each pair is compared unordered.
    const rel = (f: string) => `${path.basename(path.dirname(f))}/${path.basename(f)}`;
    const pairs = result.skippedDuplicates.map((d: { source: string; of: { source: string } }) => [rel(d.source), rel(d.of.source)].sort());
    const [red] = files.find(([, c]) => c === 'red circles')!;
    const [green] = files.find(([, c]) => c === 'green squares')!;
    expect(pairs).toEqual(
      expect.arrayContaining([
        [rel(red), 'red circles/copy.jpg'].sort(),
        [rel(green), 'green squares/again.jpg'].sort(),
      ]),
    );
    const near = result.skippedDuplicates.find((d: { distance?: number }) => d.distance !== undefined);
    expect(near.distance).toBeGreaterThanOrEqual(0);
    expect(near.of).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{64}$/), label: expect.any(String) });
  });

  it('the text names the duplicates too', async () => {
    const r = await cli(datasetMain, ['import', 'shapes', tree]);
    expect(r.stdout).toMatch(/^imported 0 of 14 images into shapes; 14 duplicates skipped$/m);
    expect(r.stdout).toMatch(/^skipped as duplicates:$/m);
    expect(r.stdout).toMatch(/^  \S.*copy\.jpg  is the same image as  \S.*\.jpg \(red circles\)$/m);
  });

  it('a folder of loose images is said to have no class folders; an empty one, no images', async () => {
    const loose = path.join(tmp, 'loose');
    fs.mkdirSync(loose);
    fs.copyFileSync(files[0]![0], path.join(loose, 'a.jpg'));
    await expect(cli(datasetMain, ['import', 'loose', loose])).rejects.toThrow(`the images under ${loose} are not in class folders`);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    await expect(cli(datasetMain, ['import', 'empty', empty])).rejects.toThrow(`no images under ${empty}`);
  });
});

describe('kodiak dataset list / show / delete', () => {
  it('lists the datasets with their images and model version', async () => {
    const list = JSON.parse((await cli(datasetMain, ['list', '--json'])).stdout);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'shapes', images: 12, modelVersion: null });
    expect(list[0].classes.sort()).toEqual(['blue stripes', 'green squares', 'red circles']);
    expect((await cli(datasetMain, ['list'])).stdout).toMatch(/^shapes: 12 images in 3 classes .*; not trained yet$/);
  });

  it('shows images per class with the trash and the model versions', async () => {
    const show = JSON.parse((await cli(datasetMain, ['show', 'shapes', '--json'])).stdout);
    expect(show.classes.map((c: { name: string; train: number; valid: number; trashed: number }) => [c.name, c.train + c.valid, c.trashed]).sort()).toEqual([
      ['blue stripes', 4, 0],
      ['green squares', 4, 0],
      ['red circles', 4, 0],
    ]);
    expect(show).toMatchObject({ name: 'shapes', total: { trashed: 0 }, models: [] });
    const text = (await cli(datasetMain, ['show', 'shapes'])).stdout;
    expect(text).toMatch(/^shapes: 12 images in 3 classes, 0 in the trash$/m);
    expect(text).toMatch(/^  red circles +4 +\d+ +\d+ +0$/m);
    expect(text).toContain('no model yet: kodiak train shapes');
  });

  it('deletes only with --yes', async () => {
    await expect(cli(datasetMain, ['delete', 'shapes'])).rejects.toThrow('this deletes shapes and its 12 images; run it again with --yes');
    expect((await cli(datasetMain, ['delete', 'shapes', '--yes'])).stdout).toBe('deleted shapes (12 images)');
    expect(JSON.parse((await cli(datasetMain, ['list', '--json'])).stdout)).toEqual([]);
    await expect(cli(datasetMain, ['show', 'shapes'])).rejects.toThrow('no dataset called "shapes"');
  });
});
