// What people decide about suspects (keep, relabel, delete), applied to a DatasetStore exactly
// once, logged, undoable and remembered; and the stored clean reports the buttons page through.
//
// Keys (the dataset's {guild:name} hash tag keeps one dataset's keys in one cluster slot):
//   <p>:clean:{g:n}:decided:<reportId>:<itemId>  string  decision id (one decision per item per report)
//   <p>:clean:{g:n}:decision:<id>                hash    data (JSON), state, claimedAt, undo, undoAt
//   <p>:clean:{g:n}:kept                         hash    item id -> the label it was kept with
//   <p>:clean:{g:n}:audit                        stream  decide/undo events: who, when, from -> to
//   <p>:clean:decref:<id>                        string  the dataset of a decision (for undo by id)
//   (reports: see reportStore.ts)
//
// Applying is claim -> store CAS -> finish. The claim (a Lua SET-if-absent on the decided flag)
// makes concurrent clicks race inside Redis: one wins, the others are told who decided. The
// store's compare-and-set then changes the label or status only if it is still what the message
// showed. A claim whose process died before finishing is taken over after CLAIM_STALE_MS, and
// re-applying is harmless because an item already in the wanted state counts as applied.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import { runScript } from '../store/lua.js';
import type { DatasetItem, DatasetRef, DatasetStore } from '../store/types.js';
import { ABORT_DECIDE, ABORT_UNDO, CLAIM, CLAIM_UNDO, FINISH_DECIDE, FINISH_UNDO } from './decisionScripts.js';
import { ReportStore } from './reportStore.js';

export { reportBelongsToGuild, type ReportLookup } from './reportStore.js';

export type DecisionAction = { type: 'keep' } | { type: 'relabel'; to: string } | { type: 'delete' };

export interface Decider {
  userId: string;
  name: string;
}

export interface Decision {
  id: string;
  dataset: DatasetRef;
  reportId: string;
  suspectId?: string;
  itemId: string;
  action: DecisionAction;
  /** The label the image had (and the message showed). */
  from: string;
  /** The label afterwards; "trash" for a delete. */
  to: string;
  by: Decider;
  /** When it was decided (ms since epoch). */
  at: number;
  state: 'pending' | 'applied' | 'undoing' | 'undone';
  undo?: { by: Decider; at: number };
}

export interface DecideInput {
  ref: DatasetRef;
  reportId: string;
  suspectId?: string;
  itemId: string;
  action: DecisionAction;
  by: Decider;
  /** The label shown on the suspect's message; nothing changes if the image has another one now. */
  expectedLabel: string;
}

export type DecideResult =
  | { outcome: 'applied'; decision: Decision }
  | { outcome: 'already-decided'; decision: Decision }
  | { outcome: 'stale'; item: DatasetItem; message: string };

export type UndoResult =
  | { outcome: 'undone'; decision: Decision }
  | { outcome: 'already-undone'; decision: Decision }
  | { outcome: 'stale'; decision: Decision; item: DatasetItem; message: string };

export interface AuditEntry {
  streamId: string;
  event: 'decide' | 'undo';
  decisionId: string;
  itemId: string;
  action: DecisionAction['type'];
  from: string;
  to: string;
  userId: string;
  userName: string;
  at: number;
  reportId: string;
}

export interface DecisionLogOptions {
  /** How long decisions and decided flags live (default 30 days). */
  decisionTtlSeconds?: number;
  /** How long stored reports live (default 3 days). */
  reportTtlSeconds?: number;
  /** Audit entries kept per dataset (approximate, default 10,000). */
  auditMaxLength?: number;
}

/** A claim older than this is taken to belong to a process that died mid-way. */
export const CLAIM_STALE_MS = 30_000;
const TRASH = 'trash';

/** Decisions on top of the stored reports (reportStore.ts): one object, as the bot and workers use it. */
export class DecisionLog extends ReportStore {
  private readonly decisionTtl: number;
  private readonly auditMax: number;

  constructor(redis: Redis, store: DatasetStore, prefix: string, opts: DecisionLogOptions = {}) {
    super(redis, store, prefix, opts.reportTtlSeconds ?? 3 * 24 * 3600);
    this.decisionTtl = opts.decisionTtlSeconds ?? 30 * 24 * 3600;
    this.auditMax = opts.auditMaxLength ?? 10_000;
  }

  private refKey(decisionId: string): string {
    return `${this.prefix}:clean:decref:${decisionId}`;
  }

