// `kodiak dataset import <name> <folder> [--guild G]` and `kodiak dataset export <name> <folder> [--guild G]`:
// the command-line way in and out of a dataset, through the same core code as /dataset.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { addFromFolder } from '../core/collect/collect.js';
import { exportToFolder } from '../core/collect/export.js';
import { closeSharedDownloader } from '../core/collect/pipeline.js';
import { listImageFolder } from '../core/collect/sources.js';
import { UserError } from '../core/errors.js';
import { describeReason } from '../core/collect/reasons.js';
import { LOCAL_GUILD, openCliContext } from './context.js';

export const summary = 'import a class-per-folder image tree into a dataset, or export a dataset to a folder';

const USAGE = `usage: kodiak dataset import <name> <folder> [--guild G]
       kodiak dataset export <name> <folder> [--guild G]
  import   <folder>/<class>/<image> (ImageFolder layout); creates the dataset, and any class, that is missing
  export   writes <folder>/<class>/<sha>.jpg, labels.csv and attribution.csv (trashed images left out)
  --guild  the guild the dataset belongs to (default: ${LOCAL_GUILD})`;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: { guild: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } });
  } catch (err) {
    throw new UserError(`${(err as Error).message}\n${USAGE}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [action, name, folder] = positionals;
  if ((action !== 'import' && action !== 'export') || !name || !folder || positionals.length > 3) throw new UserError(USAGE);
  const ref = { guildId: values.guild ?? LOCAL_GUILD, name };
  const ctx = await openCliContext();
  try {
    if (action === 'export') {
      const n = await exportToFolder(ctx, ref, path.resolve(folder));
      console.log(`exported ${n} images of ${name} to ${path.resolve(folder)}`);
      return 0;
    }
    if (!(await ctx.datasets.get(ref))) {
      const classes = [...new Set((await listImageFolder(path.resolve(folder))).map((f) => f.folder).filter((c): c is string => !!c))];
      if (classes.length === 0) throw new UserError(`no class folders with images under ${folder} (expected <folder>/<class>/<image>)`);
      await ctx.datasets.create(ref, classes, 'cli');
    }
    const result = await addFromFolder({ services: ctx, dataset: ref, folder });
    const failed = Object.entries(result.failed).map(([r, n]) => `${n} ${describeReason(r)}`);
    console.log(
      `imported ${result.kept} of ${result.total} images into ${name}` +
        (result.duplicates ? `; ${result.duplicates} duplicates skipped` : '') +
        (failed.length ? `; refused: ${failed.join(', ')}` : '') +
        (result.addedClasses.length ? `; new classes: ${result.addedClasses.join(', ')}` : ''),
    );
    for (const [cls, n] of Object.entries(result.perClass)) console.log(`  ${cls}: +${n}`);
    return 0;
  } finally {
    await closeSharedDownloader(ctx.config);
    await ctx.close();
  }
}
