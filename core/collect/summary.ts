// What /dataset show reports: images per class and split, what was refused and why, where the
// images came from and under which licences.
import type { DatasetRef } from '../jobs.js';
import type { Services } from '../services.js';
import type { DatasetMeta } from '../store/types.js';
import { describeReason } from './reasons.js';

export interface DatasetSummary {
  meta: DatasetMeta;
  perClass: Record<string, { train: number; valid: number; trashed: number }>;
  total: { train: number; valid: number; trashed: number };
  /** Refusals, most frequent first, with the user-facing text. */
  rejected: { reason: string; text: string; count: number }[];
  /** Active images per source: a provider name for search, else the source kind. */
  sources: Record<string, number>;
  /** Active images per licence ('unknown' when the source did not say). */
  licenses: Record<string, number>;
}

export async function summariseDataset(services: Services, ref: DatasetRef): Promise<DatasetSummary> {
  const meta = await services.datasets.require(ref);
  const items = await services.datasets.items(ref, { includeTrashed: true });
  const perClass: DatasetSummary['perClass'] = Object.fromEntries(meta.classes.map((c) => [c, { train: 0, valid: 0, trashed: 0 }]));
  const total = { train: 0, valid: 0, trashed: 0 };
  const sources: Record<string, number> = {};
  const licenses: Record<string, number> = {};
  for (const item of items) {
    const row = (perClass[item.label] ??= { train: 0, valid: 0, trashed: 0 });
    const key = item.status === 'trashed' ? 'trashed' : item.split;
    row[key]++;
    total[key]++;
    if (item.status === 'trashed') continue;
    const source = item.source.provider ?? item.source.kind;
    sources[source] = (sources[source] ?? 0) + 1;
    const license = item.source.license ?? 'unknown';
    licenses[license] = (licenses[license] ?? 0) + 1;
  }
  const rejected = Object.entries(meta.rejected)
    .filter(([, n]) => n > 0)
    .map(([reason, count]) => ({ reason, text: describeReason(reason), count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return { meta, perClass, total, rejected, sources, licenses };
}
