// `kodiak clean <dataset> [--kind K] [--count N] [--view confident|top-losses] [--guild G] [--json]`:
// the cleaner from the command line, through the same core code as /clean. With --json it prints
// one object whose `suspects` is the ordered list (id, source, label, suggested, score, kind).
import { parseCli } from './args.js';
import { runClean } from '../core/clean/runClean.js';
import type { CleanReport, LabelView } from '../core/clean/types.js';
import { UserError } from '../core/errors.js';
import { cleanKind, type CleanKind } from '../core/jobs.js';
import { LOCAL_GUILD, openCliContext } from './context.js';


const USAGE = `usage: kodiak clean <dataset> [--kind ${cleanKind.options.join('|')}] [--count N] [--view confident|top-losses] [--guild G] [--json]
  --kind   what to look for (default: all)
  --count  list only the first N suspects: label issues first, each kind most suspect first (default: all)
  --view   how label issues are ranked: out-of-fold confident learning (default) or the lesson's in-sample top losses
  --guild  the guild the dataset belongs to (default: ${LOCAL_GUILD})
  --json   print one JSON object: { reportId, dataset, summary, suspects: [{ id, source, label, suggested, score, kind, reason }] }
then: kodiak label <dataset> <id>... --to <class> | --delete | --keep | --undo`;

function parse(argv: string[]) {
  return parseCli(
    argv,
    {
      kind: { type: 'string', default: 'all' },
      count: { type: 'string' },
      view: { type: 'string', default: 'confident' },
    },
    USAGE,
  );
}

/** The JSON shape of --json: the ranked suspects with what a script needs to act on them. */
export function reportJson(report: CleanReport, count?: number) {
  return {
    reportId: report.id,
    dataset: report.dataset,
    kind: report.kind,
    classes: report.classes,
    summary: report.summary,
    suspects: report.suspects.slice(0, count).map((s) => ({
      id: s.id,
      source: s.source,
      label: s.label,
      suggested: s.suggested ?? null,
      score: Math.round(s.score * 1e4) / 1e4,
      kind: s.kind,
      reason: s.reason,
      ...(s.pairWith ? { pairWith: s.pairWith } : {}),
    })),
  };
}

function printTable(report: CleanReport, count?: number): void {
  const { summary: sum } = report;
  console.log(`${sum.nItems} images; ${report.suspects.length} suspects (${Object.entries(sum.counts).map(([k, n]) => `${n} ${k}`).join(', ')})`);
  for (const [c, r] of Object.entries(sum.noiseRate)) console.log(`  estimated wrong labels in ${c}: ${(r * 100).toFixed(1)}%`);
  report.suspects.slice(0, count).forEach((s, i) => {
    const label = s.suggested ? `${s.label} -> ${s.suggested}` : s.label;
    const pair = s.pairWith ? `  ~  ${s.pairWith.id.slice(0, 12)} ${s.pairWith.source}` : '';
    console.log(`${String(i + 1).padStart(3)}  ${s.id.slice(0, 12)}  ${s.kind.padEnd(9)}  ${s.score.toFixed(3)}  ${label}  ${s.source}${pair}`);
  });
  if (report.suspects.length) console.log(`fix them with: kodiak label ${report.dataset?.name ?? '<dataset>'} <id>... --to <class> | --delete | --keep`);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [name] = positionals;
  if (!name || positionals.length > 1) throw new UserError(USAGE);
  const kind = cleanKind.safeParse(values.kind);
  if (!kind.success) throw new UserError(`--kind must be one of ${cleanKind.options.join(', ')}`);
  if (values.view !== 'confident' && values.view !== 'top-losses') throw new UserError('--view must be confident or top-losses');
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new UserError('--count must be a positive whole number');
  const ctx = await openCliContext();
  try {
    const report = await runClean(ctx, { dataset: { guildId: values.guild ?? LOCAL_GUILD, name }, kind: kind.data as CleanKind, labelView: values.view as LabelView });
    // Stored like the clean worker's, so kodiak label (and Discord's buttons) decide within it.
    await ctx.decisions.saveReport(report);
    if (values.json) console.log(JSON.stringify(reportJson(report, count)));
    else printTable(report, count);
    return 0;
  } finally {
    await ctx.close();
  }
}