  /**
   * Applies a decision once. A second click (or reaction) on an item already decided in this
   * report returns the first decision, with who made it and when; an image whose label or
   * status changed since the message was posted is left alone ('stale').
   */
  async decide(input: DecideInput): Promise<DecideResult> {
    const { ref, itemId, action, expectedLabel } = input;
    if (action.type === 'relabel' && action.to === expectedLabel) {
      throw new UserError(`it is already labelled "${expectedLabel}"; use Keep to keep it`);
    }
    const k = this.keys(ref);
    const decision: Decision = {
      id: randomUUID(),
      dataset: { guildId: ref.guildId, name: ref.name },
      reportId: input.reportId,
      ...(input.suspectId ? { suspectId: input.suspectId } : {}),
      itemId,
      action,
      from: expectedLabel,
      to: action.type === 'relabel' ? action.to : action.type === 'delete' ? TRASH : expectedLabel,
      by: { userId: input.by.userId, name: input.by.name },
      at: Date.now(),
      state: 'pending',
    };
    const { state: _state, ...data } = decision;
    await this.redis.set(this.refKey(decision.id), JSON.stringify(decision.dataset), 'EX', this.decisionTtl);
    const claim = (await runScript(this.redis, CLAIM, [k.decided(input.reportId, itemId), k.decision(decision.id)], [
      decision.id,
      JSON.stringify(data),
      decision.at,
      CLAIM_STALE_MS,
      this.decisionTtl,
      k.decisionPrefix,
    ])) as string[];
    if (claim[0] === 'decided') {
      await this.redis.del(this.refKey(decision.id));
      return { outcome: 'already-decided', decision: parseDecision(claim[1]!, claim[2]!, claim[3]!) };
    }

    let stale: string | undefined;
    let item: DatasetItem | undefined;
    try {
      ({ stale, item } = await this.applyToStore(ref, decision));
    } catch (err) {
      await this.abortDecide(ref, input.reportId, itemId, decision.id);
      throw err;
    }
    if (stale) {
      await this.abortDecide(ref, input.reportId, itemId, decision.id);
      return { outcome: 'stale', item: item!, message: stale };
    }
    // A delete leaves the kept list alone: undo may bring the image back with its label.
    const keptMode = action.type === 'keep' ? 'remember' : action.type === 'relabel' ? 'forget' : 'leave';
    const finished = await runScript(this.redis, FINISH_DECIDE, [k.decision(decision.id), k.kept, k.audit], [
      itemId,
      keptMode,
      expectedLabel,
      this.auditMax,
      ...auditFields('decide', decision, decision.by, decision.at),
    ]);
    if (finished !== 1) throw new Error(`decision ${decision.id} was taken over while it was being applied`);
    return { outcome: 'applied', decision: { ...decision, state: 'applied' } };
  }

  private async abortDecide(ref: DatasetRef, reportId: string, itemId: string, decisionId: string): Promise<void> {
    const k = this.keys(ref);
    await runScript(this.redis, ABORT_DECIDE, [k.decided(reportId, itemId), k.decision(decisionId)], [decisionId]);
    await this.redis.del(this.refKey(decisionId));
  }

  /** Changes the store; returns a message instead when the image no longer looks as the message showed. */
  private async applyToStore(ref: DatasetRef, d: Decision): Promise<{ stale?: string; item: DatasetItem }> {
    const item = await this.store.getItem(ref, d.itemId);
    if (!item) throw new UserError(`that image is no longer in ${ref.name}`);
    const already = d.action.type === 'relabel' ? item.label === d.to : d.action.type === 'delete' ? item.status === 'trashed' : false;
    // Re-applying after a crash, or someone else made the same change: the wanted state is there.
    if (already) return { item };
    if (item.status !== 'active') return { item, stale: 'that image was deleted meanwhile; nothing changed' };
    if (item.label !== d.from) return { item, stale: `that image is now labelled "${item.label}" (changed since this was posted); nothing changed` };
    if (d.action.type === 'keep') return { item };
    const change =
      d.action.type === 'relabel'
        ? await this.store.relabel(ref, d.itemId, d.action.to, d.from)
        : await this.store.setStatus(ref, d.itemId, 'trashed', 'active');
    if (change.ok) return { item: change.item };
    return { item: change.item, stale: 'that image changed while this was being applied; nothing changed' };
  }

  /** Reverses a decision: relabels back or restores from the trash, and lets the item be decided again. */
  async undo(decisionId: string, by: Decider): Promise<UndoResult> {
    const refJson = await this.redis.get(this.refKey(decisionId));
    if (!refJson) throw new UserError('that decision is too old to undo (or never existed)');
    const ref = JSON.parse(refJson) as DatasetRef;
    const k = this.keys(ref);
    const now = Date.now();
    const undoInfo = { by: { userId: by.userId, name: by.name }, at: now };
    const claim = (await runScript(this.redis, CLAIM_UNDO, [k.decision(decisionId)], [now, CLAIM_STALE_MS, JSON.stringify(undoInfo)])) as string[];
    if (claim[0] === 'missing') throw new UserError('that decision is too old to undo (or never existed)');
    if (claim[0] === 'state') {
      const decision = parseDecision(claim[2]!, claim[1]!, claim[3]!);
      if (decision.state === 'undone') return { outcome: 'already-undone', decision };
      throw new UserError('that decision is still being applied or undone; try again in a moment');
    }
    const decision: Decision = { ...parseDecision(claim[1]!, 'undoing', ''), undo: undoInfo };
    let result: { stale?: string; item: DatasetItem };
    try {
      result = await this.reverseInStore(ref, decision);
    } catch (err) {
      await runScript(this.redis, ABORT_UNDO, [k.decision(decisionId)], []);
      throw err;
    }
    if (result.stale) {
      await runScript(this.redis, ABORT_UNDO, [k.decision(decisionId)], []);
      return { outcome: 'stale', decision: { ...decision, state: 'applied', undo: undefined }, item: result.item, message: result.stale };
    }
    const forgetKept = decision.action.type === 'keep' ? decision.from : '';
    await runScript(this.redis, FINISH_UNDO, [k.decision(decisionId), k.decided(decision.reportId, decision.itemId), k.kept, k.audit], [
      decisionId,
      decision.itemId,
      forgetKept,
      this.auditMax,
      ...auditFields('undo', decision, undoInfo.by, now),
    ]);
    return { outcome: 'undone', decision: { ...decision, state: 'undone' } };
  }

