// `kodiak train <dataset> [--epochs N] [--lr X] [--backbone ID] [--seed N] [--guild G] [--json]`:
// trains in this process through the same core code as the train worker (no queue, no bot) and
// saves the next model version. Progress goes to stderr, so stdout holds only the result.
import { beforeAfter } from '../core/ml/previous.js';
import { parseCli } from './args.js';
import { UserError } from '../core/errors.js';
import type { TrainProgress } from '../core/jobs.js';
import { trainDataset, trainReport } from '../core/ml/trainDataset.js';
import { LOCAL_GUILD, openCliContext } from './context.js';


const USAGE = `usage: kodiak train <dataset> [--epochs N] [--lr X] [--backbone ID] [--seed N] [--guild G] [--json]
  --epochs    head training epochs (default 20)
  --lr        peak learning rate of the one-cycle schedule (default 0.003)
  --backbone  backbone id (default: the BACKBONE setting, mobilenet_v2_035)
  --seed      seed for the head's initialisation and batches (default: the dataset's)
  --guild     the guild the dataset belongs to (default: ${LOCAL_GUILD})
  --json      print one JSON object: accuracy, errorRate, perClass, confusion, backbone, modelVersion, ...`;

function parse(argv: string[]) {
  return parseCli(
    argv,
    {
      epochs: { type: 'string' },
      lr: { type: 'string' },
      backbone: { type: 'string' },
      seed: { type: 'string' },
    },
    USAGE,
  );
}

/** A whole number in [min, max] from an option, or undefined when the option is absent. */
export function intOption(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new UserError(`--${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
  return value;
}

function lrOption(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !(value > 0 && value <= 10)) throw new UserError(`--lr must be a number in (0, 10] (got '${raw}')`);
  return value;
}

/** Progress lines for stderr: every stage change, each epoch, and embedding in ~10% steps. */
export function progressPrinter(write: (line: string) => void): (p: TrainProgress) => void {
  let lastStage = '';
  let lastShown = -1;
  return (p) => {
    const step = p.stage === 'embedding' ? Math.max(1, Math.ceil(p.total / 10)) : 1;
    const changed = p.stage !== lastStage;
    if (!changed && p.done < p.total && p.done - lastShown < step) return;
    if (!changed && p.done === lastShown) return;
    lastStage = p.stage;
    lastShown = p.done;
    const count = p.total > 0 ? ` ${p.done}/${p.total}` : '';
    write(`${p.stage}${count}${p.detail ? `: ${p.detail}` : ''}`);
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [name] = positionals;
  if (!name || positionals.length > 1) throw new UserError(USAGE);
  const options = {
    epochs: intOption('epochs', values.epochs, 1, 500),
    lr: lrOption(values.lr),
    seed: intOption('seed', values.seed, 0, 2 ** 31 - 1),
    backbone: values.backbone,
    createdBy: 'cli',
  };
  const ref = { guildId: values.guild ?? LOCAL_GUILD, name };
  const ctx = await openCliContext();
  // Ctrl-C stops the training cleanly (no half-written model version) instead of killing it.
  const abort = new AbortController();
  const onSigint = () => abort.abort('interrupted');
  process.once('SIGINT', onSigint);
  try {
    const trained = await trainDataset(ctx, ref, options, progressPrinter((line) => process.stderr.write(`${line}\n`)), abort.signal);
    const report = trainReport(ref, trained);
    if (values.json) {
      console.log(JSON.stringify(report));
      return 0;
    }
    const lines = [
      `${name} v${report.modelVersion}: error rate ${pct(report.errorRate)} (accuracy ${pct(report.accuracy)}) on ${report.nValid} validation images, ${report.nTrain} for training, ${report.seconds.toFixed(1)} s`,
      `backbone ${report.backbone} on ${report.backend}`,
      ...(report.backboneNote ? [`note: ${report.backboneNote}`] : []),
      ...(report.previous ? [beforeAfter(report.previous, report)] : report.previousNote ? [`note: ${report.previousNote}`] : []),
      ...report.classes.map((c) => {
        const m = report.perClass[c];
        return m ? `  ${c}: precision ${pct(m.precision)}, recall ${pct(m.recall)}, n ${m.n}` : `  ${c}: no validation images`;
      }),
      `confusion (rows: actual, columns: predicted): ${JSON.stringify(report.confusion)}`,
      `model saved in ${ctx.models.versionDir(ref, report.modelVersion)}`,
    ];
    console.log(lines.join('\n'));
    return 0;
  } catch (err) {
    if (abort.signal.aborted) throw new UserError(`training of ${name} was interrupted; no model version was saved`);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    await ctx.close();
  }
}
