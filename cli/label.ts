// `kodiak label <dataset> <image id>... --to <class> | --delete | --keep | --undo [--guild G] [--json]`:
// acts on the images `kodiak clean` lists (their ids, or unique prefixes of them) through the
// same core DecisionLog as the cleaner's buttons: one decision per image per report, the same
// audit log, and --undo reverses an image's latest decision.
import os from 'node:os';
import { labelImages, type LabelAction, type LabelOutcome } from '../core/clean/label.js';
import { UserError } from '../core/errors.js';
import { parseCli } from './args.js';
import { LOCAL_GUILD, openCliContext } from './context.js';

const USAGE = `usage: kodiak label <dataset> <image id>... --to <class> | --delete | --keep | --undo [--guild G] [--json]
  <image id>  an id from kodiak clean (--json prints them), or the start of one no other image shares
  --to        relabel the images to this class
  --delete    move them to the trash (exports and training leave them out)
  --keep      keep them as labelled: the cleaner stops listing them as label issues
  --undo      reverse each image's latest decision (from here or from Discord)
  --guild     the guild the dataset belongs to (default: ${LOCAL_GUILD})
  --json      print a JSON array, one object per image: {id, outcome, from, to, message, decisionId}`;

/** The one action the options ask for. */
function actionOf(values: { to?: string; delete: boolean; keep: boolean; undo: boolean }): LabelAction {
  const asked: LabelAction[] = [
    ...(values.to !== undefined ? [{ type: 'relabel', to: values.to } as const] : []),
    ...(values.delete ? [{ type: 'delete' } as const] : []),
    ...(values.keep ? [{ type: 'keep' } as const] : []),
    ...(values.undo ? [{ type: 'undo' } as const] : []),
  ];
  if (asked.length !== 1) throw new UserError(`say what to do with exactly one of --to <class>, --delete, --keep or --undo\n${USAGE}`);
  return asked[0]!;
}

function line(o: LabelOutcome): string {
  const id = o.id.slice(0, 12);
  if (o.outcome === 'applied') return `${id}  ${o.to === 'trash' ? `"${o.from}" -> trash` : o.from === o.to ? `kept as "${o.from}"` : `"${o.from}" -> "${o.to}"`}`;
  if (o.outcome === 'undone') return `${id}  undone: back to ${o.to === 'trash' ? 'the trash' : `"${o.to}"`}${o.from === 'trash' ? ' (out of the trash)' : ''}`;
  return `${id}  unchanged: ${o.message}`;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      to: { type: 'string' },
      delete: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      undo: { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [name, ...ids] = positionals;
  if (!name || ids.length === 0) throw new UserError(USAGE);
  const action = actionOf(values);
  const ctx = await openCliContext();
  try {
    const user = os.userInfo().username;
    const outcomes = await labelImages(ctx, { guildId: values.guild ?? LOCAL_GUILD, name }, ids, action, { userId: `cli:${user}`, name: `${user} (command line)` });
    console.log(values.json ? JSON.stringify(outcomes) : outcomes.map(line).join('\n'));
    // Anything left unchanged makes the run fail, so scripts notice.
    return outcomes.every((o) => o.outcome === 'applied' || o.outcome === 'undone') ? 0 : 1;
  } finally {
    await ctx.close();
  }
}