  private async reverseInStore(ref: DatasetRef, d: Decision): Promise<{ stale?: string; item: DatasetItem }> {
    const item = await this.store.getItem(ref, d.itemId);
    if (!item) throw new UserError(`that image is no longer in ${ref.name}`);
    if (d.action.type === 'keep') return { item };
    if (d.action.type === 'relabel') {
      if (item.label === d.from) return { item };
      const change = await this.store.relabel(ref, d.itemId, d.from, d.to);
      if (change.ok) return { item: change.item };
      return { item: change.item, stale: `cannot undo: it has been relabelled "${change.item.label}" since` };
    }
    if (item.status === 'active') return { item };
    const change = await this.store.setStatus(ref, d.itemId, 'active', 'trashed');
    return change.ok ? { item: change.item } : { item: change.item, stale: 'cannot undo: the image changed since' };
  }

  async getDecision(decisionId: string): Promise<Decision | undefined> {
    const refJson = await this.redis.get(this.refKey(decisionId));
    if (!refJson) return undefined;
    const h = await this.redis.hgetall(this.keys(JSON.parse(refJson) as DatasetRef).decision(decisionId));
    return h.data ? parseDecision(h.data, h.state ?? 'pending', h.undo ?? '') : undefined;
  }

  /** The decision on an item in a report, if any (undone decisions no longer count). */
  async decisionFor(ref: DatasetRef, reportId: string, itemId: string): Promise<Decision | undefined> {
    const id = await this.redis.get(this.keys(ref).decided(reportId, itemId));
    return id ? this.getDecision(id) : undefined;
  }

  /** Items a user kept, with the label they were kept at (the "remember kept" rule). */
  async keptLabels(ref: DatasetRef): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys(ref).kept)));
  }

  /** The newest audit entries first. */
  async auditLog(ref: DatasetRef, count = 100): Promise<AuditEntry[]> {
    const entries = await this.redis.xrevrange(this.keys(ref).audit, '+', '-', 'COUNT', count);
    return entries.map(([streamId, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      return {
        streamId,
        event: f.event as AuditEntry['event'],
        decisionId: f.decisionId!,
        itemId: f.itemId!,
        action: f.action as AuditEntry['action'],
        from: f.from!,
        to: f.to!,
        userId: f.userId!,
        userName: f.userName!,
        at: Number(f.at),
        reportId: f.reportId!,
      };
    });
  }

  /**
   * Forgets everything the cleaner knows about a dataset (decisions, kept marks, audit, reports),
   * for /dataset delete: a dataset made again under the same name starts clean.
   */
  async forgetDataset(ref: DatasetRef): Promise<void> {
    const k = this.keys(ref);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${k.base}:*`, 'COUNT', 500);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    const decisionIds = keys.filter((key) => key.startsWith(k.decisionPrefix)).map((key) => key.slice(k.decisionPrefix.length));
    const doomed = [...keys, ...decisionIds.map((id) => this.refKey(id)), ...(await this.reportKeysOf(ref))];
    for (let i = 0; i < doomed.length; i += 500) await this.redis.del(...doomed.slice(i, i + 500));
  }
}

function parseDecision(data: string, state: string, undo: string): Decision {
  return { ...(JSON.parse(data) as Omit<Decision, 'state'>), state: state as Decision['state'], ...(undo ? { undo: JSON.parse(undo) } : {}) };
}

/** Field/value pairs of an audit stream entry. */
function auditFields(event: 'decide' | 'undo', d: Decision, by: Decider, at: number): string[] {
  // An undo moves the label back: from the decision's result to what it was.
  const [from, to] = event === 'decide' ? [d.from, d.to] : [d.to, d.from];
  return ['event', event, 'decisionId', d.id, 'itemId', d.itemId, 'action', d.action.type, 'from', from, 'to', to,
    'userId', by.userId, 'userName', by.name, 'at', String(at), 'reportId', d.reportId];
}
