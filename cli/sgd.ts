// `kodiak sgd --out <file or folder> [--lr 0.1] [--steps 100] [--batch 0] [--points 100] [--seed 42] [--loss-png loss.png] [--json]``
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { parseOptions } from './args.js';
import { renderSgdPictures, runSgdLesson, summaryJson, summaryMarkdown, verdictTitle } from '../core/sgd/index.js';


const USAGE = `usage: kodiak sgd --out <file or folder> [--lr 0.1] [--steps 100] [--batch 0] [--points 100] [--seed 42] [--loss-png loss.png] [--json]
  --out       the animated GIF (.gif is added when the name has no extension), or a folder
              to write sgd.gif and loss.png in (required)
  --lr        learning rate (default 0.1; 1.5 diverges)
  --steps     update steps, 1..1000 (default 100)
  --batch     mini-batch size, 0 = full batch (default 0)
  --points    data points, 10..1000 (default 100)
  --seed      seed for the data and the batches (default 42)
  --loss-png  also write the loss curve there
  --json      print the result as JSON instead of text`;

function numberOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new UserError(`--${name} must be a number (got '${raw}')`);
  return value;
}

function parse(argv: string[]) {
  return parseOptions(
    argv,
    {
      out: { type: 'string' },
      lr: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      points: { type: 'string' },
      seed: { type: 'string' },
      'loss-png': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
    false,
  ).values;
}

/**
 * Where the pictures go. A folder (one that exists, or a path ending in a slash) gets sgd.gif
 * and loss.png; a file name without an extension gets .gif.
 */
export function outputFiles(out: string, lossPng: string | undefined, isFolder: boolean): { gif: string; lossPng?: string } {
  if (isFolder) return { gif: path.join(out, 'sgd.gif'), lossPng: lossPng ?? path.join(out, 'loss.png') };
  return { gif: path.extname(out) ? out : `${out}.gif`, ...(lossPng ? { lossPng } : {}) };
}

async function isFolder(out: string): Promise<boolean> {
  if (/[\\/]$/.test(out)) return true;
  return (await fs.stat(out).catch(() => undefined))?.isDirectory() ?? false;
}

export async function main(argv: string[]): Promise<number> {
  const values = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.out) {
    console.error(USAGE);
    return 2;
  }
  const run = runSgdLesson({
    lr: numberOption('lr', values.lr),
    steps: numberOption('steps', values.steps),
    batch: numberOption('batch', values.batch),
    points: numberOption('points', values.points),
    seed: numberOption('seed', values.seed),
  });
  const folder = await isFolder(values.out);
  const out = outputFiles(values.out, values['loss-png'], folder);
  if (folder) await fs.mkdir(values.out, { recursive: true });
  const pictures = await renderSgdPictures(run);
  await fs.writeFile(out.gif, pictures.gif);
  if (out.lossPng) await fs.writeFile(out.lossPng, pictures.lossPng);
  const files = { gif: out.gif, gifBytes: pictures.gif.length, frames: pictures.frames, lossPng: out.lossPng ?? null };
  if (values.json) {
    console.log(JSON.stringify({ ...summaryJson(run), files }, null, 2));
  } else {
    console.log(`${verdictTitle(run)}\n\n${summaryMarkdown(run).replace(/\*\*/g, '')}\n\nwrote ${out.gif} (${pictures.frames} frames, ${Math.round(pictures.gif.length / 1024)} KiB)` + (out.lossPng ? ` and ${out.lossPng}` : ''));
  }
  return 0;
}
