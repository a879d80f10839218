// `kodiak dataset list|show|import|export|delete|collect`: the command-line way in, around and
// out of a dataset, through the same core code as /dataset (collect: datasetCollect.ts).
import path from 'node:path';
import { addFromFolder, type AddSummary } from '../core/collect/collect.js';
import { exportToFolder } from '../core/collect/export.js';
import { closeSharedDownloader } from '../core/collect/pipeline.js';
import { describeReason } from '../core/collect/reasons.js';
import { listImageFolder } from '../core/collect/sources.js';
import { summariseDataset, type DatasetSummary } from '../core/collect/summary.js';
import { UserError } from '../core/errors.js';
import type { ModelMeta } from '../core/ml/models.js';
import { sweepUnreferenced } from '../core/store/gc.js';
import type { DatasetRef } from '../core/store/types.js';
import { deleteDataset } from '../core/services.js';
import { parseCli } from './args.js';
import { LOCAL_GUILD, openCliContext, type CliContext } from './context.js';
import { collect, COLLECT_USAGE } from './datasetCollect.js';

const USAGE = `usage: kodiak dataset list [--guild G] [--json]
       kodiak dataset show <name> [--guild G] [--json]
       kodiak dataset import <name> <folder> [--guild G] [--json]
       kodiak dataset export <name> <folder> [--guild G]
       kodiak dataset delete <name> --yes [--guild G]
${COLLECT_USAGE}
  list     the datasets, with their images and latest model version
  show     images per class (training / validation / trash), refusals and model versions
  import   <folder>/<class>/<image> (ImageFolder layout; links to folders are followed); creates
           the dataset, and any class, that is missing; names each image skipped as a duplicate
  export   writes <folder>/<class>/<sha>.jpg, labels.csv and attribution.csv (trashed images left out)
  delete   deletes the dataset (its images' files go when no other dataset holds them); needs --yes
  --guild  the guild the dataset belongs to (default: ${LOCAL_GUILD})
  --json   print JSON instead of text (list, show, import)`;

const ACTIONS = { list: 0, show: 1, import: 2, export: 2, delete: 1 } as const;
type Action = keyof typeof ACTIONS;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function modelLine(m: ModelMeta): string {
  return `v${m.version}: accuracy ${pct(m.metrics.accuracy)} on ${m.metrics.nValid} validation images, ${m.backbone}, ${new Date(m.createdAt).toISOString()}`;
}

async function list(ctx: CliContext, guildId: string, json: boolean): Promise<void> {
  const metas = await ctx.datasets.list(guildId);
  const rows = await Promise.all(
    metas.map(async (meta) => ({ name: meta.name, classes: meta.classes, images: (await ctx.datasets.items(meta)).length, modelVersion: (await ctx.models.get(meta))?.version ?? null })),
  );
  if (json) return console.log(JSON.stringify(rows));
  if (rows.length === 0) return console.log(`no datasets in ${guildId} yet: kodiak dataset import <name> <folder> makes one`);
  for (const r of rows) console.log(`${r.name}: ${r.images} images in ${r.classes.length} classes (${r.classes.join(', ')}); ${r.modelVersion ? `model v${r.modelVersion}` : 'not trained yet'}`);
}

/** The JSON of `dataset show`: what the text shows, for scripts. */
export function showJson(summary: DatasetSummary, models: ModelMeta[]) {
  return {
    name: summary.meta.name,
    revision: summary.meta.revision,
    classes: summary.meta.classes.map((c) => ({ name: c, ...(summary.perClass[c] ?? { train: 0, valid: 0, trashed: 0 }) })),
    total: summary.total,
    rejected: Object.fromEntries(summary.rejected.map((r) => [r.reason, r.count])),
    models: models.map((m) => ({ version: m.version, accuracy: m.metrics.accuracy, errorRate: m.metrics.errorRate, datasetRevision: m.datasetRevision, createdAt: m.createdAt })),
  };
}

