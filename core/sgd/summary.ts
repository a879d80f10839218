// The words that go with the pictures: the same text for the Discord embed and the command line.
import { formatNumber } from '../render/svg.js';
import type { SgdRun } from './run.js';

/** One line on each term the lesson introduces, tied to what this run did. */
export function vocabulary(run: SgdRun): Array<{ term: string; line: string }> {
  const { history, data, options } = run;
  const n = data.x.length;
  const steps = history.loss.length - 1;
  const epochs = history.epochs[history.epochs.length - 1] ?? 0;
  const fullBatch = history.batchSize >= n;
  return [
    { term: 'parameters', line: `the numbers the model learns: here a = (slope, intercept) of the line y = a₀·x + a₁, started at (-1, 1).` },
    { term: 'loss', line: `how wrong the model is: the mean squared error between the line and the ${n} points; descent pushes it down.` },
    { term: 'learning rate', line: `how far each step moves the parameters along minus the gradient (here ${formatNumber(options.lr)}); too high overshoots, too low crawls.` },
    { term: 'epoch', line: `one pass over all the data; this run made ${formatNumber(epochs, 3)} epoch${epochs === 1 ? '' : 's'} in ${steps} step${steps === 1 ? '' : 's'}.` },
    {
      term: 'mini-batch',
      line: fullBatch
        ? `a random subset of the points used for one step; this run used the full batch (all ${n}), try batch:10.`
        : `a random subset of the points used for one step; here ${history.batchSize} of ${n}, reshuffled every epoch.`,
    },
    { term: 'SGD', line: `stochastic gradient descent: gradient descent on mini-batches, cheaper steps that are a little noisy.` },
  ];
}

export function verdictTitle(run: SgdRun): string {
  switch (run.verdict.kind) {
    case 'converged':
      return 'Converged';
    case 'diverged':
      return 'Diverged: learning rate too high';
    case 'not-converged':
      return 'Not converged yet';
  }
}

/** The facts of the run: losses and parameters against the true ones. */
export function runFacts(run: SgdRun): string[] {
  const { history, verdict, data } = run;
  const final = history.params[history.params.length - 1] ?? [NaN, NaN];
  const steps = history.loss.length - 1;
  const stepsNote = history.overflowed ? ` (stopped at step ${steps} of ${history.stepsRequested}: the numbers overflowed)` : '';
  return [
    `Start loss ${formatNumber(verdict.startLoss)} → final loss ${formatNumber(verdict.finalLoss)} after ${steps} steps${stepsNote}; best possible ${formatNumber(verdict.bestLoss)}, noise variance ${formatNumber(verdict.noiseVariance)}.`,
    `Final parameters a = (${formatNumber(final[0])}, ${formatNumber(final[1])}); true a = (${data.trueParams[0]}, ${data.trueParams[1]}).`,
  ];
}

/** Markdown for Discord (and readable as plain text), well under the 4096-character embed limit. */
export function summaryMarkdown(run: SgdRun): string {
  const lines = [
    run.verdict.explanation,
    '',
    ...runFacts(run),
    '',
    ...vocabulary(run).map(({ term, line }) => `**${term}**: ${line}`),
  ];
  return lines.join('\n');
}

/** What `kodiak sgd --json` prints. */
export function summaryJson(run: SgdRun): Record<string, unknown> {
  const final = run.history.params[run.history.params.length - 1];
  return {
    options: run.options,
    verdict: run.verdict.kind,
    explanation: run.verdict.explanation,
    startLoss: run.verdict.startLoss,
    finalLoss: run.verdict.finalLoss,
    bestLoss: run.verdict.bestLoss,
    noiseVariance: run.verdict.noiseVariance,
    divergedAtStep: run.verdict.divergedAtStep ?? null,
    finalParams: final,
    trueParams: run.data.trueParams,
    stepsRun: run.history.loss.length - 1,
    epochs: run.history.epochs[run.history.epochs.length - 1],
    batchSize: run.history.batchSize,
  };
}
