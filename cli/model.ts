// `kodiak model list [<dataset>]`, `kodiak model info <dataset> [--version N]` and
// `kodiak model export <dataset> [--version N] [--out file.zip]`: the trained model versions,
// through the same ModelStore and export code as /model (no Discord upload limit here).
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { initBackend } from '../core/ml/backend.js';
import { exportZip } from '../core/ml/exportZip.js';
import type { ModelMeta } from '../core/ml/models.js';
import { beforeAfter } from '../core/ml/previous.js';
import { parseCli } from './args.js';
import { intOption } from './train.js';
import { LOCAL_GUILD, openCliContext, type CliContext } from './context.js';
import { viewsText } from '../core/ml/views.js';


const USAGE = `usage: kodiak model list [<dataset>] [--guild G] [--json]
       kodiak model info <dataset> [--version N] [--guild G] [--json]
       kodiak model export <dataset> [--version N] [--out file.zip] [--guild G]
  list     the versions of a dataset, or the latest version of every dataset
  info     classes, backbone, metrics and training settings of a version (default: the latest)
  export   a zip that loads on its own (default file: <dataset>-v<N>.zip; see README "Using an exported model")`;

function parse(argv: string[]) {
  return parseCli(
    argv,
    {
      version: { type: 'string' },
      out: { type: 'string' },
    },
    USAGE,
  );
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function modelSummary(m: ModelMeta): string {
  return `${m.dataset.name} v${m.version}: error rate ${pct(m.metrics.errorRate)}, ${m.classes.length} classes, ${m.metrics.nTrain + m.metrics.nValid} images, ${m.backbone}, ${new Date(m.createdAt).toISOString()}`;
}

function modelDetails(m: ModelMeta): string {
  return [
    modelSummary(m),
    `classes: ${m.classes.join(', ')}`,
    `validation: accuracy ${pct(m.metrics.accuracy)} on ${m.metrics.nValid} images (${m.metrics.nTrain} for training), loss ${m.metrics.loss.toFixed(4)}`,
    ...(m.previous ? [beforeAfter(m.previous, { modelVersion: m.version, ...m.metrics })] : []),
    ...m.classes.map((c) => {
      const pc = m.metrics.perClass[c];
      return pc ? `  ${c}: precision ${pct(pc.precision)}, recall ${pct(pc.recall)}, n ${pc.n}` : `  ${c}: no validation images`;
    }),
    `backbone ${m.backbone} (${m.preprocessing.inputSize} px, ${m.preprocessing.featureSize} features) on ${m.backend}; ${viewsText(m.preprocessing.views)}; ${m.epochs} epochs, lr ${m.lr}, seed ${m.seed}; dataset revision ${m.datasetRevision}`,
    ...(m.backboneNote ? [`note: ${m.backboneNote}`] : []),
    ...(m.fineTune ? [`fine-tuning: ${m.fineTune}`] : []),
  ].join('\n');
}

async function list(ctx: CliContext, guildId: string, name: string | undefined, json: boolean): Promise<void> {
  if (name) await ctx.datasets.require({ guildId, name });
  const metas = name
    ? await ctx.models.list({ guildId, name })
    : (await Promise.all((await ctx.datasets.list(guildId)).map((d) => ctx.models.get({ guildId, name: d.name })))).filter((m): m is ModelMeta => !!m);
  if (json) console.log(JSON.stringify(metas));
  else console.log(metas.length ? metas.map(modelSummary).join('\n') : `no trained models${name ? ` for ${name}` : ''} yet: kodiak train <dataset>`);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [action, name] = positionals;
  const known = action === 'list' || action === 'info' || action === 'export';
  if (!known || positionals.length > 2 || (action !== 'list' && !name)) throw new UserError(USAGE);
  const guildId = values.guild ?? LOCAL_GUILD;
  const version = intOption('version', values.version, 1, Number.MAX_SAFE_INTEGER);
  const ctx = await openCliContext();
  try {
    if (action === 'list') {
      await list(ctx, guildId, name, values.json);
      return 0;
    }
    const ref = { guildId, name: name! };
    // A dataset that does not exist is named as such, not as one still to be trained.
    await ctx.datasets.require(ref);
    if (action === 'info') {
      const meta = await ctx.models.require(ref, version);
      console.log(values.json ? JSON.stringify(meta) : modelDetails(meta));
      return 0;
    }
    // The export builds the head as a tfjs model: on the configured backend, not tfjs's default
    // (whose "install tfjs-node" banner would land on stdout).
    await initBackend(ctx.config.TF_BACKEND);
    const { fileName, zip, meta } = await exportZip(ctx.models, ref, version, { mirrorUrl: ctx.config.MODEL_MIRROR_URL, sha256: ctx.config.BACKBONE_SHA256 });
    const out = path.resolve(values.out ?? fileName);
    await fs.writeFile(out, zip);
    console.log(`exported ${name} v${meta.version} to ${out} (${Math.ceil(zip.byteLength / 1024)} KiB)`);
    return 0;
  } finally {
    await ctx.close();
  }
}
