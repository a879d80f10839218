// `kodiak dataset collect <name> --classes "<a>, <b>" --images <n> [--json] [--guild G]`: the
// collect worker's search, download and verification, run in this process. Creates the dataset
// when it is missing (classes required then, or a preset name such as `bears`); progress goes
// to stderr, the report (per class and per provider) to stdout.
import { parseArgs } from 'node:util';
import { collectClass } from '../core/collect/collect.js';
import { searchNotes } from '../core/collect/identity.js';
import { closeSharedDownloader } from '../core/collect/pipeline.js';
import { mergeSources, providerLines } from '../core/collect/providerReport.js';
import { UserError } from '../core/errors.js';
import type { CollectResult } from '../core/jobs.js';
import { parseClassList } from '../core/store/classNames.js';
import { PRESETS } from '../core/trainFlow.js';
import { LOCAL_GUILD, openCliContext, type CliContext } from './context.js';

export const COLLECT_USAGE = `       kodiak dataset collect <name> --classes "<a>, <b>" --images <n> [--json] [--guild G]
  collect  searches, downloads and verifies up to <n> images per class (as the collect worker does);
           creates the dataset when missing (--classes required then, or a preset name: ${Object.keys(PRESETS).join(', ')});
           --json prints the report per class and per provider`;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: { classes: { type: 'string' }, images: { type: 'string' }, json: { type: 'boolean', default: false }, guild: { type: 'string' } },
    });
  } catch (err) {
    throw new UserError(`${(err as Error).message}\nusage:\n${COLLECT_USAGE}`);
  }
}

/** The classes to fill: those given, else the dataset's; a missing dataset is created first. */
async function classesFor(ctx: CliContext, ref: { guildId: string; name: string }, given: string | undefined): Promise<string[]> {
  const asked = given ? parseClassList(given) : undefined;
  const meta = await ctx.datasets.get(ref);
  if (meta) return asked ?? meta.classes;
  const classes = asked ?? PRESETS[ref.name.toLowerCase()];
  if (!classes?.length) throw new UserError(`there is no dataset ${ref.name} yet: give its classes with --classes "<a>, <b>" (or use a preset: ${Object.keys(PRESETS).join(', ')})`);
  return (await ctx.datasets.create(ref, [...classes], 'cli')).classes;
}

/** The --json report: per class and per provider, and what the configuration keeps from working. */
export function collectReport(name: string, results: CollectResult[], notes: string[]) {
  return {
    dataset: name,
    kept: results.reduce((n, r) => n + r.kept, 0),
    classes: results.map((r) => ({ className: r.className, wanted: r.wanted, kept: r.kept, searched: r.searched, duplicates: r.duplicates, failed: r.failed, providers: r.sources ?? {} })),
    providers: mergeSources(results),
    notes,
  };
}

export async function collect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  const [, name, ...rest] = positionals;
  const images = Number(values.images);
  if (!name || rest.length || !Number.isInteger(images) || images < 1 || images > 1000) {
    throw new UserError(`give a dataset name and --images <1-1000>\nusage:\n${COLLECT_USAGE}`);
  }
  const ref = { guildId: values.guild ?? LOCAL_GUILD, name };
  const ctx = await openCliContext();
  try {
    const notes = searchNotes(ctx.config).map((n) => n.text);
    for (const note of notes) process.stderr.write(`note: ${note}\n`);
    const results: CollectResult[] = [];
    for (const className of await classesFor(ctx, ref, values.classes)) {
      results.push(
        await collectClass({
          services: ctx,
          dataset: ref,
          className,
          count: images,
          operation: `cli-collect:${Date.now()}`,
          onProgress: (p) => process.stderr.write(`${p.className}: ${p.kept}/${p.wanted} kept, ${p.searched} found, ${p.downloaded} downloaded\n`),
        }),
      );
    }
    if (values.json) {
      console.log(JSON.stringify(collectReport(name, results, notes), null, 2));
      return 0;
    }
    for (const r of results) console.log(`${r.className}: ${r.kept}/${r.wanted} kept`);
    for (const line of providerLines(mergeSources(results))) console.log(`  ${line}`);
    return 0;
  } finally {
    await closeSharedDownloader(ctx.config);
    await ctx.close();
  }
}
