// `kodiak predict <dataset> <image...> [--version N] [--guild G] [--json]`: classifies image
// files with a saved model version through the same core Predictor as the predict worker.
// --json prints one JSON array with one object per image, in the order given.
import { parseCli } from './args.js';
import fs from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { initBackend } from '../core/ml/backend.js';
import { Predictor, type ImagePrediction } from '../core/ml/predictor.js';
import { intOption } from './train.js';
import { LOCAL_GUILD, openCliContext } from './context.js';


const USAGE = `usage: kodiak predict <dataset> <image...> [--version N] [--guild G] [--json]
  --version  the model version (default: the latest)
  --guild    the guild the dataset belongs to (default: ${LOCAL_GUILD})
  --json     print a JSON array, one object per image: {file, top: [{class, p}], notSure, reason?, noneOfThese?, warning?, error?, modelVersion}`;

function parse(argv: string[]) {
  return parseCli(
    argv,
    {
      version: { type: 'string' },
    },
    USAGE,
  );
}

export interface FilePrediction extends ImagePrediction {
  file: string;
  modelVersion: number;
}

/** A file's bytes, or why it could not be read (a missing file is the user's, not a crash). */
async function readImage(file: string): Promise<Buffer | { error: string }> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    return { error: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}

function textLine(p: FilePrediction): string {
  if (p.error) return `${p.file}: ${p.error}`;
  const top = p.top.map((t) => `${t.class} ${(t.p * 100).toFixed(1)}%`).join(', ');
  if (p.noneOfThese) return `${p.file}: none of these (${p.reason}); ${top}`;
  return `${p.file}: ${p.notSure ? `not sure (${p.reason}); ` : ''}${top}`;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [name, ...files] = positionals;
  if (!name || files.length === 0) throw new UserError(USAGE);
  const version = intOption('version', values.version, 1, Number.MAX_SAFE_INTEGER);
  const ref = { guildId: values.guild ?? LOCAL_GUILD, name };
  const ctx = await openCliContext();
  const { config } = ctx;
  const predictor = new Predictor({
    store: ctx.models,
    dataDir: config.DATA_DIR,
    mirrorUrl: config.MODEL_MIRROR_URL,
    backboneSha256: config.BACKBONE_SHA256,
    threshold: config.PREDICT_THRESHOLD,
    maxPixels: config.MAX_IMAGE_PIXELS,
  });
  try {
    await ctx.datasets.require(ref);
    await initBackend(config.TF_BACKEND);
    const read = await Promise.all(files.map(readImage));
    const readable = read.flatMap((r, i) => (Buffer.isBuffer(r) ? [{ i, bytes: r }] : []));
    const outcome = await predictor.predict(ref, readable.map((r) => r.bytes), version);
    const results: FilePrediction[] = files.map((file, i) => {
      const r = read[i]!;
      const p: ImagePrediction = Buffer.isBuffer(r) ? outcome.predictions[readable.findIndex((x) => x.i === i)]! : { top: [], notSure: true, error: r.error };
      return { file, ...p, modelVersion: outcome.modelVersion };
    });
    if (values.json) console.log(JSON.stringify(results));
    else console.log([`${name} v${outcome.modelVersion}:`, ...results.map(textLine)].join('\n'));
    // Some images that could not be classified make the run fail, so scripts notice.
    return results.some((r) => r.error) ? 1 : 0;
  } finally {
    predictor.dispose();
    await ctx.close();
  }
}
