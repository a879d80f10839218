// Export a dataset as class folders plus labels.csv and attribution.csv, as a zip (for
// /dataset export) or into a folder (for `kodiak dataset export`). Trashed images are left out.
import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { zipSync, type Zippable } from 'fflate';
import type { Services } from '../services.js';
import type { DatasetItem, DatasetRef } from '../store/types.js';

export interface ExportFile {
  path: string;
  item: DatasetItem;
}

/** A class name as a folder name that every file system accepts. */
export function folderName(label: string): string {
  return label.replace(/[<>:"/\\|?*\u0000-\u001f]/g, '_').replace(/[. ]+$/, '_') || '_';
}

export async function exportLayout(services: Services, ref: DatasetRef): Promise<{ files: ExportFile[]; labelsCsv: string; attributionCsv: string }> {
  await services.datasets.require(ref);
  const items = await services.datasets.items(ref);
  const files = items.map((item) => ({ path: `${folderName(item.label)}/${item.id.slice(0, 16)}.jpg`, item }));
  const labelsCsv = stringify(
    files.map((f) => [f.path, f.item.label, f.item.split, f.item.id]),
    { header: true, columns: ['path', 'label', 'split', 'sha256'] },
  );
  const attributionCsv = stringify(
    files.map(({ path: p, item: { source: s } }) => [p, s.kind, s.url ?? s.path ?? '', s.pageUrl ?? '', s.provider ?? '', s.title ?? '', s.creator ?? '', s.license ?? '']),
    { header: true, columns: ['path', 'source', 'url', 'page_url', 'provider', 'title', 'creator', 'license'] },
  );
  return { files, labelsCsv, attributionCsv };
}

/** The dataset as a zip (JPEGs stored, not recompressed). */
export async function exportDataset(services: Services, ref: DatasetRef): Promise<Uint8Array> {
  const { files, labelsCsv, attributionCsv } = await exportLayout(services, ref);
  const zippable: Zippable = {
    'labels.csv': new TextEncoder().encode(labelsCsv),
    'attribution.csv': new TextEncoder().encode(attributionCsv),
  };
  for (const f of files) zippable[f.path] = [await services.blobs.get(f.item.id), { level: 0 }];
  return zipSync(zippable, { level: 6 });
}

/** The dataset written into `folder` (created if needed); returns how many images. */
export async function exportToFolder(services: Services, ref: DatasetRef, folder: string): Promise<number> {
  const { files, labelsCsv, attributionCsv } = await exportLayout(services, ref);
  await fs.mkdir(folder, { recursive: true });
  for (const dir of new Set(files.map((f) => path.dirname(f.path)))) await fs.mkdir(path.join(folder, dir), { recursive: true });
  for (const f of files) await fs.copyFile(services.blobs.path(f.item.id), path.join(folder, f.path));
  await fs.writeFile(path.join(folder, 'labels.csv'), labelsCsv);
  await fs.writeFile(path.join(folder, 'attribution.csv'), attributionCsv);
  return files.length;
}
