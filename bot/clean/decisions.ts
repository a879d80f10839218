// What a click or a reaction on a suspect does, independent of how it arrived: who may decide,
// the suspect's decisions (one per image per report, through core DecisionLog), undo, and the
// Redis map from a posted message to its (report, suspect) for reactions.
import { PermissionFlagsBits, type PermissionsBitField } from 'discord.js';
import type { Decider, Decision, DecisionAction, ReportLookup } from '../../core/clean/decisions.js';
import type { StoredCleanReport } from '../../core/clean/runClean.js';
import type { Suspect } from '../../core/clean/types.js';
import { UserError } from '../../core/errors.js';
import type { BotContext } from '../types.js';

type Ctx = Pick<BotContext, 'decisions' | 'redis' | 'config'>;

/** What a user can ask for on one suspect message. */
export type SuspectAction =
  | { type: 'keep' }
  | { type: 'delete' }
  | { type: 'relabel'; to: string }
  | { type: 'delete-left' }
  | { type: 'delete-right' }
  | { type: 'keep-both' };

export type SuspectDecideResult =
  | { outcome: 'applied'; decisions: Decision[] }
  | { outcome: 'already-decided'; decision: Decision }
  | { outcome: 'stale'; message: string };

export type SuspectUndoResult = { outcome: 'undone' } | { outcome: 'nothing'; message: string } | { outcome: 'stale'; message: string };

/** The images a suspect message is about: one, or a duplicate pair. */
function imagesOf(s: Suspect): { id: string; label: string }[] {
  return s.pairWith ? [{ id: s.id, label: s.label }, { id: s.pairWith.id, label: s.pairWith.label }] : [{ id: s.id, label: s.label }];
}

/** Which image gets which core decision ("Keep both" is a keep on each image). */
function plan(s: Suspect, action: SuspectAction): { id: string; label: string; action: DecisionAction }[] {
  const [left, right] = imagesOf(s);
  switch (action.type) {
    case 'keep':
      return [{ ...left!, action: { type: 'keep' } }];
    case 'delete':
      return [{ ...left!, action: { type: 'delete' } }];
    case 'relabel':
      return [{ ...left!, action: { type: 'relabel', to: action.to } }];
    case 'delete-left':
      return [{ ...left!, action: { type: 'delete' } }];
    case 'delete-right':
      if (!right) throw new UserError('this suspect is not a pair');
      return [{ ...right, action: { type: 'delete' } }];
    case 'keep-both':
      return imagesOf(s).map((img) => ({ ...img, action: { type: 'keep' } as const }));
  }
}

const REPORT_PROBLEMS: Record<Exclude<ReportLookup, { ok: true }>['problem'], string> = {
  missing: 'this cleaning report has expired: run /clean again for a fresh one',
  foreign: 'this cleaning report belongs to another server: nothing changed',
  stale: 'this cleaning report is about a dataset that has been deleted since: nothing changed',
};

/** The report a click or reaction in `guildId` names; a UserError when it is gone or another guild's. */
export async function requireReport(ctx: Ctx, reportId: string, guildId: string | null): Promise<StoredCleanReport> {
  const found = await ctx.decisions.reportForGuild(reportId, guildId);
  if (!found.ok) throw new UserError(REPORT_PROBLEMS[found.problem]);
  return found.report as StoredCleanReport;
}

export function requireSuspect(report: StoredCleanReport, index: number): Suspect {
  const s = Number.isInteger(index) ? report.suspects[index] : undefined;
  if (!s) throw new UserError('that suspect is not in this report any more');
  return s;
}

/** The live decisions on a suspect's images in this report (undone ones no longer count). */
export async function currentDecisions(ctx: Ctx, report: StoredCleanReport, index: number): Promise<Decision[]> {
  const s = requireSuspect(report, index);
  const found = await Promise.all(imagesOf(s).map((img) => ctx.decisions.decisionFor(report.dataset!, report.id, img.id)));
  return found.filter((d): d is Decision => !!d && d.state !== 'undone');
}

/**
 * Applies an action. A suspect whose images were already decided in this report (through this
 * message or another one showing the same image) answers with that first decision.
 */
export async function decideSuspect(ctx: Ctx, report: StoredCleanReport, index: number, action: SuspectAction, by: Decider): Promise<SuspectDecideResult> {
  const s = requireSuspect(report, index);
  const existing = await currentDecisions(ctx, report, index);
  if (existing.length) return { outcome: 'already-decided', decision: existing[0]! };
  const applied: Decision[] = [];
  for (const step of plan(s, action)) {
    const r = await ctx.decisions.decide({
      ref: report.dataset!,
      reportId: report.id,
      suspectId: String(index),
      itemId: step.id,
      action: step.action,
      by,
      expectedLabel: step.label,
    });
    if (r.outcome === 'already-decided') return applied.length ? { outcome: 'applied', decisions: applied } : { outcome: 'already-decided', decision: r.decision };
    if (r.outcome === 'stale') return applied.length ? { outcome: 'applied', decisions: applied } : { outcome: 'stale', message: r.message };
    applied.push(r.decision);
  }
  return { outcome: 'applied', decisions: applied };
}

/** Reverses every live decision on the suspect's images, so the message can offer its buttons again. */
export async function undoSuspect(ctx: Ctx, report: StoredCleanReport, index: number, by: Decider): Promise<SuspectUndoResult> {
  const live = (await currentDecisions(ctx, report, index)).filter((d) => d.state === 'applied');
  if (live.length === 0) return { outcome: 'nothing', message: 'there is nothing to undo here: it was undone already' };
  for (const d of live) {
    const r = await ctx.decisions.undo(d.id, by);
    if (r.outcome === 'stale') return { outcome: 'stale', message: r.message };
  }
  return { outcome: 'undone' };
}

/**
 * Deciding needs Manage Messages (in the channel) or the role CLEANER_ROLE names, by id or by
 * name (case-insensitive).
 */
export function mayDecide(permissions: Readonly<PermissionsBitField> | null | undefined, roles: { id: string; name?: string }[], cleanerRole: string | undefined): boolean {
  if (permissions?.has(PermissionFlagsBits.ManageMessages)) return true;
  const wanted = cleanerRole?.trim().toLowerCase();
  if (!wanted) return false;
  return roles.some((r) => r.id === wanted || r.name?.toLowerCase() === wanted);
}

export function notAllowedText(cleanerRole: string | undefined): string {
  return `You are not allowed to decide on cleaning suggestions: it needs the Manage Messages permission${cleanerRole ? ` or the **${cleanerRole}** role` : ''}. Nothing changed.`;
}

// --- message id -> (report, suspect), for reactions --------------------------------------
const MESSAGE_TTL_SECONDS = 30 * 24 * 3600;
const messageKey = (ctx: Ctx, messageId: string) => `${ctx.config.QUEUE_PREFIX}:clean:msg:${messageId}`;

export async function rememberMessage(ctx: Ctx, messageId: string, reportId: string, index: number): Promise<void> {
  await ctx.redis.set(messageKey(ctx, messageId), `${reportId}:${index}`, 'EX', MESSAGE_TTL_SECONDS);
}

export async function suspectOfMessage(ctx: Ctx, messageId: string): Promise<{ reportId: string; index: number } | undefined> {
  const value = await ctx.redis.get(messageKey(ctx, messageId));
  if (!value) return undefined;
  const [reportId, index] = value.split(':');
  return { reportId: reportId!, index: Number(index) };
}
