// Stored clean reports, which buttons and reactions page through and decide on, and the key
// layout the cleaner shares with decisions.ts. A custom_id names a report by id; before anything
// acts on it, reportForGuild checks that the report is about a dataset of the clicker's guild,
// and about the dataset of that name that exists now: a report is stamped with its dataset's
// creation time, so a dataset deleted and made again under the same name is another dataset.
//
//   <p>:clean:report:<reportId>     string  a CleanReport as JSON, with a TTL
//   <p>:clean:{g:n}:latest          string  the newest report id of the dataset
//   <p>:clean:{g:n}:reports         set     the dataset's report ids (for /dataset delete)
import type { Redis } from 'ioredis';
import type { DatasetRef, DatasetStore } from '../store/types.js';
import type { CleanReport } from './types.js';

/** The per-dataset keys of the cleaner (the {guild:name} hash tag keeps them in one cluster slot). */
export function cleanKeys(prefix: string, ref: DatasetRef) {
  const base = `${prefix}:clean:{${ref.guildId}:${ref.name}}`;
  return {
    base,
    decisionPrefix: `${base}:decision:`,
    decision: (id: string) => `${base}:decision:${id}`,
    decided: (reportId: string, itemId: string) => `${base}:decided:${reportId}:${itemId}`,
    kept: `${base}:kept`,
    audit: `${base}:audit`,
    latest: `${base}:latest`,
    reports: `${base}:reports`,
  };
}

export type ReportProblem = 'missing' | 'foreign' | 'stale';
export type ReportLookup = { ok: true; report: CleanReport } | { ok: false; problem: ReportProblem };

/** A report belongs to the guild of the dataset it is about. */
export function reportBelongsToGuild(report: Pick<CleanReport, 'dataset'>, guildId: string | null | undefined): boolean {
  return !!guildId && report.dataset?.guildId === guildId;
}

export class ReportStore {
  constructor(
    protected readonly redis: Redis,
    protected readonly store: DatasetStore,
    protected readonly prefix: string,
    protected readonly reportTtl: number,
  ) {}

  protected keys(ref: DatasetRef) {
    return cleanKeys(this.prefix, ref);
  }

  private reportKey(reportId: string): string {
    return `${this.prefix}:clean:report:${reportId}`;
  }

  /** Stores a report for paging ("show 10 more") across restarts; it expires after a few days. */
  async saveReport(report: CleanReport): Promise<void> {
    const tx = this.redis.multi().set(this.reportKey(report.id), JSON.stringify(report), 'EX', this.reportTtl);
    if (report.dataset) {
      const k = this.keys(report.dataset);
      tx.set(k.latest, report.id, 'EX', this.reportTtl).sadd(k.reports, report.id).expire(k.reports, this.reportTtl);
    }
    await tx.exec();
  }

  async loadReport(reportId: string): Promise<CleanReport | undefined> {
    const json = await this.redis.get(this.reportKey(reportId));
    return json ? (JSON.parse(json) as CleanReport) : undefined;
  }

  /**
   * The report a button or reaction names, for the guild the click came from only (a custom_id
   * is text a client sends, so its report id proves nothing), and only while the dataset it was
   * made for exists: not a later dataset of the same name.
   */
  async reportForGuild(reportId: string, guildId: string | null | undefined): Promise<ReportLookup> {
    const report = await this.loadReport(reportId);
    if (!report?.dataset) return { ok: false, problem: 'missing' };
    if (!reportBelongsToGuild(report, guildId)) return { ok: false, problem: 'foreign' };
    const meta = await this.store.get(report.dataset);
    if (!meta || meta.createdAt !== report.datasetCreatedAt) return { ok: false, problem: 'stale' };
    return { ok: true, report };
  }

  async latestReportId(ref: DatasetRef): Promise<string | undefined> {
    return (await this.redis.get(this.keys(ref).latest)) ?? undefined;
  }

  /** The report keys of a dataset, for forgetting it. */
  protected async reportKeysOf(ref: DatasetRef): Promise<string[]> {
    return (await this.redis.smembers(this.keys(ref).reports)).map((id) => this.reportKey(id));
  }
}
