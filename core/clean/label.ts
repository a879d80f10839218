// Deciding on images by id, outside Discord (`kodiak label`): the same DecisionLog as the
// cleaner's buttons and reactions, so a decision is claimed once, compare-and-set on the label,
// written to the same audit log and undone the same way. Decisions belong to the dataset's latest
// cleaning report when there is one (an image the report lists is decided as that suspect, with
// the label the report showed); without a report they belong to a manual round.
import type { Services } from '../services.js';
import { UserError } from '../errors.js';
import { findClass } from '../store/classNames.js';
import type { DatasetItem, DatasetRef } from '../store/types.js';
import type { Decider, Decision, DecisionAction } from './decisions.js';
import type { CleanReport } from './types.js';

export type LabelAction = DecisionAction | { type: 'undo' };

/** The report id of decisions made while no cleaning report exists. */
export const MANUAL_REPORT = 'manual';

/** How many audit entries undo looks back through for an image's latest decision. */
const UNDO_LOOKBACK = 10_000;

export interface LabelOutcome {
  id: string;
  outcome: 'applied' | 'undone' | 'already-decided' | 'stale' | 'nothing';
  /** The label before and after (after an undo: the label it went back to); "trash" for a delete. */
  from?: string;
  to?: string;
  /** Why nothing changed, for anything but applied and undone. */
  message?: string;
  decisionId?: string;
}

/**
 * The images the ids name: a whole id or a prefix of one that no other image shares. Every id
 * that names nothing or more than one image is reported at once.
 */
export function resolveImageIds<T extends Pick<DatasetItem, 'id'>>(items: T[], wanted: string[]): T[] {
  const problems: string[] = [];
  const found: T[] = [];
  for (const raw of wanted) {
    const w = raw.trim().toLowerCase();
    const matches = w ? items.filter((i) => i.id.startsWith(w)) : [];
    if (matches.length === 1) {
      if (!found.includes(matches[0]!)) found.push(matches[0]!);
    } else if (matches.length === 0) problems.push(`no image id starts with "${raw}"`);
    else problems.push(`"${raw}" is the start of ${matches.length} image ids: give more of it`);
  }
  if (problems.length) throw new UserError(problems.join('; '));
  return found;
}

/** Where a suspect shows this image, and with which label (a duplicate pair shows two). */
function inReport(report: CleanReport | undefined, id: string): { index: number; label: string } | undefined {
  if (!report) return undefined;
  for (const [index, s] of report.suspects.entries()) {
    if (s.id === id) return { index, label: s.label };
    if (s.pairWith?.id === id) return { index, label: s.pairWith.label };
  }
  return undefined;
}

function whenAndWho(d: Decision): string {
  return `${d.by.name} on ${new Date(d.at).toISOString()}`;
}

function describe(d: Decision): string {
  return d.action.type === 'keep' ? `kept as "${d.from}"` : d.action.type === 'delete' ? 'deleted' : `relabelled "${d.from}" -> "${d.to}"`;
}

async function decideOne(services: Services, ref: DatasetRef, report: CleanReport | undefined, item: DatasetItem, action: DecisionAction, by: Decider): Promise<LabelOutcome> {
  const shown = inReport(report, item.id);
  if (action.type === 'relabel' && action.to === (shown?.label ?? item.label)) {
    return { id: item.id, outcome: 'nothing', message: `it is labelled "${action.to}" already` };
  }
  const r = await services.decisions.decide({
    ref,
    reportId: report?.id ?? MANUAL_REPORT,
    ...(shown ? { suspectId: String(shown.index) } : {}),
    itemId: item.id,
    action,
    by,
    expectedLabel: shown?.label ?? item.label,
  });
  if (r.outcome === 'applied') return { id: item.id, outcome: 'applied', from: r.decision.from, to: r.decision.to, decisionId: r.decision.id };
  if (r.outcome === 'already-decided') {
    return { id: item.id, outcome: 'already-decided', message: `already ${describe(r.decision)} by ${whenAndWho(r.decision)}; --undo it first`, decisionId: r.decision.id };
  }
  return { id: item.id, outcome: 'stale', message: r.message };
}

/** The image's latest decision that is still in force, from the audit log (newest first). */
async function latestApplied(services: Services, ref: DatasetRef, itemId: string): Promise<Decision | undefined> {
  const entries = (await services.decisions.auditLog(ref, UNDO_LOOKBACK)).filter((e) => e.itemId === itemId && e.event === 'decide');
  for (const e of entries) {
    const d = await services.decisions.getDecision(e.decisionId);
    if (d?.state === 'applied') return d;
  }
  return undefined;
}

async function undoOne(services: Services, ref: DatasetRef, item: DatasetItem, by: Decider): Promise<LabelOutcome> {
  const d = await latestApplied(services, ref, item.id);
  if (!d) return { id: item.id, outcome: 'nothing', message: 'no decision on this image to undo' };
  const r = await services.decisions.undo(d.id, by);
  if (r.outcome === 'undone') return { id: item.id, outcome: 'undone', from: d.to, to: d.from, decisionId: d.id };
  if (r.outcome === 'already-undone') return { id: item.id, outcome: 'nothing', message: 'that decision was undone already', decisionId: d.id };
  return { id: item.id, outcome: 'stale', message: r.message, decisionId: d.id };
}

/**
 * Relabels, deletes (to the trash), keeps, or undoes the latest decision on, each image; one
 * outcome per image, in the order given. Images another decision got to first, or that changed
 * since the report, are left alone and say why.
 */
export async function labelImages(services: Services, ref: DatasetRef, ids: string[], action: LabelAction, by: Decider): Promise<LabelOutcome[]> {
  const meta = await services.datasets.require(ref);
  const items = resolveImageIds(await services.datasets.items(ref, { includeTrashed: true }), ids);
  if (action.type === 'undo') {
    const out: LabelOutcome[] = [];
    for (const item of items) out.push(await undoOne(services, ref, item, by));
    return out;
  }
  let decided: DecisionAction = action;
  if (action.type === 'relabel') {
    const to = findClass(meta.classes, action.to);
    if (!to) throw new UserError(`"${action.to}" is not a class of ${ref.name} (classes: ${meta.classes.join(', ')})`);
    decided = { type: 'relabel', to };
  }
  const reportId = await services.decisions.latestReportId(ref);
  const report = reportId ? await services.decisions.loadReport(reportId) : undefined;
  const out: LabelOutcome[] = [];
  for (const item of items) out.push(await decideOne(services, ref, report, item, decided, by));
  return out;
}