function showText(summary: DatasetSummary, models: ModelMeta[]): string {
  const { meta, perClass, total } = summary;
  const width = Math.max(5, ...meta.classes.map((c) => c.length));
  const row = (name: string, r: { train: number; valid: number; trashed: number }) =>
    `  ${name.padEnd(width)}  ${String(r.train + r.valid).padStart(6)}  ${String(r.train).padStart(8)}  ${String(r.valid).padStart(10)}  ${String(r.trashed).padStart(5)}`;
  return [
    `${meta.name}: ${total.train + total.valid} images in ${meta.classes.length} classes, ${total.trashed} in the trash`,
    `  ${'class'.padEnd(width)}  images  training  validation  trash`,
    ...meta.classes.map((c) => row(c, perClass[c] ?? { train: 0, valid: 0, trashed: 0 })),
    ...(summary.rejected.length ? [`refused: ${summary.rejected.map((r) => `${r.count} ${r.text}`).join(', ')}`] : []),
    ...(models.length ? ['models:', ...models.map((m) => `  ${modelLine(m)}`)] : ['no model yet: kodiak train ' + meta.name]),
  ].join('\n');
}

async function show(ctx: CliContext, ref: DatasetRef, json: boolean): Promise<void> {
  const summary = await summariseDataset(ctx, ref);
  const models = await ctx.models.list(ref);
  console.log(json ? JSON.stringify(showJson(summary, models)) : showText(summary, models));
}

async function remove(ctx: CliContext, ref: DatasetRef, yes: boolean): Promise<void> {
  await ctx.datasets.require(ref);
  const images = (await ctx.datasets.items(ref, { includeTrashed: true })).length;
  if (!yes) throw new UserError(`this deletes ${ref.name} and its ${images} images; run it again with --yes to go ahead`);
  await deleteDataset(ctx, ref);
  // Files of a dataset deleted just now stay for a grace period: a later sweep removes them.
  await sweepUnreferenced(ctx.redis, { dataDir: ctx.config.DATA_DIR });
  console.log(`deleted ${ref.name} (${images} images)`);
}

function importText(name: string, result: AddSummary): string {
  const failed = Object.entries(result.failed).map(([r, n]) => `${n} ${describeReason(r)}`);
  return [
    `imported ${result.kept} of ${result.total} images into ${name}` +
      (result.duplicates ? `; ${result.duplicates} duplicates skipped` : '') +
      (failed.length ? `; refused: ${failed.join(', ')}` : '') +
      (result.addedClasses.length ? `; new classes: ${result.addedClasses.join(', ')}` : ''),
    ...Object.entries(result.perClass).map(([cls, n]) => `  ${cls}: +${n}`),
    ...(result.skippedDuplicates.length ? ['skipped as duplicates:'] : []),
    ...result.skippedDuplicates.map(
      (d) => `  ${d.source}  ${d.distance === undefined ? 'is the same image as' : `looks like (${d.distance} bits apart)`}  ${d.of.source} (${d.of.label})`,
    ),
  ].join('\n');
}

async function importFolder(ctx: CliContext, ref: DatasetRef, folder: string, json: boolean): Promise<void> {
  const root = path.resolve(folder);
  if (!(await ctx.datasets.get(ref))) {
    const files = await listImageFolder(root);
    if (files.length === 0) throw new UserError(`no images under ${root} (expected ${folder}/<class>/<image>)`);
    const classes = [...new Set(files.map((f) => f.folder).filter((c): c is string => !!c))];
    if (classes.length === 0) throw new UserError(`the images under ${root} are not in class folders: put each class in its own folder, ${folder}/<class>/<image>`);
    await ctx.datasets.create(ref, classes, 'cli');
  }
  const result = await addFromFolder({ services: ctx, dataset: ref, folder: root });
  console.log(json ? JSON.stringify({ dataset: ref.name, ...result }) : importText(ref.name, result));
}

export async function main(argv: string[]): Promise<number> {
  // collect has options of its own.
  if (argv[0] === 'collect') return collect(argv);
  const { values, positionals } = parseCli(argv, { yes: { type: 'boolean', default: false } }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [action, name, folder] = positionals as [Action | undefined, string?, string?];
  if (!action || !Object.hasOwn(ACTIONS, action) || positionals.length !== ACTIONS[action] + 1) throw new UserError(USAGE);
  const guildId = values.guild ?? LOCAL_GUILD;
  const ref = { guildId, name: name! };
  const ctx = await openCliContext();
  try {
    if (action === 'list') await list(ctx, guildId, values.json);
    else if (action === 'show') await show(ctx, ref, values.json);
    else if (action === 'delete') await remove(ctx, ref, values.yes);
    else if (action === 'import') await importFolder(ctx, ref, folder!, values.json);
    else console.log(`exported ${await exportToFolder(ctx, ref, path.resolve(folder!))} images of ${name} to ${path.resolve(folder!)}`);
    return 0;
  } finally {
    await closeSharedDownloader(ctx.config);
    await ctx.close();
  }
}
