// The collection report per search provider: how many results it gave, how many of its images
// were kept, which were refused and why, and whether it throttled or refused us. Built while a
// class is collected; shown by the bot (collection summary, /train report), /dataset show and
// `kodiak dataset collect`.
import type { CollectResult, ProviderReport } from '../jobs.js';
import type { Redis } from '../redis.js';
import type { DatasetMeta } from '../store/types.js';
import type { CandidateOutcome } from './pipeline.js';
import { describeReason } from './reasons.js';
import type { SearchOutcome } from './search/index.js';

export class ProviderTally {
  readonly sources: Record<string, ProviderReport> = {};

  private row(id: string): ProviderReport {
    return (this.sources[id] ??= { results: 0, kept: 0, refused: {} });
  }

  /** Providers left out because they would refuse this configuration (e.g. no HTTP_CONTACT). */
  skipped(reasons: Partial<Record<string, string>>): void {
    for (const [id, why] of Object.entries(reasons)) if (why) this.row(id).refusedByProvider = why;
  }

  searched(found: SearchOutcome): void {
    for (const [id, n] of Object.entries(found.produced)) this.row(id).results += n ?? 0;
    for (const [id, message] of Object.entries(found.errors)) {
      if (!message) continue;
      const row = this.row(id);
      if (found.throttled[id as keyof typeof found.throttled]) row.throttled = message;
      else if (found.refused[id as keyof typeof found.refused]) row.refusedByProvider = message;
      else row.failed = message;
    }
  }

  settled(provider: string | undefined, outcome: CandidateOutcome): void {
    if (!provider || outcome.kind === 'skipped') return;
    const row = this.row(provider);
    if (outcome.kind === 'kept') row.kept++;
    else {
      const reason = outcome.kind === 'duplicate' ? 'duplicate' : outcome.reason;
      row.refused[reason] = (row.refused[reason] ?? 0) + 1;
    }
  }
}

/** Every class's rows added up, per provider (the latest message of each kind wins). */
export function mergeSources(results: Pick<CollectResult, 'sources'>[]): Record<string, ProviderReport> {
  const out: Record<string, ProviderReport> = {};
  for (const r of results) {
    for (const [id, row] of Object.entries(r.sources ?? {})) {
      const into = (out[id] ??= { results: 0, kept: 0, refused: {} });
      into.results += row.results;
      into.kept += row.kept;
      for (const [reason, n] of Object.entries(row.refused)) into.refused[reason] = (into.refused[reason] ?? 0) + n;
      for (const k of ['throttled', 'refusedByProvider', 'failed'] as const) if (row[k]) into[k] = row[k];
    }
  }
  return out;
}

// The latest report of each class, for /dataset show; keyed by createdAt so a dataset made again
// under the same name starts empty. Kept 90 days after the last collection.
const reportKey = (prefix: string, meta: Pick<DatasetMeta, 'guildId' | 'name' | 'createdAt'>) => `${prefix}:collect-report:${meta.guildId}:${meta.name}:${meta.createdAt}`;

export async function saveCollectReport(redis: Redis, prefix: string, meta: Pick<DatasetMeta, 'guildId' | 'name' | 'createdAt'>, label: string, sources: Record<string, ProviderReport>): Promise<void> {
  const key = reportKey(prefix, meta);
  await redis.multi().hset(key, label, JSON.stringify(sources)).expire(key, 90 * 86_400).exec();
}

/** Every class's latest report, added up per provider. */
export async function loadCollectReport(redis: Redis, prefix: string, meta: Pick<DatasetMeta, 'guildId' | 'name' | 'createdAt'>): Promise<Record<string, ProviderReport>> {
  const rows = Object.values(await redis.hgetall(reportKey(prefix, meta)));
  return mergeSources(rows.map((r) => ({ sources: JSON.parse(r) as Record<string, ProviderReport> })));
}

const reasonText = (code: string) => (code === 'duplicate' ? 'duplicates' : describeReason(code));

/** One plain-text line per provider, most kept first (callers escape for Discord). */
export function providerLines(sources: Record<string, ProviderReport>): string[] {
  return Object.entries(sources)
    .sort((a, b) => b[1].kept - a[1].kept || b[1].results - a[1].results || a[0].localeCompare(b[0]))
    .map(([id, r]) => {
      const refused = Object.entries(r.refused).sort((a, b) => b[1] - a[1]);
      const n = refused.reduce((s, [, k]) => s + k, 0);
      let line = `${id}: ${r.results} results, ${r.kept} kept`;
      if (n) line += `, ${n} not kept (${refused.map(([code, k]) => `${k} ${reasonText(code)}`).join(', ')})`;
      if (r.throttled) line += `; throttled: ${r.throttled}`;
      if (r.refusedByProvider) line += `; refused: ${r.refusedByProvider}`;
      if (r.failed) line += `; failed: ${r.failed}`;
      return line;
    });
}
