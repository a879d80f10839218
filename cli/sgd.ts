// `kodiak sgd --out anim.gif [--lr 0.1] [--steps 100] [--batch 0] [--points 100] [--seed 42] [--loss-png loss.png] [--json]`
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';
import { renderSgdPictures, runSgdLesson, summaryJson, summaryMarkdown, verdictTitle } from '../core/sgd/index.js';

export const summary = 'gradient descent by hand: fit a line, write the animation (and loss curve)';

const USAGE = `usage: kodiak sgd --out anim.gif [--lr 0.1] [--steps 100] [--batch 0] [--points 100] [--seed 42] [--loss-png loss.png] [--json]
  --out       where to write the animated GIF (required)
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
  try {
    return parseArgs({
      args: argv,
      options: {
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
      strict: true,
    }).values;
  } catch (err) {
    // parseArgs throws a TypeError for an unknown or malformed option: the user's to fix.
    throw new UserError(`${(err as Error).message}\n${USAGE}`);
  }
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
  const pictures = await renderSgdPictures(run);
  await fs.writeFile(values.out, pictures.gif);
  if (values['loss-png']) await fs.writeFile(values['loss-png'], pictures.lossPng);
  const files = { gif: values.out, gifBytes: pictures.gif.length, frames: pictures.frames, lossPng: values['loss-png'] ?? null };
  if (values.json) {
    console.log(JSON.stringify({ ...summaryJson(run), files }, null, 2));
  } else {
    console.log(`${verdictTitle(run)}\n\n${summaryMarkdown(run).replace(/\*\*/g, '')}\n\nwrote ${values.out} (${pictures.frames} frames, ${Math.round(pictures.gif.length / 1024)} KiB)` + (values['loss-png'] ? ` and ${values['loss-png']}` : ''));
  }
  return 0;
}
